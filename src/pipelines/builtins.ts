/**
 * Built-in steps, by name. Other domains add theirs (the trainer's `train`, serving's canary
 * rollout) with `StepRegistry.register`; validation asks the registry which files a step
 * writes, so downstream inputs are checked before anything runs.
 *
 * Tables pass between built-ins as CSV files in the output folders: `data.csv` (dataset.load),
 * `train.csv` and `test.csv` (split).
 */
import { csvCell } from '../data/csv.js';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { checkWebhookUrl, postWebhook, signWebhookPayload } from '../core/webhook-security.js';
import { readTable, type Table } from '../data/read-table.js';
import type { BuiltinCatalog } from './definition.js';
import type { BuiltinStep, StepContext } from './context.js';
import { evaluateVersion, formatGateReport, runGate } from './gate.js';

export class StepRegistry implements BuiltinCatalog {
  private readonly steps = new Map<string, BuiltinStep>();

  register(name: string, step: BuiltinStep): void {
    if (this.steps.has(name)) throw invalidArgument(`built-in step "${name}" is already registered`);
    this.steps.set(name, step);
  }

  has(name: string): boolean {
    return this.steps.has(name);
  }

  get(name: string): BuiltinStep | undefined {
    return this.steps.get(name);
  }

  names(): string[] {
    return [...this.steps.keys()].sort();
  }

  outputsOf(name: string, options: Record<string, unknown>): string[] {
    return this.steps.get(name)?.outputs(options) ?? [];
  }

  /** For the task runner: name → step. */
  get map(): ReadonlyMap<string, BuiltinStep> {
    return this.steps;
  }
}

export function str(ctx: StepContext, key: string, fallback?: string): string {
  const v = ctx.with[key] ?? fallback;
  if (typeof v !== 'string' && typeof v !== 'number') throw invalidArgument(`step ${ctx.step}: with.${key} is required (a string)`);
  return String(v);
}

export function num(ctx: StepContext, key: string, fallback: number): number {
  const v = ctx.with[key] ?? fallback;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidArgument(`step ${ctx.step}: with.${key} must be a number`);
  return n;
}

/** The upstream folder holding `file`: the one `with.from` names, else the only one that has it. */
export function inputFile(ctx: StepContext, file: string): string {
  const from = ctx.with.from;
  if (typeof from === 'string') {
    const dir = ctx.inputs[from];
    if (!dir) throw invalidArgument(`step ${ctx.step}: with.from names "${from}", which is not among its upstream steps (${Object.keys(ctx.inputs).join(', ') || 'none'})`);
    if (!existsSync(join(dir, file))) throw failedPrecondition(`step ${ctx.step}: step ${from} left no ${file}`);
    return join(dir, file);
  }
  const found = Object.entries(ctx.inputs).filter(([, dir]) => existsSync(join(dir, file)));
  if (found.length !== 1) throw invalidArgument(`step ${ctx.step}: ${found.length === 0 ? `no upstream step left ${file}` : `several upstream steps left ${file} (${found.map((f) => f[0]).join(', ')})`}; name one with with.from`);
  return join(found[0][1], file);
}

/** A table value as a CSV cell: a missing number (NaN) is an empty field, as a missing text is. */
const cellOf = (v: string | number | null): string => csvCell(v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v));

/** Writes the rows `rows` (indexes into `table`) as CSV. */
async function writeCsv(path: string, table: Table, rows: ArrayLike<number>): Promise<void> {
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write(`${table.columns.map((c) => csvCell(c.name)).join(',')}\n`);
  for (let i = 0; i < rows.length; i++) await write(`${table.columns.map((c) => cellOf(c.values[rows[i]]!)).join(',')}\n`);
  out.end();
  await once(out, 'finish');
}

const datasetLoad: BuiltinStep = {
  description: 'copies a dataset version to data.csv and links it to the run (with: dataset, version)',
  outputs: () => ['data.csv', 'dataset.json'],
  async run(ctx) {
    const name = str(ctx, 'dataset');
    const v = ctx.with.version;
    const ref = { name, version: v === undefined || v === 'latest' ? undefined : Number(v) };
    if (ref.version !== undefined && !(Number.isInteger(ref.version) && ref.version > 0)) throw invalidArgument(`step ${ctx.step}: with.version must be a version number or "latest"`);
    const { version, stream } = await ctx.services.datasets.open(ref);
    const target = join(ctx.outputDir, 'data.csv');
    if (version.format === 'csv') await pipeline(stream, createWriteStream(target));
    else {
      const raw = join(ctx.outputDir, `.raw.${version.format}`);
      await pipeline(stream, createWriteStream(raw));
      const table = await readTable(raw);
      await writeCsv(target, table, Uint32Array.from({ length: table.rowCount }, (_, i) => i));
      await rm(raw);
    }
    if (ctx.trackingRunId) await ctx.services.datasets.linkRun({ name, version: version.version }, ctx.trackingRunId, 'training');
    await writeFile(join(ctx.outputDir, 'dataset.json'), JSON.stringify({ name, version: version.version, digest: version.digest, rows: version.rowCount }));
    ctx.log(`loaded ${name}@${version.version} (${version.rowCount} rows)`);
  },
};

const datasetValidate: BuiltinStep = {
  description: "checks data.csv against a dataset's schema; fails above with.maxAnomalies (default 0)",
  outputs: () => ['validation.json'],
  async run(ctx) {
    const file = inputFile(ctx, 'data.csv');
    const dataset = ctx.with.dataset !== undefined ? str(ctx, 'dataset') : (JSON.parse(await readFile(join(file, '..', 'dataset.json'), 'utf8')) as { name: string }).name;
    const report = await ctx.services.datasets.validate(dataset, file);
    await writeFile(join(ctx.outputDir, 'validation.json'), JSON.stringify(report, null, 2));
    const max = num(ctx, 'maxAnomalies', 0);
    for (const a of report.anomalies) ctx.log(`anomaly: ${a.message}`);
    if (report.anomalies.length > max) throw failedPrecondition(`${report.anomalies.length} anomalies against the schema of ${dataset} (at most ${max} allowed): ${report.anomalies[0].message}`);
    ctx.log(`${report.rowCount} rows valid against ${dataset} (${report.anomalies.length} anomalies)`);
  },
};

const split: BuiltinStep = {
  description: 'splits data.csv into train.csv and test.csv (with: method random|time|stratified, testFraction, seed, column)',
  outputs: () => ['train.csv', 'test.csv'],
  async run(ctx) {
    const table = await readTable(inputFile(ctx, 'data.csv'));
    const fraction = num(ctx, 'testFraction', 0.2);
    if (!(fraction > 0 && fraction < 1)) throw invalidArgument(`step ${ctx.step}: with.testFraction must be between 0 and 1`);
    const method = str(ctx, 'method', 'random');
    const random = mulberry32(num(ctx, 'seed', 42));
    const shuffle = (xs: number[]) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    };
    const all = Array.from({ length: table.rowCount }, (_, i) => i);
    const test = new Set<number>();
    if (method === 'random') for (const i of shuffle(all).slice(0, Math.round(table.rowCount * fraction))) test.add(i);
    else {
      const name = str(ctx, 'column');
      const col = table.columns.find((c) => c.name === name);
      if (!col) throw invalidArgument(`step ${ctx.step}: with.column "${name}" is not in data.csv`);
      if (method === 'time') {
        // The newest rows are the holdout: a model is tested on the future it will see.
        const key = (i: number) => (col.type === 'number' ? col.values[i] : Date.parse(String(col.values[i])));
        const ordered = [...all].sort((a, b) => key(a) - key(b) || a - b);
        for (const i of ordered.slice(ordered.length - Math.round(table.rowCount * fraction))) test.add(i);
      } else if (method === 'stratified') {
        const groups = new Map<string, number[]>();
        for (const i of all) {
          const k = String(col.values[i]);
          groups.set(k, [...(groups.get(k) ?? []), i]);
        }
        for (const rows of groups.values()) for (const i of shuffle(rows).slice(0, Math.round(rows.length * fraction))) test.add(i);
      } else throw invalidArgument(`step ${ctx.step}: with.method "${method}" must be random, time or stratified`);
    }
    await writeCsv(join(ctx.outputDir, 'train.csv'), table, all.filter((i) => !test.has(i)).sort((a, b) => a - b));
    await writeCsv(join(ctx.outputDir, 'test.csv'), table, [...test].sort((a, b) => a - b));
    ctx.log(`split ${table.rowCount} rows: ${table.rowCount - test.size} train, ${test.size} test (${method})`);
  },
};

/** The model version a step should act on: with.version, else the one an upstream register step recorded. */
export async function versionFrom(ctx: StepContext, key: string): Promise<string> {
  if (ctx.with[key] !== undefined) return str(ctx, key);
  const found = inputFile(ctx, 'model-version.json');
  return String((JSON.parse(await readFile(found, 'utf8')) as { version: number }).version);
}

const evaluateStep: BuiltinStep = {
  description: 'scores test.csv with a registered model version (with: model, version, label, file) and writes metrics.json',
  outputs: () => ['metrics.json', 'evaluation.json'],
  async run(ctx) {
    const model = str(ctx, 'model');
    const version = await versionFrom(ctx, 'version');
    const table = await readTable(inputFile(ctx, str(ctx, 'file', 'test.csv')));
    const ev = await evaluateVersion(ctx.services.registry, model, version, table, { label: str(ctx, 'label') });
    const metrics = Object.fromEntries(ev.metrics.flatMap((m) => (m.computed ? [[m.name, m.value]] : [])));
    await writeFile(join(ctx.outputDir, 'metrics.json'), JSON.stringify(metrics));
    await writeFile(join(ctx.outputDir, 'evaluation.json'), JSON.stringify(ev, null, 2));
    ctx.log(`${model}/${ev.version} on ${ev.rows} rows: ${Object.entries(metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ')}`);
  },
};

const gateStep: BuiltinStep = {
  description: 'fails unless the candidate beats the champion on the holdout (with: model, candidate, against, metric, minDelta, maxLatencyMs, label)',
  outputs: () => ['gate.json', 'metrics.json'],
  async run(ctx) {
    const table = await readTable(inputFile(ctx, str(ctx, 'file', 'test.csv')));
    const report = await runGate(ctx.services.registry, table, {
      model: str(ctx, 'model'),
      candidate: await versionFrom(ctx, 'candidate'),
      against: str(ctx, 'against', 'champion'),
      metric: str(ctx, 'metric'),
      minDelta: num(ctx, 'minDelta', 0),
      maxLatencyMs: ctx.with.maxLatencyMs === undefined ? undefined : num(ctx, 'maxLatencyMs', 0),
      label: str(ctx, 'label'),
    });
    await writeFile(join(ctx.outputDir, 'gate.json'), JSON.stringify(report, null, 2));
    await writeFile(join(ctx.outputDir, 'metrics.json'), JSON.stringify({ gate_passed: report.passed ? 1 : 0, ...(report.delta !== undefined ? { gate_delta: report.delta } : {}) }));
    for (const line of formatGateReport(report).trimEnd().split('\n')) ctx.log(line);
    if (!report.passed) throw failedPrecondition(`gate failed: ${report.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.detail})`).join('; ')}`);
  },
};

const register: BuiltinStep = {
  description: "registers an upstream step's model folder as a new version with lineage (with: model, from, path, flavor, alias)",
  outputs: () => ['model-version.json'],
  async run(ctx) {
    const model = str(ctx, 'model');
    const from = str(ctx, 'from');
    const base = ctx.inputs[from];
    if (!base) throw invalidArgument(`step ${ctx.step}: with.from names "${from}", which is not among its upstream steps`);
    const folder = join(base, typeof ctx.with.path === 'string' ? ctx.with.path : '');
    if (!existsSync(folder)) throw failedPrecondition(`step ${ctx.step}: step ${from} left no ${String(ctx.with.path)}`);
    const files: { path: string; sha256: string }[] = [];
    for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath ?? entry.path, entry.name);
      const info = await ctx.services.registry.putBlob(createReadStream(full));
      files.push({ path: full.slice(folder.length).replace(/^\/+/, ''), sha256: info.sha256 });
    }
    if (files.length === 0) throw failedPrecondition(`step ${ctx.step}: step ${from} left no model files`);
    const version = await ctx.services.registry.createVersion({
      name: model,
      files,
      createModel: true,
      runId: ctx.trackingRunId,
      flavor: typeof ctx.with.flavor === 'string' ? ctx.with.flavor : undefined,
      description: `pipeline ${ctx.pipeline}, run ${ctx.runId}`,
      tags: { 'modelport.pipeline': ctx.pipeline, 'modelport.pipeline_run': ctx.runId },
    });
    // Lineage to data: every dataset an upstream dataset.load step read.
    for (const dir of Object.values(ctx.inputs)) {
      if (!existsSync(join(dir, 'dataset.json'))) continue;
      const d = JSON.parse(await readFile(join(dir, 'dataset.json'), 'utf8')) as { name: string; version: number };
      await ctx.services.datasets.linkModel({ name: d.name, version: d.version }, { name: model, version: version.version, runId: ctx.trackingRunId });
    }
    if (typeof ctx.with.alias === 'string') await ctx.services.registry.setAlias(model, ctx.with.alias, version.version);
    await writeFile(join(ctx.outputDir, 'model-version.json'), JSON.stringify({ name: model, version: Number(version.version) }));
    ctx.log(`registered ${model} version ${version.version}`);
  },
};

const promote: BuiltinStep = {
  description: 'points an alias (default champion) at the version an upstream register step made (with: model, alias)',
  outputs: () => ['promoted.json'],
  async run(ctx) {
    const model = str(ctx, 'model');
    const alias = str(ctx, 'alias', 'champion');
    const version = await versionFrom(ctx, 'version');
    await ctx.services.registry.setAlias(model, alias, version);
    await writeFile(join(ctx.outputDir, 'promoted.json'), JSON.stringify({ name: model, alias, version: Number(version) }));
    ctx.log(`${model}@${alias} -> version ${version}`);
  },
};

const notify: BuiltinStep = {
  description: 'POSTs the run and its upstream reports to a webhook (with: url, secret, event)',
  outputs: () => ['notification.json'],
  async run(ctx) {
    const url = await checkWebhookUrl(str(ctx, 'url'), `step ${ctx.step}: with.url`, ctx.services.allowPrivateWebhookTargets);
    const reports: Record<string, unknown> = {};
    for (const [step, dir] of Object.entries(ctx.inputs)) {
      for (const file of ['gate.json', 'metrics.json', 'model-version.json', 'validation.json']) {
        if (existsSync(join(dir, file))) reports[`${step}/${file}`] = JSON.parse(await readFile(join(dir, file), 'utf8'));
      }
    }
    const body = JSON.stringify({ event: str(ctx, 'event', 'pipeline.notify'), pipeline: ctx.pipeline, run: ctx.runId, params: ctx.params, reports });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (typeof ctx.with.secret === 'string') headers['x-modelport-signature'] = signWebhookPayload(ctx.with.secret, body);
    const result = await postWebhook(url, body, headers, { allowPrivate: ctx.services.allowPrivateWebhookTargets, timeoutMs: 10_000 });
    await writeFile(join(ctx.outputDir, 'notification.json'), JSON.stringify({ url, status: result.status, error: result.error }));
    if (result.error || !result.status || result.status >= 300) throw failedPrecondition(`webhook ${url} answered ${result.error ?? `HTTP ${result.status}`}`);
    ctx.log(`notified ${url}: HTTP ${result.status}`);
  },
};

/** The registry of built-in steps that need only tracking, datasets and the registry. */
export function defaultSteps(): StepRegistry {
  const registry = new StepRegistry();
  registry.register('dataset.load', datasetLoad);
  registry.register('dataset.validate', datasetValidate);
  registry.register('split', split);
  registry.register('evaluate', evaluateStep);
  registry.register('gate', gateStep);
  registry.register('model.register', register);
  registry.register('model.promote', promote);
  registry.register('notify', notify);
  return registry;
}
