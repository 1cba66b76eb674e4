/** Scoring a batch job in this process, on the runtime a deployment has loaded. */
import { failedPrecondition } from '../../core/errors.js';
import type { ServingService } from '../service.js';
import type { Scorer } from './run.js';

/**
 * The version deployment `name` serves now, called directly: no HTTP, no response cache, no
 * prediction log. The job stays on that version; if the deployment moves mid-job the job stops
 * rather than mixing two models' answers in one output.
 */
export async function deploymentScorer(serving: ServingService, name: string): Promise<Scorer> {
  const { version } = await serving.target(name);
  return {
    identity: `${version.model} version ${version.version} (sha256 ${version.sha256.slice(0, 12)})`,
    signature: version.signature,
    rowMajorInput: version.predictor.rowMajorInput,
    score(batch) {
      if (version.retired) {
        throw failedPrecondition(`deployment "${name}" moved off ${version.model} version ${version.version} during the job; the chunks scored so far are kept, delete them to rescore with the new version`);
      }
      return version.predict(batch);
    },
  };
}
