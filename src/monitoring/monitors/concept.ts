/**
 * Concept drift online: each deployment's error stream (1/0 for a wrong/right class, the
 * absolute error for a value) feeds a streaming detector (ADWIN unless a concept_drift monitor
 * says otherwise) as feedback arrives. A detection raises a deduplicated alert.
 */
import { createDetector, type DetectorSpec, type StreamingDetector } from '../detectors/index.js';
import type { AcceptedFeedback } from '../feedback/feedback.js';
import { toClassified, toRegressed, type OutputSpec } from '../performance/extract.js';
import type { ConceptDriftConfig, PerformanceConfig } from './schema.js';

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

interface Stream {
  detector: StreamingDetector;
  key: string;
  observations: number;
  recent: number[];
}

export class ConceptDriftTracker {
  private readonly streams = new Map<string, Stream>();

  /** Feeds one deployment's new feedback (in prediction-time order); returns the detections. */
  observe(deployment: string, feedback: readonly AcceptedFeedback[], settings: ConceptSettings): Detection[] {
    const key = JSON.stringify(settings.detector);
    let stream = this.streams.get(deployment);
    // A changed detector configuration starts a fresh stream.
    if (!stream || stream.key !== key) {
      stream = { detector: createDetector(settings.detector), key, observations: 0, recent: [] };
      this.streams.set(deployment, stream);
    }
    const out: Detection[] = [];
    for (const f of feedback) {
      const e = errorOf(f, settings.output);
      if (e === undefined) continue;
      stream.observations++;
      stream.recent.push(e);
      if (stream.recent.length > RECENT) stream.recent.shift();
      if (stream.detector.update(e).drift) {
        out.push({
          deployment,
          detector: stream.detector.name,
          observations: stream.observations,
          recentError: stream.recent.reduce((s, x) => s + x, 0) / stream.recent.length,
          requestId: f.requestId,
          row: f.row,
          settings,
        });
      }
    }
    return out;
  }
}
