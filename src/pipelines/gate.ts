/**
 * Champion/challenger gate: both registered versions score the same holdout table, and the
 * candidate passes when it beats the champion by the margin on the chosen metric and its own
 * outputs pass the prediction checks (no NaN outputs, one-row latency within a budget). The
 * pipeline's `gate` and `evaluate` steps and `modelport gate` all run this.
 */
import { failedPrecondition, invalidArgument, isModelportError } from '../core/errors.js';
import type { Table } from '../data/read-table.js';
import { cellValue, fromColumns, type Batch, type Predictor } from '../models/index.js';
import { evaluate, labelText, metricValue, type JoinedRow, type MetricResult, type Task } from '../monitoring/performance/index.js';
import type { RegistryService } from '../registry/service.js';
import { singleRowMicros } from '../serving/warmup.js';

/** Metrics where smaller is better; every other metric is better when larger. */
const LOWER_IS_BETTER = new Set(['log_loss', 'ece', 'mae', 'rmse', 'mape']);

export interface EvaluateOptions {
  /** The column holding the true label or value. */
  label: string;
  task?: Task;
  positiveLabel?: string;
  /** Output columns to read (default: found by name, or a lone probability output). */
  predictionColumn?: string;
  scoreColumn?: string;
}

export interface Evaluation {
  model: string;
  version: string;
  rows: number;
  task?: Task;
  metrics: MetricResult[];
  /** Output cells that are NaN or infinite. */
  nonFiniteOutputs: number;
  /** Median one-row prediction time, in milliseconds. */
  latencyMs?: number;
}

export interface GateOptions extends EvaluateOptions {
  model: string;
  candidate: string | number;
  /** An alias or version to beat (default `champion`). */
  against?: string;
  metric: string;
  /** How much better the candidate must be (in the metric's own units). */
  minDelta?: number;
  /** Largest median one-row latency allowed, in milliseconds. */
  maxLatencyMs?: number;
}

export interface GateReport {
  passed: boolean;
  metric: string;
  minDelta: number;
  candidate: Evaluation;
  /** Absent when there is no champion yet (then only the prediction checks apply). */
  champion?: Evaluation;
  delta?: number;
  /** One line per check. */
  checks: { name: string; passed: boolean; detail: string }[];
}

/** Scores `table` with `predictor` and computes the task's metrics against `options.label`. */
export async function evaluatePredictor(predictor: Predictor, table: Table, options: EvaluateOptions): Promise<Omit<Evaluation, 'model' | 'version'>> {
  const labelCol = table.columns.find((c) => c.name === options.label);
  if (!labelCol) throw invalidArgument(`label: column "${options.label}" is not in ${table.source} (it has ${table.columns.map((c) => c.name).join(', ')})`);
  const inputs: Record<string, unknown[]> = {};
  for (const c of table.columns) {
    if (c.name === options.label) continue;
    inputs[c.name] = c.type === 'number' ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)) : c.values;
  }
  const batch = fromColumns(inputs, predictor.signature, { extraColumns: 'ignore' });
  const outputs = await predictor.predict(batch);
  const rows: JoinedRow[] = [];
  const regression = options.task === 'regression' || (options.task === undefined && labelCol.type === 'number' && !isBinary(labelCol.values as Float64Array));
  for (let i = 0; i < table.rowCount; i++) {
    const truth = labelCol.values[i];
    if (truth === null || (typeof truth === 'number' && Number.isNaN(truth))) continue;
    rows.push({ requestId: String(i), row: 0, timeMs: 0, outputs: rowOutputs(outputs, i), label: regression ? null : labelText(truth), value: regression ? Number(truth) : null });
  }
  const result = evaluate(rows, {
    task: regression ? 'regression' : 'classification',
    positiveLabel: options.positiveLabel,
    predictionColumn: options.predictionColumn,
    scoreColumn: options.scoreColumn ?? (options.predictionColumn === undefined && !regression ? loneProbability(outputs) : undefined),
  });
  const micros = await singleRowMicros((b) => predictor.predict(b), predictor.signature, 20);
  return { rows: result.rows, task: result.task, metrics: result.metrics, nonFiniteOutputs: countNonFinite(outputs), latencyMs: micros === undefined ? undefined : micros / 1000 };
}

/** A model with one float output of values in [0, 1] gives the positive class's probability. */
function loneProbability(outputs: Batch): string | undefined {
  if (outputs.columns.size !== 1) return undefined;
  const [name, col] = [...outputs.columns][0];
  if (col.dtype !== 'float32' && col.dtype !== 'float64') return undefined;
  for (const v of col.data as Float64Array) if (!(v >= 0 && v <= 1)) return undefined;
  return name;
}

function isBinary(values: Float64Array): boolean {
  for (const v of values) if (!Number.isNaN(v) && v !== 0 && v !== 1) return false;
  return true;
}

function rowOutputs(batch: Batch, row: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, col] of batch.columns) out[name] = cellValue(col, row);
  return out;
}

function countNonFinite(batch: Batch): number {
  let n = 0;
  for (const col of batch.columns.values()) {
    if (col.dtype !== 'float32' && col.dtype !== 'float64') continue;
    for (const v of col.data as Float32Array | Float64Array) if (!Number.isFinite(v)) n++;
  }
  return n;
}

export async function evaluateVersion(registry: RegistryService, model: string, ref: string | number, table: Table, options: EvaluateOptions): Promise<Evaluation> {
  const version = await registry.resolveVersion(model, ref);
  const predictor = await registry.loadVersion(model, version.version);
  try {
    return { model, version: String(version.version), ...(await evaluatePredictor(predictor, table, options)) };
  } finally {
    await predictor.close();
  }
}

export async function runGate(registry: RegistryService, table: Table, options: GateOptions): Promise<GateReport> {
  const minDelta = options.minDelta ?? 0;
  const candidate = await evaluateVersion(registry, options.model, options.candidate, table, options);
  const checks: GateReport['checks'] = [];
  const value = metricValue(candidate.metrics, options.metric);
  if (!candidate.metrics.some((m) => m.name === options.metric)) {
    throw invalidArgument(`metric: "${options.metric}" is not a ${candidate.task} metric (use ${candidate.metrics.map((m) => m.name).join(', ')})`);
  }
  checks.push({ name: 'candidate metric', passed: value !== undefined, detail: value !== undefined ? `${options.metric} = ${round(value)}` : `${options.metric} could not be computed` });
  checks.push({ name: 'no NaN outputs', passed: candidate.nonFiniteOutputs === 0, detail: `${candidate.nonFiniteOutputs} non-finite output cells` });
  if (options.maxLatencyMs !== undefined) {
    const ok = candidate.latencyMs !== undefined && candidate.latencyMs <= options.maxLatencyMs;
    checks.push({ name: 'latency', passed: ok, detail: `median one-row latency ${candidate.latencyMs === undefined ? 'unknown' : `${round(candidate.latencyMs)} ms`} (budget ${options.maxLatencyMs} ms)` });
  }
  let champion: Evaluation | undefined;
  let delta: number | undefined;
  const against = options.against ?? 'champion';
  try {
    champion = await evaluateVersion(registry, options.model, against, table, options);
  } catch (err) {
    if (!(isModelportError(err) && err.code === 'NotFound')) throw err;
    checks.push({ name: 'beats champion', passed: true, detail: `no ${against} version yet: nothing to beat` });
  }
  if (champion) {
    if (champion.version === candidate.version) throw failedPrecondition(`candidate ${options.model}/${candidate.version} is the ${against} itself`);
    const base = metricValue(champion.metrics, options.metric);
    if (value !== undefined && base !== undefined) delta = LOWER_IS_BETTER.has(options.metric) ? base - value : value - base;
    const ok = delta !== undefined && delta >= minDelta;
    checks.push({
      name: 'beats champion',
      passed: ok,
      detail: delta === undefined ? `${options.metric} of ${against} (version ${champion.version}) could not be computed` : `${options.metric} ${round(value!)} vs ${against} (version ${champion.version}) ${round(base!)}: improvement ${round(delta)} ${ok ? '>=' : '<'} ${minDelta}`,
    });
  }
  return { passed: checks.every((c) => c.passed), metric: options.metric, minDelta, candidate, champion, delta, checks };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** The report as lines a person reads in a CI log. */
export function formatGateReport(report: GateReport): string {
  const lines = [`gate ${report.passed ? 'PASSED' : 'FAILED'}: ${report.candidate.model} version ${report.candidate.version} on ${report.candidate.rows} rows`];
  for (const c of report.checks) lines.push(`  [${c.passed ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
  return `${lines.join('\n')}\n`;
}

/** A table sent as JSON columns (name → one value per row): numbers stay numbers, anything else is text. */
export function tableFromColumns(columns: Record<string, unknown[]>, source = 'request'): Table {
  const names = Object.keys(columns);
  if (names.length === 0) throw invalidArgument('columns: no columns were sent');
  const rowCount = columns[names[0]].length;
  const out: Table['columns'] = names.map((name) => {
    const values = columns[name];
    if (values.length !== rowCount) throw invalidArgument(`columns.${name}: has ${values.length} rows, expected ${rowCount}`);
    const bad = values.findIndex((v) => v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean');
    if (bad >= 0) throw invalidArgument(`columns.${name}[${bad}]: ${JSON.stringify(values[bad])} is not a number, text or null`);
    if (values.every((v) => v === null || typeof v === 'number')) return { name, type: 'number' as const, values: Float64Array.from(values, (v) => (v === null ? NaN : (v as number))) };
    return { name, type: 'string' as const, values: values.map((v) => (v === null || v === undefined ? null : String(v))) };
  });
  return { source, format: 'csv', rowCount, columns: out };
}

/** The reverse: a table as JSON columns (NaN as null), to send to a server. */
export function tableToColumns(table: Table): Record<string, (string | number | null)[]> {
  return Object.fromEntries(table.columns.map((c) => [c.name, c.type === 'number' ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)) : c.values]));
}
