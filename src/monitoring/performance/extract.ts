/**
 * Which output columns hold a prediction and its probabilities, and how a logged output row plus
 * its feedback become a classified or regressed row for the metrics.
 */
import { invalidArgument } from '../../core/errors.js';
import type { ClassifiedRow } from '../../stats/metrics.js';

export type Task = 'classification' | 'regression';

export interface OutputSpec {
  /** Output column with the predicted class or value (default: label, prediction, predictions, ... or the first). */
  predictionColumn?: string;
  /** Output column with class probabilities: a vector (one per class) or the positive class's probability. */
  scoreColumn?: string;
  /** Class names for the positions of a probability vector (default "0", "1", ...). */
  classes?: string[];
  /** Positive class of binary problems (default "1"). */
  positiveLabel?: string;
  /** Class given to rows whose positive-class probability is below `threshold` (default "0"). */
  negativeLabel?: string;
  /** Decision threshold on a positive-class probability (default 0.5). */
  threshold?: number;
}

/** A logged prediction joined to its feedback. */
export interface JoinedRow {
  requestId: string;
  row: number;
  timeMs: number;
  outputs: Record<string, unknown>;
  label: string | null;
  value: number | null;
}

const PREDICTION_NAMES = ['label', 'output_label', 'prediction', 'predictions', 'predicted', 'output', 'y'];
const SCORE_NAMES = ['probabilities', 'probability', 'output_probability', 'proba', 'scores'];

/** Labels compare as text; booleans are the classes "1" and "0". */
export function labelText(v: unknown): string {
  if (v === true) return '1';
  if (v === false) return '0';
  return String(v);
}

function pick(names: string[], candidates: string[]): string | undefined {
  return candidates.find((c) => names.includes(c));
}

function isNumberVector(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');
}

function scalar(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? v[0] : v;
}

/** The columns to read, resolved against the outputs actually logged. */
export function resolveColumns(rows: readonly JoinedRow[], spec: OutputSpec): { prediction?: string; score?: string } {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.outputs)))];
  for (const [flag, col] of [['predictionColumn', spec.predictionColumn], ['scoreColumn', spec.scoreColumn]] as const) {
    // An empty window has nothing to check the names against; its metrics say it is empty.
    if (col !== undefined && rows.length > 0 && !names.includes(col)) {
      throw invalidArgument(`${flag}: the logged outputs have no column "${col}" (they have ${names.map((n) => `"${n}"`).join(', ') || 'none'})`);
    }
  }
  // A named score column with no named prediction column means: classes come from the scores.
  const prediction =
    spec.predictionColumn ??
    (spec.scoreColumn !== undefined ? undefined : pick(names, PREDICTION_NAMES) ?? names.find((n) => !isNumberVector(rows[0]?.outputs[n])));
  const score = spec.scoreColumn ?? pick(names, SCORE_NAMES) ?? names.find((n) => isNumberVector(rows[0]?.outputs[n]) && n !== prediction);
  return { prediction, score };
}

/** Rows whose feedback is a label, as classified rows; explains the first row it cannot read. */
export function toClassified(rows: readonly JoinedRow[], spec: OutputSpec): { rows: ClassifiedRow[] } | { error: string } {
  const { prediction, score } = resolveColumns(rows, spec);
  const positive = spec.positiveLabel ?? '1';
  const negative = spec.negativeLabel ?? '0';
  const threshold = spec.threshold ?? 0.5;
  // A prediction column of fractions in [0, 1] (e.g. XGBoost binary:logistic) is a positive-class probability.
  const predictionIsScore =
    score === undefined &&
    prediction !== undefined &&
    rows.every((r) => {
      const v = scalar(r.outputs[prediction]);
      return typeof v === 'number' && v >= 0 && v <= 1;
    }) &&
    rows.some((r) => !Number.isInteger(scalar(r.outputs[prediction])));
  const scoreCol = predictionIsScore ? prediction : score;
  const out: ClassifiedRow[] = [];
  for (const r of rows) {
    if (r.label === null) continue;
    let probabilities: Map<string, number> | undefined;
    let predicted: string | undefined;
    if (scoreCol !== undefined) {
      const s = scalar(r.outputs[scoreCol]);
      if (isNumberVector(s)) {
        const classes = spec.classes ?? s.map((_, i) => String(i));
        if (classes.length !== s.length) return { error: `scoreColumn "${scoreCol}" has ${s.length} probabilities but ${classes.length} classes were given` };
        probabilities = new Map(classes.map((c, i) => [c, s[i]]));
        let best = 0;
        for (let i = 1; i < s.length; i++) if (s[i] > s[best]) best = i;
        predicted = classes[best];
      } else if (typeof s === 'number' && s >= 0 && s <= 1) {
        probabilities = new Map([[positive, s]]);
        predicted = s >= threshold ? positive : negative;
      } else {
        return { error: `request ${r.requestId} row ${r.row}: scoreColumn "${scoreCol}" holds ${JSON.stringify(s)}, not a probability or a vector of them` };
      }
    }
    if (prediction !== undefined && !predictionIsScore) {
      const p = scalar(r.outputs[prediction]);
      if (p === undefined || p === null || typeof p === 'object') {
        return { error: `request ${r.requestId} row ${r.row}: predictionColumn "${prediction}" holds ${JSON.stringify(p)}, not a class` };
      }
      predicted = labelText(p);
    }
    if (predicted === undefined) return { error: 'the logged outputs have no column to read a prediction from; set predictionColumn' };
    out.push({ label: r.label, predicted, probabilities });
  }
  return { rows: out };
}

/** Rows whose feedback is a value, as (actual, predicted) pairs. */
export function toRegressed(rows: readonly JoinedRow[], spec: OutputSpec): { actual: Float64Array; predicted: Float64Array } | { error: string } {
  const { prediction } = resolveColumns(rows, spec);
  if (prediction === undefined) return { error: 'the logged outputs have no column to read a prediction from; set predictionColumn' };
  const actual: number[] = [];
  const predicted: number[] = [];
  for (const r of rows) {
    if (r.value === null) continue;
    const p = scalar(r.outputs[prediction]);
    if (typeof p !== 'number' || !Number.isFinite(p)) {
      return { error: `request ${r.requestId} row ${r.row}: predictionColumn "${prediction}" holds ${JSON.stringify(p)}, not a finite number` };
    }
    actual.push(r.value);
    predicted.push(p);
  }
  return { actual: Float64Array.from(actual), predicted: Float64Array.from(predicted) };
}

/** The task implied by the feedback: labels mean classification, values regression. */
export function inferTask(rows: readonly JoinedRow[]): Task | undefined {
  const labels = rows.filter((r) => r.label !== null).length;
  const values = rows.filter((r) => r.value !== null).length;
  if (labels === 0 && values === 0) return undefined;
  return labels >= values ? 'classification' : 'regression';
}
