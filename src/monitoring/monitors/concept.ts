/**
 * Concept drift online: each deployment's error stream (1/0 for a wrong/right class, the
 * absolute error for a value) feeds a streaming detector (ADWIN unless a concept_drift monitor
 * says otherwise) as feedback arrives. A detection raises a deduplicated alert. The detector's
 * state lives in the store between batches, so a restart or another replica taking the next
 * batch continues the same stream.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { Dialect } from '../../storage/metadata.js';
import { createDetector, stateFromJson, stateToJson, type DetectorSpec } from '../detectors/index.js';
import type { AcceptedFeedback } from '../feedback/feedback.js';
import { toClassified, toRegressed, type OutputSpec } from '../performance/extract.js';
import type { ConceptDriftConfig, PerformanceConfig } from './schema.js';
import type { MonitorTables } from './tables.js';

/** How a deployment's stream is read and watched. */
export interface ConceptSettings {
  detector: DetectorSpec;
  output: OutputSpec;
  monitorId?: string;
}

export interface Detection {
  deployment: string;
  detector: string;
  /** Observations the detector had seen for the deployment, this one included. */
  observations: number;
  /** Mean error over the last observations before the detection. */
  recentError: number;
  requestId: string;
  row: number;
  settings: ConceptSettings;
}

const RECENT = 100;

export function outputSpecOf(c: ConceptDriftConfig | PerformanceConfig | undefined): OutputSpec {
  return {
    predictionColumn: c?.predictionColumn,
    scoreColumn: c?.scoreColumn,
    classes: c?.classes,
    positiveLabel: c?.positiveLabel,
    negativeLabel: c?.negativeLabel,
    threshold: c?.threshold,
  };
}

export function detectorSpecOf(c: ConceptDriftConfig | undefined): DetectorSpec {
  return { kind: c?.detector ?? 'adwin', options: c?.options } as DetectorSpec;
}

/** The error of one labelled prediction, or undefined when it cannot be read. */
export function errorOf(f: AcceptedFeedback, output: OutputSpec): number | undefined {
  if (f.label !== null) {
    const r = toClassified([f], output);
    if ('error' in r || r.rows.length === 0) return undefined;
    return r.rows[0].predicted === r.rows[0].label ? 0 : 1;
  }
  const r = toRegressed([f], output);
  if ('error' in r || r.actual.length === 0) return undefined;
  return Math.abs(r.actual[0] - r.predicted[0]);
}

export class ConceptDriftTracker {
  constructor(
    private readonly db: Kysely<MonitorTables>,
    private readonly dialect: Dialect,
    private readonly clock: Clock,
  ) {}

  /** Feeds one deployment's new feedback (in prediction-time order); returns the detections. */
  observe(deployment: string, feedback: readonly AcceptedFeedback[], settings: ConceptSettings): Promise<Detection[]> {
    const key = JSON.stringify(settings.detector);
    return this.db.transaction().execute(async (trx) => {
      // The row exists before it is locked, so two replicas' first batches cannot both start a stream.
      await trx
        .insertInto('mon_concept_stream')
        .values({ deployment, settings_key: key, observations: 0, recent: '[]', state: '', updated_ms: this.clock.now() })
        .onConflict((oc) => oc.column('deployment').doNothing())
        .execute();
      let read = trx.selectFrom('mon_concept_stream').selectAll().where('deployment', '=', deployment);
      if (this.dialect === 'postgres') read = read.forUpdate();
      const row = await read.executeTakeFirstOrThrow();
      const detector = createDetector(settings.detector);
      // A changed detector configuration starts a fresh stream.
      const same = row.settings_key === key && row.state !== '';
      if (same) detector.load(stateFromJson(row.state));
      let observations = same ? Number(row.observations) : 0;
      const recent: number[] = same ? (JSON.parse(row.recent) as number[]) : [];
      const out: Detection[] = [];
      for (const f of feedback) {
        const e = errorOf(f, settings.output);
        if (e === undefined) continue;
        observations++;
        recent.push(e);
        if (recent.length > RECENT) recent.shift();
        if (detector.update(e).drift) {
          out.push({
            deployment,
            detector: detector.name,
            observations,
            recentError: recent.reduce((s, x) => s + x, 0) / recent.length,
            requestId: f.requestId,
            row: f.row,
            settings,
          });
        }
      }
      await trx
        .updateTable('mon_concept_stream')
        .set({ settings_key: key, observations, recent: JSON.stringify(recent), state: stateToJson(detector.save()), updated_ms: this.clock.now() })
        .where('deployment', '=', deployment)
        .execute();
      return out;
    });
  }
}
