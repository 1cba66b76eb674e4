/**
 * The quickstart story: the whole lifecycle on the bundled loans data, one stage after another,
 * against a real server through the SDK, as a user would run it. Each capability adds its stage
 * here; it must always run end to end.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelportClient } from '../client/client.js';
import { DatasetsClient } from '../client/datasets.js';
import { TrackingClient } from '../client/tracking.js';
import { RegistryClient, httpBlobUploader } from '../client/registry.js';
import { ServingClient } from '../client/serving.js';
import { MonitoringClient } from '../client/monitoring.js';
import { readTable, type Table, type TableColumn } from '../data/read-table.js';
import type { RunningServer } from '../server/serve.js';
import { readLoansEncoding, type LoansEncoding } from './loans-encoding.js';
import { CANDIDATES_DIR, loansFile } from './demo.js';
import { sendTraffic, type TrafficResult } from './traffic.js';

export const MODEL = 'loan-default';
export const DATASET = 'loans';
export const EXPERIMENT = 'loan-default';

export interface StoryContext {
  server: RunningServer;
  client: ModelportClient;
  /** Prints one line of the story. */
  say(line: string): void;
  /** Facts each stage leaves for the summary and later stages. */
  facts: Record<string, string | number>;
  /** Where the story writes files a person opens (the HTML drift report). */
  outDir: string;
  /** State handed from one stage to the next. */
  state: Partial<{
    encoding: LoansEncoding;
    datasetDigest: string;
    bestRunId: string;
    version: number;
    reference: TrafficResult;
    shifted: TrafficResult;
  }>;
}

export interface Stage {
  title: string;
  run(ctx: StoryContext): Promise<void>;
}

interface Candidate {
  name: string;
}

const clients = (ctx: StoryContext) => ({
  datasets: new DatasetsClient(ctx.client, { url: ctx.server.url }),
  tracking: new TrackingClient(ctx.client),
  registry: new RegistryClient(ctx.client, { uploader: httpBlobUploader({ url: ctx.server.url }) }),
  serving: new ServingClient(ctx.client),
  monitoring: new MonitoringClient(ctx.client),
});

const readJson = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(...parts), 'utf8')) as T;
const fmt = (x: number, digits = 3) => x.toFixed(digits);

function labels(table: Table): { request_id: string; label: string }[] {
  const ids = column(table, 'loan_id');
  const target = column(table, 'defaulted');
  const out: { request_id: string; label: string }[] = [];
  for (let i = 0; i < table.rowCount; i++) {
    out.push({ request_id: String(ids.values[i]), label: String(target.values[i]) });
  }
  return out;
}

function column(table: Table, name: string): TableColumn {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw new Error(`${table.source} has no column ${name}`);
  return c;
}

/** The last `n` rows of a table (the loans file is in time order: its tail is the validation period). */
function tail(table: Table, n: number): TableColumn[] {
  const from = Math.max(0, table.rowCount - n);
  return table.columns.map((c) => ({ ...c, values: c.values.slice(from) }) as TableColumn);
}

export const stages: Stage[] = [
  {
    title: 'Register the loans dataset, profile it, and validate a corrupted copy',
    async run(ctx) {
      const { datasets } = clients(ctx);
      const { version } = await datasets.register(DATASET, loansFile('loans.csv'), { description: 'Consumer loans, 2025-01 to 2025-06' });
      ctx.say(`${DATASET}@${version.version}: ${version.rowCount} rows × ${version.columnCount} columns, sha256 ${version.digest.slice(0, 12)}…`);
      const profiled = await datasets.version({ name: DATASET, version: version.version }, { profile: true });
      for (const c of profiled.profile?.columns.filter((p) => ['credit_score', 'debt_to_income', 'defaulted'].includes(p.name)) ?? []) {
        ctx.say(`  ${c.name}: mean ${fmt(Number(c.mean), 3)}, min ${c.min}, max ${c.max}, missing ${fmt(c.missingShare * 100, 1)}%`);
      }
      const report = await datasets.validate(DATASET, loansFile('loans_corrupted.csv'));
      ctx.say(`loans_corrupted.csv: ${report.valid ? 'accepted' : 'REJECTED'} with ${report.anomalies.length} anomalies`);
      for (const a of report.anomalies.slice(0, 8)) ctx.say(`  ${a.kind} ${a.column}: ${a.message}`);
      if (report.anomalies.length > 8) ctx.say(`  … and ${report.anomalies.length - 8} more`);
      ctx.state.datasetDigest = version.digest;
      ctx.facts.dataset = `${DATASET}@${version.version}`;
      ctx.facts['corrupted file anomalies'] = report.anomalies.length;
    },
  },
  {
    title: 'Log the candidate models as an experiment (parameters, training curves, artifacts)',
    async run(ctx) {
      const { tracking } = clients(ctx);
      const index = readJson<{ candidates: Candidate[] }>(CANDIDATES_DIR, 'index.json');
      const experimentId = await tracking.createExperiment(EXPERIMENT, { tags: { demo: 'loans' } });
      const { datasets } = clients(ctx);
      const digest = ctx.state.datasetDigest!;
      // MLflow's dataset entity; its digest is a prefix of the version's sha256, which is how
      // modelport joins the run to the registered dataset version.
      const dataset = { name: DATASET, digest: digest.slice(0, 36), source_type: 'modelport', source: `modelport:/datasets/${DATASET}/versions/latest` };
      for (const candidate of index.candidates) {
        const dir = join(CANDIDATES_DIR, candidate.name);
        const params = readJson<Record<string, unknown>>(dir, 'params.json');
        const metrics = readJson<Record<string, number>>(dir, 'metrics.json');
        const curve = readJson<{ train: Record<string, number[]>; validation: Record<string, number[]> }>(dir, 'curve.json');
        const run = await tracking.createRun({ experiment_id: experimentId, run_name: candidate.name, tags: [{ key: 'mlflow.source.name', value: 'scripts/quickstart/train_candidates.py' }] });
        const runId = run.info.run_id;
        const t = Date.now();
        const points = Object.entries({ train: curve.train, validation: curve.validation }).flatMap(([split, series]) =>
          Object.entries(series).flatMap(([metric, values]) => values.map((value, step) => ({ key: `${split}-${metric}`, value, step, timestamp: t }))),
        );
        const summary = Object.entries(metrics)
          .filter(([k]) => /^(val|train|shifted)_/.test(k))
          .map(([key, value]) => ({ key, value, step: 0, timestamp: t }));
        await tracking.logBatch(runId, {
          params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)])),
          metrics: [...points, ...summary],
        });
        await tracking.logInputs(runId, [{ dataset, tags: [{ key: 'mlflow.data.context', value: 'training' }] }]);
        await datasets.linkRun(DATASET, runId, 'training');
        for (const file of ['MLmodel', 'model.json', 'input_example.json']) {
          await tracking.uploadArtifact(runId, `model/${file}`, readFileSync(join(dir, file)));
        }
        await tracking.endRun(runId, 'FINISHED');
        ctx.say(`run ${candidate.name}: ${points.length} curve points, validation AUC ${fmt(metrics.val_auc, 4)}, logloss ${fmt(metrics.val_logloss, 4)}`);
      }
      const best = await tracking.searchRuns({ experiment_ids: [experimentId], order_by: ['metrics.val_auc DESC'], max_results: 1 });
      const bestRun = best.runs[0];
      ctx.say(`best by validation AUC (runs/search, order_by metrics.val_auc DESC): ${bestRun.info.run_name}`);
      ctx.state.bestRunId = bestRun.info.run_id;
      ctx.facts.experiment = `${EXPERIMENT} (${index.candidates.length} runs)`;
      ctx.facts['best run'] = `${bestRun.info.run_name} ${bestRun.info.run_id}`;
    },
  },
  {
    title: `Register the best model as ${MODEL} and alias it champion`,
    async run(ctx) {
      const { registry, datasets, tracking } = clients(ctx);
      const runId = ctx.state.bestRunId!;
      const run = await tracking.getRun(runId);
      const version = await registry.register(MODEL, join(CANDIDATES_DIR, run.info.run_name), {
        runId,
        description: 'XGBoost default-risk model trained on loans.csv',
        tags: { dataset: `${DATASET}@${ctx.state.datasetDigest!.slice(0, 12)}` },
      });
      await registry.setAlias(MODEL, 'champion', version.version);
      await datasets.linkModel(DATASET, { modelName: MODEL, modelVersion: String(version.version), runId });
      const lineage = await registry.lineage(MODEL, version.version);
      ctx.say(`${MODEL} version ${version.version} (${version.flavor}, sha256 ${String(version.sha256).slice(0, 12)}…) ← run ${runId.slice(0, 8)}…`);
      ctx.say(`lineage: ${lineage.nodes.map((n) => `${n.kind} ${n.label}`).join(' → ')}`);
      ctx.state.version = version.version;
      ctx.facts.model = `${MODEL} version ${version.version} @champion`;
    },
  },
  {
    title: 'Deploy the champion and send it live traffic from the reference period (V2 protocol)',
    async run(ctx) {
      const { serving, monitoring } = clients(ctx);
      await serving.deploy({ name: MODEL, model: MODEL, alias: 'champion' });
      const deployment = await waitReady(serving, MODEL);
      ctx.say(`deployment ${MODEL} follows alias champion, serving version ${deployment.variants[0]?.serving_version}`);
      const encoding = await readLoansEncoding(join(CANDIDATES_DIR, 'index.json'));
      ctx.state.encoding = encoding;
      const loans = await readTable(loansFile('loans.csv'));
      // The last 4,000 loans: the validation period, which no candidate trained on.
      const period: Table = { ...loans, rowCount: 4000, columns: tail(loans, 4000) };
      const reference = await sendTraffic(ctx.client, MODEL, period.columns, encoding, { concurrency: 16 });
      ctx.say(
        `${reference.requests} requests in ${fmt(reference.seconds, 1)} s: ${Math.round(reference.perSecond)} req/s, p50 ${fmt(reference.p50Ms, 2)} ms, p99 ${fmt(reference.p99Ms, 2)} ms`,
      );
      ctx.state.reference = reference;
      await monitoring.feedback(labels(period));
      ctx.facts.deployment = `${MODEL} → ${ctx.server.url}/v2/models/${MODEL}/infer`;
      ctx.facts['reference traffic'] = `${Math.round(reference.perSecond)} req/s, p99 ${fmt(reference.p99Ms, 2)} ms`;
    },
  },
  {
    title: 'Replay shifted traffic, post late labels, and watch the monitors',
    async run(ctx) {
      const { monitoring } = clients(ctx);
      const reference = ctx.state.reference!;
      const shiftedTable = await readTable(loansFile('loans_shifted.csv'));
      await monitoring.createMonitor({
        name: `${MODEL}-drift`,
        deployment: MODEL,
        kind: 'drift',
        intervalSeconds: 3600,
        // Fifteen features, eight of them one-hot: a quarter of them moving is already a shift.
        drift: { reference: { window: { from: reference.startedAt, to: reference.endedAt + 1 } }, maxRows: shiftedTable.rowCount, driftShare: 0.25 },
      });
      // The performance window below starts after the reference traffic ends.
      await new Promise((r) => setTimeout(r, 1100));
      const shifted = await sendTraffic(ctx.client, MODEL, shiftedTable.columns, ctx.state.encoding!, { concurrency: 16 });
      ctx.say(`${shifted.requests} shifted requests (July–August 2025) in ${fmt(shifted.seconds, 1)} s`);
      const fed = await monitoring.feedback(labels(shiftedTable));
      ctx.say(`posted ${shiftedTable.rowCount} late labels as feedback (${fed.accepted} joined)`);

      const window = Math.ceil((Date.now() - shifted.startedAt) / 1000);
      // The model's `prediction` output is the probability of default (label "1").
      const spec = { positiveLabel: '1', negativeLabel: '0', threshold: 0.5, task: 'classification' as const };
      await monitoring.createMonitor({
        name: `${MODEL}-auc`,
        deployment: MODEL,
        kind: 'performance',
        intervalSeconds: 3600,
        windowSeconds: window,
        performance: { metric: 'roc_auc', min: 0.78, minRows: 100, ...spec },
      });
      const before = await monitoring.performance(MODEL, { from: reference.startedAt, to: reference.endedAt + 1, ...spec });
      const after = await monitoring.performance(MODEL, { from: shifted.startedAt, to: shifted.endedAt + 1, ...spec });
      const metric = (w: typeof before, name: string) => {
        const m = w[0]?.metrics.find((x) => x.name === name);
        return m && m.computed ? m.value : NaN;
      };
      ctx.say(`ROC AUC: reference ${fmt(metric(before, 'roc_auc'))} → shifted ${fmt(metric(after, 'roc_auc'))}; log loss ${fmt(metric(before, 'log_loss'))} → ${fmt(metric(after, 'log_loss'))}`);

      const drift = await monitoring.runMonitor(`${MODEL}-drift`);
      ctx.say(`drift check: ${drift.status}: ${drift.message}`);
      const perf = await monitoring.runMonitor(`${MODEL}-auc`);
      ctx.say(`performance check: ${perf.status}: ${perf.message}`);
      const alerts = await monitoring.alerts({ deployment: MODEL, state: 'firing' });
      for (const a of alerts) ctx.say(`ALERT ${a.kind} firing: ${a.message}`);

      const html = await monitoring.report(drift.id);
      mkdirSync(ctx.outDir, { recursive: true });
      const reportPath = join(ctx.outDir, 'drift-report.html');
      writeFileSync(reportPath, html);
      ctx.say(`HTML drift report: ${reportPath}`);
      ctx.state.shifted = shifted;
      ctx.facts.alerts = alerts.map((a) => `${a.kind} (${a.id})`).join(', ') || 'none';
      ctx.facts['drift report'] = reportPath;
      ctx.facts['ROC AUC'] = `${fmt(metric(before, 'roc_auc'))} → ${fmt(metric(after, 'roc_auc'))}`;
    },
  },
];

async function waitReady(serving: ServingClient, name: string) {
  for (let i = 0; i < 600; i++) {
    const d = await serving.get(name);
    if (d.state === 'ready') return d;
    if (d.state === 'failed') throw new Error(`deployment ${name} failed to load: ${d.message ?? 'no reason given'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`deployment ${name} was not ready within 60 s`);
}
