/**
 * The registry's ports backed by experiment tracking: run details for lineage, and reading a
 * run's logged model folder (`runs:/RUN_ID/PATH`, `mlflow-artifacts:/...`, or MLflow 3's
 * `models:/m-<hex>`) when an MLflow client registers it with create-model-version.
 */
import type { Readable } from 'node:stream';
import { isModelportError } from '../core/errors.js';
import { TrackingService } from '../tracking/index.js';
import type { ArtifactSource, LineageRun, RunLookup } from './types.js';
import type { RegistryOptions } from './service.js';
import { LOGGED_MODEL_URI } from './names.js';

const DATASET_CONTEXT_TAG = 'mlflow.data.context';

export function trackingRunLookup(tracking: TrackingService): RunLookup {
  return {
    async getRun(runId: string): Promise<LineageRun | undefined> {
      const run = await tracking.getRun(runId).catch((err) => {
        if (isModelportError(err) && err.code === 'NotFound') return undefined;
        throw err;
      });
      if (!run) return undefined;
      return {
        runId: run.info.run_id,
        experimentId: run.info.experiment_id,
        name: run.info.run_name,
        status: run.info.status,
        tags: Object.fromEntries(run.data.tags.map((t) => [t.key, t.value])),
        datasets: run.inputs.dataset_inputs.map((d) => ({
          name: d.dataset.name,
          digest: d.dataset.digest,
          source: d.dataset.source,
          sourceType: d.dataset.source_type,
          context: d.tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value,
        })),
      };
    },
  };
}

export function trackingArtifactSource(tracking: TrackingService): ArtifactSource {
  /** The proxy-root folder an artifact URI names, or undefined when tracking does not hold it. */
  const folderOf = async (uri: string): Promise<string | undefined> => {
    // MLflow 3 registers a logged model as `models:/m-<hex>`: its files sit at its artifact location.
    const logged = LOGGED_MODEL_URI.exec(uri);
    if (logged) return TrackingService.proxyRoot(await tracking.loggedModels.artifactLocation(logged[1]));
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const run = await tracking.getRun(runs[1]);
      const root = TrackingService.proxyRoot(run.info.artifact_uri);
      return root === undefined ? undefined : [root, runs[2].replace(/\/+$/, '')].filter((p) => p !== '').join('/');
    }
    return TrackingService.proxyRoot(uri);
  };
  const walk = async (dir: string, prefix: string): Promise<{ path: string }[]> => {
    const out: { path: string }[] = [];
    for (const entry of await tracking.artifacts.list(dir)) {
      const rel = prefix ? `${prefix}/${entry.path}` : entry.path;
      if (entry.is_dir) out.push(...(await walk(dir ? `${dir}/${entry.path}` : entry.path, rel)));
      else out.push({ path: rel });
    }
    return out;
  };
  return {
    async list(uri: string) {
      const folder = await folderOf(uri);
      return folder === undefined ? undefined : walk(folder, '');
    },
    async open(uri: string, path: string): Promise<Readable> {
      const folder = await folderOf(uri);
      return (await tracking.artifacts.open(folder ? `${folder}/${path}` : path)).stream;
    },
  };
}

/** Registry options wired to a tracking service. */
export function trackingPorts(tracking: TrackingService): Pick<RegistryOptions, 'runs' | 'artifactSources'> {
  return { runs: trackingRunLookup(tracking), artifactSources: [trackingArtifactSource(tracking)] };
}
