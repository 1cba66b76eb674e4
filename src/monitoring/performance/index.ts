/** Model quality over time windows, from logged predictions joined to their feedback. */
import { invalidArgument } from '../../core/errors.js';
import { classificationMetrics, regressionMetrics, CLASSIFICATION_METRICS, REGRESSION_METRICS, type MetricResult } from '../../stats/metrics.js';
import { inferTask, toClassified, toRegressed, type JoinedRow, type OutputSpec, type Task } from './extract.js';

export * from '../../stats/metrics.js';
export * from './extract.js';

export interface PerformanceSpec extends OutputSpec {
  /** Default: classification when the feedback holds labels, regression when it holds values. */
  task?: Task;
  eceBins?: number;
}

export interface PerformanceResult {
  task: Task | undefined;
  /** Labelled rows the metrics were computed on. */
  rows: number;
  metrics: MetricResult[];
}

export interface PerformanceWindow extends PerformanceResult {
  /** Window bounds, epoch ms: [start, end). */
  start: number;
  end: number;
}

export function evaluate(rows: readonly JoinedRow[], spec: PerformanceSpec = {}): PerformanceResult {
  const task = spec.task ?? inferTask(rows);
  if (task === undefined) {
    return { task, rows: 0, metrics: CLASSIFICATION_METRICS.map((name) => ({ name, computed: false, reason: 'no labelled predictions in this window' })) };
  }
  const names = task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  const fail = (reason: string): PerformanceResult => ({ task, rows: 0, metrics: names.map((name) => ({ name, computed: false, reason })) });
  if (task === 'classification') {
    const r = toClassified(rows, spec);
    if ('error' in r) return fail(r.error);
    return { task, rows: r.rows.length, metrics: classificationMetrics(r.rows, { positiveLabel: spec.positiveLabel, eceBins: spec.eceBins }) };
  }
  const r = toRegressed(rows, spec);
  if ('error' in r) return fail(r.error);
  return { task, rows: r.actual.length, metrics: regressionMetrics(r.actual, r.predicted) };
}

/** Splits [from, to) into windows of `windowMs` by prediction time and evaluates each. */
export function performanceOverTime(rows: readonly JoinedRow[], from: number, to: number, windowMs: number, spec: PerformanceSpec = {}): PerformanceWindow[] {
  if (!(to > from)) throw invalidArgument(`to (${to}) must be after from (${from})`);
  if (!(Number.isFinite(windowMs) && windowMs > 0)) throw invalidArgument(`window must be a positive duration, got ${windowMs} ms`);
  const count = Math.ceil((to - from) / windowMs);
  if (count > 10_000) throw invalidArgument(`${count} windows requested; use a longer window or a shorter range (at most 10000)`);
  const buckets: JoinedRow[][] = Array.from({ length: count }, () => []);
  for (const r of rows) {
    if (r.timeMs < from || r.timeMs >= to) continue;
    buckets[Math.floor((r.timeMs - from) / windowMs)].push(r);
  }
  // One task for the whole range, so windows are comparable even when one holds only labels.
  const task = spec.task ?? inferTask(rows);
  return buckets.map((b, i) => ({ start: from + i * windowMs, end: Math.min(to, from + (i + 1) * windowMs), ...evaluate(b, { ...spec, task }) }));
}

/** The named metric's value, or undefined when it was not computed. */
export function metricValue(metrics: readonly MetricResult[], name: string): number | undefined {
  const m = metrics.find((x) => x.name === name);
  return m?.computed ? m.value : undefined;
}
