/**
 * The quickstart story: the whole lifecycle on the bundled loans data, one stage after another,
 * against a real server through the SDK, as a user would run it. Each stage's title says what it
 * proves; it must always run end to end.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelportClient } from '../client/client.js';
import { DatasetsClient } from '../client/datasets.js';
import { TrackingClient } from '../client/tracking.js';
import { RegistryClient, httpBlobUploader } from '../client/registry.js';
import { ServingClient } from '../client/serving.js';
import { MonitoringClient } from '../client/monitoring.js';
import { FeaturesClient } from '../client/features.js';
import { ExplainClient } from '../client/explain.js';
import { PipelinesClient, type RunView } from '../client/pipelines.js';
import { JobsClient } from '../client/jobs.js';
import { exportVersion } from '../client/export.js';
import { ClientTrainingTracker, runStudy } from '../client/training.js';
import { registerFitted } from '../training/session.js';
import { defaultSpace } from '../training/search/defaults.js';
import { loadFeatureFile } from '../features/define.js';
import type { PipelineSpec } from '../pipelines/definition.js';
import { readTable, type Table, type TableColumn } from '../data/read-table.js';
import type { RunningServer } from '../server/serve.js';
import type { LoansEncoding } from './loans-encoding.js';
import { loansFile } from './demo.js';
import { concatTables, encodeTable, encodingOf, sliceTable, writeCsv } from './tables.js';
import { sendTraffic, type TrafficInput, type TrafficResult } from './traffic.js';

export const MODEL = 'loan-default';
export const DATASET = 'loans';
export const TRAINING = 'loans-training';
export const EXPERIMENT = 'loan-default';
export const PIPELINE = 'retrain-loan-default';
export const APPLICATIONS = 'loan-applications';
const FEATURE_SERVICE = 'loan_scoring';
/** Columns that identify a row or date it: kept in the tables, never trained on. */
const IDS = ['loan_id', 'customer_id', 'event_timestamp'];
const LABEL = 'defaulted';

export interface StoryContext {
  server: RunningServer;
  client: ModelportClient;
  /** Prints one line of the story. */
  say(line: string): void;
  /** Facts each stage leaves for the summary and later stages. */
  facts: Record<string, string | number>;
  /** Where the story writes files a person opens (reports, training tables). */
  outDir: string;
  /** State handed from one stage to the next. */
  state: Partial<{
    datasetDigest: string;
    encoding: LoansEncoding;
    /** Model inputs the feature store supplies at serving time. */
    served: string[];
    training: Table;
    params: Record<string, string>;
    reference: TrafficResult;
    run: RunView;
    version: number;
  }>;
}

export interface Stage {
  title: string;
  run(ctx: StoryContext): Promise<void>;
}

const clients = (ctx: StoryContext) => ({
  datasets: new DatasetsClient(ctx.client, { url: ctx.server.url }),
  tracking: new TrackingClient(ctx.client),
  registry: new RegistryClient(ctx.client, { uploader: httpBlobUploader({ url: ctx.server.url }) }),
  serving: new ServingClient(ctx.client),
  monitoring: new MonitoringClient(ctx.client),
  features: new FeaturesClient(ctx.client),
  explain: new ExplainClient(ctx.client),
  pipelines: new PipelinesClient(ctx.client),
  jobs: new JobsClient(ctx.client),
});

const fmt = (x: number, digits = 3) => x.toFixed(digits);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function column(table: Table, name: string): TableColumn {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw new Error(`${table.source} has no column ${name}`);
  return c;
}

/** A loans file joined point-in-time to the customer features, its text columns one-hot encoded. */
async function trainingTable(ctx: StoryContext, file: string, name: string): Promise<Table> {
  const { features } = clients(ctx);
  const raw = join(ctx.outDir, `${name}.raw.csv`);
  await features.historicalToFile(file, raw, { featureService: FEATURE_SERVICE, timestampColumn: 'event_timestamp' });
  const table = await readTable(raw);
  ctx.state.encoding ??= encodingOf(table, [...IDS, LABEL]);
  return encodeTable(table, ctx.state.encoding, [...IDS, LABEL]);
}

/** Request inputs for rows of a training table: the join key and every model input no feature supplies. */
function requestInputs(ctx: StoryContext, table: Table): TrafficInput[] {
  const served = new Set(ctx.state.served!);
  return [
    { name: 'customer_id', datatype: 'INT64', values: column(table, 'customer_id').values as Float64Array },
    ...ctx.state.encoding!.featureNames.filter((f) => !served.has(f)).map((f): TrafficInput => ({ name: f, datatype: 'FP32', values: column(table, f).values as Float64Array })),
  ];
}

function ids(table: Table, suffix = ''): string[] {
  return (column(table, 'loan_id').values as string[]).map((id) => `${id}${suffix}`);
}

function labels(table: Table, suffix = ''): { request_id: string; label: string }[] {
  const target = column(table, LABEL).values;
  return ids(table, suffix).map((request_id, i) => ({ request_id, label: String(target[i]) }));
}

/**
 * What a decision earned, as the A/B test's reward: a loan the model approves (probability of
 * default under 0.3) earns 1 when repaid and loses 4 when it defaults; a declined loan earns 0.
 */
function rewards(table: Table, traffic: TrafficResult, suffix: string): { request_id: string; value: number }[] {
  const target = column(table, LABEL).values;
  return ids(table, suffix).flatMap((request_id, i) => {
    const p = traffic.predictions.get(request_id);
    if (p === undefined) return [];
    return [{ request_id, value: p >= 0.3 ? 0 : Number(target[i]) === 1 ? -4 : 1 }];
  });
}

async function waitReady(serving: ServingClient, name: string) {
  for (let i = 0; i < 600; i++) {
    const d = await serving.get(name);
    if (d.state === 'ready') return d;
    if (d.state === 'failed') throw new Error(`deployment ${name} failed to load: ${d.message ?? 'no reason given'}`);
    await sleep(100);
  }
  throw new Error(`deployment ${name} was not ready within 60 s`);
}

interface RolloutJson {
  id: string;
  state: string;
  steps: number[];
  step: number;
  reason?: string;
  created_ms?: number;
  updated_ms?: number;
  events?: { at_ms: number; what: string }[];
}

async function rolloutOf(ctx: StoryContext): Promise<RolloutJson> {
  const { rollout } = await ctx.client.request<{ rollout: RolloutJson | null }>({ method: 'GET', path: `/api/v1/deployments/${MODEL}/rollout` });
  if (!rollout) throw new Error(`deployment ${MODEL} has no rollout`);
  return rollout;
}

/** Sends rounds of traffic (and their outcomes) until the rollout has ended. */
async function driveRollout(ctx: StoryContext, table: Table, tag: string, withRewards: boolean): Promise<RolloutJson> {
  const { monitoring } = clients(ctx);
  for (let round = 0; round < 40; round++) {
    const suffix = `:${tag}${round}`;
    const traffic = await sendTraffic(ctx.client, MODEL, ids(table, suffix), requestInputs(ctx, table), { concurrency: 8 });
    const items = withRewards ? rewards(table, traffic, suffix) : labels(table, suffix).filter((l) => traffic.predictions.has(l.request_id));
    if (items.length > 0) await monitoring.feedback(items);
    // The server judges a running rollout once a second.
    await sleep(1100);
    const r = await rolloutOf(ctx);
    ctx.say(`  round ${round + 1}: ${traffic.requests} requests (${traffic.errors} errors) → rollout ${r.state}${r.state === 'running' ? `, canary at ${r.steps[r.step]}%` : ''}`);
    if (r.state !== 'running') return r;
  }
  throw new Error('the rollout did not end within 40 rounds of traffic');
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
    title: 'Define the loans features (entity customer_id), build a point-in-time correct training set through them, and materialize them online',
    async run(ctx) {
      const { features, datasets } = clients(ctx);
      mkdirSync(ctx.outDir, { recursive: true });
      const applied = await features.apply(await loadFeatureFile(loansFile('features.yaml')));
      ctx.say(`feature registry version ${applied.version}: entity customer, view customer_stats (TTL 60d), on-demand view loan_ratios, service ${FEATURE_SERVICE}`);
      const table = await trainingTable(ctx, loansFile('loans.csv'), 'training-h1');
      const file = join(ctx.outDir, 'training-h1.csv');
      await writeCsv(file, table);
      const { version } = await datasets.register(TRAINING, file, { description: 'loans H1 2025 joined point-in-time to customer_stats, one-hot encoded' });
      const served = ['avg_balance_30d', 'num_late_payments_90d', 'utilization'];
      const missing = served.map((f) => (column(table, f).values as Float64Array).filter(Number.isNaN).length);
      ctx.say(`${TRAINING}@${version.version}: ${table.rowCount} rows, each loan joined to the customer's latest snapshot at or before its time (${missing[0]} loans had none within the TTL)`);
      const views = await features.materialize({ end: '2025-09-01T00:00:00Z' });
      ctx.say(`materialized online: ${views.map((v) => `${v.view} ${v.written} entities`).join(', ')}`);
      // The demo replays 2025 today: the newest snapshot of each customer is pushed with today's
      // time, as a stream would, so the 60-day TTL keeps it.
      const snapshots = await readTable(loansFile('customer_features.csv'));
      const latest = new Map<number, number>();
      const customers = column(snapshots, 'customer_id').values as Float64Array;
      for (let i = 0; i < snapshots.rowCount; i++) latest.set(customers[i], i);
      const rows = [...latest.values()];
      const now = new Date().toISOString();
      const pick = (name: string) => rows.map((i) => (column(snapshots, name).values as Float64Array)[i]);
      const pushed = await features.push('customer_stats', {
        customer_id: pick('customer_id'),
        event_timestamp: rows.map(() => now),
        created_timestamp: rows.map(() => now),
        ...Object.fromEntries(served.map((f) => [f, pick(f)])),
      });
      ctx.say(`pushed the newest snapshot of ${pushed.written} customers with today's time (the demo replays 2025 data now)`);
      ctx.state.served = served;
      ctx.state.training = table;
      ctx.facts['training set'] = `${TRAINING}@${version.version} (${table.rowCount} rows, ${ctx.state.encoding!.featureNames.length} features)`;
    },
  },
  {
    title: 'Tune and train candidates with the built-in trainer and TPE search: every trial is a tracked run with its curve',
    async run(ctx) {
      const tracker = new ClientTrainingTracker(ctx.client, { url: ctx.server.url });
      const result = await runStudy(
        {
          file: join(ctx.outDir, 'training-h1.csv'),
          target: LABEL,
          drop: IDS,
          split: 'tail',
          validFraction: 0.2,
          space: defaultSpace('gbdt'),
          params: { n_estimators: 150, early_stopping_rounds: 15 },
          sampler: 'tpe',
          trials: 8,
          seed: 7,
          experiment: EXPERIMENT,
          study: 'loan-default-tpe',
          dataset: TRAINING,
          onTrial: (t) => ctx.say(`trial ${t.number}: ${t.state}${t.value === undefined ? '' : `, validation roc_auc ${fmt(t.value, 4)}`} (${Object.entries(t.params).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(3) : v}`).join(' ')})`),
        },
        tracker,
      );
      ctx.say(`best: trial ${result.best!.number}, validation roc_auc ${fmt(result.best!.value!, 4)} (study run ${result.parentRunId})`);
      ctx.state.params = Object.fromEntries(Object.entries(result.best!.params).map(([k, v]) => [k, String(v)]));
      ctx.facts.study = `loan-default-tpe: ${result.trials.length} trials, best roc_auc ${fmt(result.best!.value!, 4)} (run ${result.bestRunId})`;
      const registered = await registerFitted(tracker, MODEL, result.bestFitted!, result.encoding, { runId: result.bestRunId, dataset: `${TRAINING}@1` });
      ctx.facts['best run'] = result.bestRunId!;
      ctx.state.version = registered.version;
    },
  },
  {
    title: 'Register the best as version 1 with lineage, alias it champion, and compute its global explanation',
    async run(ctx) {
      const { registry, explain } = clients(ctx);
      const version = ctx.state.version!;
      await registry.setAlias(MODEL, 'champion', version);
      const lineage = await registry.lineage(MODEL, version);
      ctx.say(`${MODEL} version ${version} @champion; lineage: ${lineage.nodes.map((n) => `${n.kind} ${n.label}`).join(' → ')}`);
      const importance = await explain.computeImportance(MODEL, version, { dataset: `${TRAINING}@1`, label: LABEL, rows: 100, background_size: 50, repeats: 1, seed: 1 });
      const shap = importance.shap!;
      const top = shap.featureNames.map((name, i) => ({ name, mean: shap.mean[i] })).sort((a, b) => b.mean - a.mean).slice(0, 5);
      ctx.say(`global explanation (mean |SHAP| over ${shap.rows} rows): ${top.map((f) => `${f.name} ${fmt(f.mean, 3)}`).join(', ')}`);
      ctx.facts.model = `${MODEL} version ${version} @champion`;
    },
  },
  {
    title: 'Deploy it with a feature lookup, send live traffic with customer ids, and explain one logged prediction by its request id',
    async run(ctx) {
      const { serving, monitoring, features, explain } = clients(ctx);
      await serving.deploy({ name: MODEL, model: MODEL, alias: 'champion' });
      const bound = await features.bindDeployment(MODEL, FEATURE_SERVICE);
      const deployment = await waitReady(serving, MODEL);
      ctx.say(`deployment ${MODEL} follows alias champion (version ${deployment.variants[0]?.serving_version}); requests carry ${Object.keys(bound.keys).join(', ')} and the feature store adds ${ctx.state.served!.join(', ')}`);
      // The last 2,000 loans of H1: from the validation period, which no trial trained on.
      const period = sliceTable(ctx.state.training!, ctx.state.training!.rowCount - 2000);
      const reference = await sendTraffic(ctx.client, MODEL, ids(period), requestInputs(ctx, period), { concurrency: 16 });
      if (reference.errors > 0) throw new Error(`${reference.errors} of the reference requests failed`);
      ctx.say(`${reference.requests} requests in ${fmt(reference.seconds, 1)} s: ${Math.round(reference.perSecond)} req/s, p50 ${fmt(reference.p50Ms, 2)} ms, p99 ${fmt(reference.p99Ms, 2)} ms`);
      await monitoring.feedback(labels(period));
      const first = ids(period)[0];
      const why = await explain.explainLogged(first);
      const attributions = (why.outputs.find((o) => o.name === 'attributions')?.data ?? []) as number[];
      const shown = why.feature_names
        .map((name, i) => ({ name, value: attributions[i] ?? 0 }))
        .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
        .slice(0, 4)
        .map((f) => `${f.name} ${f.value >= 0 ? '+' : ''}${fmt(f.value, 3)}`);
      ctx.say(`explained logged request ${first} (version ${why.model_version}, ${why.method} SHAP, margin): ${shown.join(', ')}`);
      ctx.facts['explained request'] = first;
      ctx.state.reference = reference;
      ctx.facts.deployment = `${MODEL} → ${ctx.server.url}/v2/models/${MODEL}/infer`;
      ctx.facts['reference traffic'] = `${Math.round(reference.perSecond)} req/s, p99 ${fmt(reference.p99Ms, 2)} ms`;
    },
  },
  {
    title: 'Shift the incoming data: the drift monitor fires, and the performance monitor fires once late labels arrive',
    async run(ctx) {
      const { monitoring, pipelines, datasets } = clients(ctx);
      const reference = ctx.state.reference!;
      // The retraining pipeline waits for a drift alert of this deployment.
      await pipelines.save(retrainingPipeline(ctx.state.params!));
      await pipelines.trigger(PIPELINE, { kind: 'alert', deployment: MODEL, alertKind: 'drift' });
      ctx.say(`pipeline ${PIPELINE} saved, triggered by a drift alert of ${MODEL}`);
      const shifted = await trainingTable(ctx, loansFile('loans_shifted.csv'), 'training-shifted');
      await monitoring.createMonitor({
        name: `${MODEL}-drift`,
        deployment: MODEL,
        kind: 'drift',
        intervalSeconds: 3600,
        drift: { reference: { window: { from: reference.startedAt, to: reference.endedAt + 1 } }, maxRows: shifted.rowCount, driftShare: 0.2 },
      });
      // The performance window below starts after the reference traffic ends.
      await sleep(1100);
      // Every other summer loan is replayed: enough for the monitors, half the time.
      const replayed = { ...shifted, rowCount: Math.ceil(shifted.rowCount / 2), columns: shifted.columns.map((c) => ({ ...c, values: c.values.filter((_, i) => i % 2 === 0) }) as TableColumn) };
      const traffic = await sendTraffic(ctx.client, MODEL, ids(replayed), requestInputs(ctx, replayed), { concurrency: 16 });
      ctx.say(`${traffic.requests} shifted requests (July–August 2025) in ${fmt(traffic.seconds, 1)} s`);
      const fed = await monitoring.feedback(labels(replayed));
      ctx.say(`posted ${replayed.rowCount} late labels as feedback (${fed.accepted} joined)`);
      // Retraining uses a sliding window: the newest 10,000 labelled loans, half of them from the summer.
      const all = concatTables(ctx.state.training!, shifted);
      const fresh = sliceTable(all, all.rowCount - 10_000);
      const file = join(ctx.outDir, 'training-fresh.csv');
      await writeCsv(file, fresh);
      const { version } = await datasets.register(TRAINING, file, { description: 'the newest 10,000 labelled loans (to 2025-08), joined to customer_stats' });
      ctx.say(`${TRAINING}@${version.version}: the newest ${fresh.rowCount} labelled loans, the retraining window`);

      const window = Math.ceil((Date.now() - traffic.startedAt) / 1000);
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
      const after = await monitoring.performance(MODEL, { from: traffic.startedAt, to: traffic.endedAt + 1, ...spec });
      const metric = (w: typeof before, name: string) => {
        const m = w[0]?.metrics.find((x) => x.name === name);
        return m && m.computed ? m.value : NaN;
      };
      ctx.say(`ROC AUC: reference ${fmt(metric(before, 'roc_auc'))} → shifted ${fmt(metric(after, 'roc_auc'))}`);
      const perf = await monitoring.runMonitor(`${MODEL}-auc`);
      ctx.say(`performance check: ${perf.status}: ${perf.message}`);
      const drift = await monitoring.runMonitor(`${MODEL}-drift`);
      ctx.say(`drift check: ${drift.status}: ${drift.message}`);
      const alerts = await monitoring.alerts({ deployment: MODEL, state: 'firing' });
      for (const a of alerts) ctx.say(`ALERT ${a.kind} firing: ${a.message.slice(0, 140)}`);
      const html = await monitoring.report(drift.id);
      const reportPath = join(ctx.outDir, 'drift-report.html');
      writeFileSync(reportPath, html);
      ctx.say(`HTML drift report: ${reportPath}`);
      ctx.facts.alerts = alerts.map((a) => `${a.kind} (${a.id})`).join(', ') || 'none';
      ctx.facts['drift report'] = reportPath;
      ctx.facts['ROC AUC'] = `${fmt(metric(before, 'roc_auc'))} → ${fmt(metric(after, 'roc_auc'))}`;
    },
  },
  {
    title: 'The drift alert triggers the retraining pipeline: a challenger trained on fresh data passes the gate against the champion and is registered as version 2',
    async run(ctx) {
      const { pipelines } = clients(ctx);
      let started: RunView | undefined;
      for (let i = 0; i < 300 && !started; i++) {
        started = (await pipelines.listRuns({ pipeline: PIPELINE })).find((r) => r.trigger.startsWith('alert:'));
        if (!started) await sleep(200);
      }
      if (!started) throw new Error(`the drift alert did not start ${PIPELINE} within 60 s`);
      ctx.say(`run ${started.id} started by ${started.trigger}`);
      const run = await pipelines.wait(started.id);
      for (const s of run.steps) {
        const metrics = Object.entries(s.metrics).filter(([k]) => /^(val_roc_auc|roc_auc|log_loss|gate_delta|gate_passed)$/.test(k));
        ctx.say(`  ${s.name.padEnd(8)} ${s.status}${metrics.length ? ` (${metrics.map(([k, v]) => `${k} ${fmt(v, 4)}`).join(', ')})` : ''}`);
      }
      if (run.status !== 'succeeded') throw new Error(`pipeline run ${run.id} ${run.status}: ${run.error}`);
      for (const line of (await pipelines.logs(run.id, 'gate')).trimEnd().split('\n').slice(0, 4)) ctx.say(`  gate: ${line}`);
      ctx.state.run = run;
      ctx.facts['pipeline run'] = `${run.id} (${run.steps.length} steps, ${run.status})`;
    },
  },
  {
    title: 'Version 2 goes out as a canary judged on live metrics (time compressed: 0 s minimum per step instead of 5 min) with an A/B test; a broken version 3 is rolled back by its canary gate',
    async run(ctx) {
      const { registry } = clients(ctx);
      const holdout = sliceTable(ctx.state.training!, ctx.state.training!.rowCount - 300);
      const promoted = await driveRollout(ctx, holdout, 'v2-', true);
      if (promoted.state !== 'promoted') throw new Error(`the canary of version 2 ended ${promoted.state}: ${promoted.reason}`);
      const champion = await registry.getVersion(MODEL, 'champion');
      for (const e of promoted.events ?? []) ctx.say(`  rollout: ${e.what}`);
      ctx.say(`version 2 promoted to 100%; alias champion → version ${champion.version}`);
      const ab = await ctx.client.request<{ kind: string; alpha: number; arms: { variant: string; n: number; mean: number }[]; comparisons: { variant: string; control: string; test: string; diff: number; ci: [number, number]; p_value: number; sequential_p_value: number }[] }>({
        method: 'GET',
        path: `/api/v1/deployments/${MODEL}/ab`,
        query: { from: promoted.created_ms, to: promoted.updated_ms },
      });
      for (const arm of ab.arms) ctx.say(`  A/B arm ${arm.variant}: ${arm.n} decisions, mean reward ${fmt(arm.mean, 3)}`);
      for (const c of ab.comparisons) {
        const level = Math.round((1 - ab.alpha) * 100);
        ctx.say(`  A/B ${c.variant} − ${c.control}: ${c.diff >= 0 ? '+' : ''}${fmt(c.diff, 3)} reward per decision, ${level}% CI [${fmt(c.ci[0], 3)}, ${fmt(c.ci[1], 3)}] (${c.test}, p ${fmt(c.p_value, 3)}; always-valid p ${fmt(c.sequential_p_value, 3)})`);
      }
      ctx.facts['A/B'] = ab.comparisons.map((c) => `${c.variant} − ${c.control} ${fmt(c.diff, 3)} [${fmt(c.ci[0], 3)}, ${fmt(c.ci[1], 3)}]`).join('; ');
      const broken = await registerBroken(ctx);
      ctx.say(`version ${broken} (a deliberately broken build: it fails on loans with credit_score above 720) goes out as a canary`);
      await ctx.client.request({ method: 'POST', path: `/api/v1/deployments/${MODEL}/rollout`, body: { version: broken, steps: [50, 100], min_step_seconds: 0, min_requests: 50 } });
      const rolled = await driveRollout(ctx, holdout, 'v3-', false);
      if (rolled.state !== 'rolled_back') throw new Error(`the broken canary ended ${rolled.state}`);
      ctx.say(`version ${broken} rolled back: ${rolled.reason}`);
      ctx.facts.rollouts = `version 2 ${promoted.state} (${promoted.id}), version ${broken} ${rolled.state} (${rolled.id})`;
    },
  },
  {
    title: 'Score a table of loans offline with a batch job on the server (each loan keeps its ids beside its prediction), and export the champion as an edge bundle that scores without modelport',
    async run(ctx) {
      const { datasets, jobs, registry } = clients(ctx);
      const inputs = ctx.state.encoding!.featureNames;
      const table = ctx.state.training!;
      const applications: Table = { ...table, columns: ['loan_id', 'customer_id', ...inputs].map((name) => column(table, name)) };
      const file = join(ctx.outDir, `${APPLICATIONS}.csv`);
      await writeCsv(file, applications);
      const { version } = await datasets.register(APPLICATIONS, file, { description: 'loans to score in batch: ids and model inputs, no label' });
      const submitted = await jobs.submit({ deployment: MODEL, input: { dataset: `${APPLICATIONS}@${version.version}` }, output_format: 'csv', keep: ['loan_id', 'customer_id'] });
      const job = await jobs.wait(submitted.id);
      if (job.state !== 'succeeded') throw new Error(`batch job ${job.id} ended ${job.state}: ${job.error ?? ''}`);
      const seconds = (job.finished_ms! - job.started_ms!) / 1000;
      ctx.say(`batch job ${job.id}: ${job.rows_done} loans of ${APPLICATIONS}@${version.version} scored by ${job.model} in ${fmt(seconds, 2)} s (${Math.round(job.rows_done / seconds)} rows/s)`);
      const scoredFile = join(ctx.outDir, `${APPLICATIONS}-scored.csv`);
      writeFileSync(scoredFile, await jobs.output(job.id));
      const scored = await readTable(scoredFile);
      ctx.say(`  output: ${scoredFile} (${job.output!.bytes} bytes), columns ${scored.columns.map((c) => c.name).join(', ')}`);

      const champion = (await registry.getVersion(MODEL, 'champion')).version;
      const dir = join(ctx.outDir, 'edge-bundle');
      const exported = await exportVersion(ctx.client, MODEL, champion, 'bundle', dir);
      ctx.say(`edge bundle of ${MODEL} version ${champion}: ${exported.files.map((f) => basename(f)).join(', ')} in ${dir}`);
      const agreement = await bundleAgreement(dir, applications, scored, 100);
      ctx.say(`  its model.mjs scored the first ${agreement.rows} loans here with onnxruntime-node; largest difference from the batch job's ${agreement.output}: ${agreement.maxDiff === 0 ? '0 (identical)' : agreement.maxDiff.toExponential(1)}`);
      if (agreement.maxDiff > 1e-5) throw new Error(`the edge bundle's ${agreement.output} differs from the batch job's by ${agreement.maxDiff}`);
      ctx.facts['batch job'] = `${job.id}: ${job.rows_done} rows → ${scoredFile}`;
      ctx.facts['edge bundle'] = dir;
    },
  },
];

/**
 * Runs the exported bundle's own module on the first `rows` loans, as a user of the bundle would
 * (onnxruntime-node, rows as objects of inputs), and compares its first output with the batch job's.
 */
async function bundleAgreement(dir: string, applications: Table, scored: Table, rows: number): Promise<{ rows: number; output: string; maxDiff: number }> {
  const ort = await import('onnxruntime-node');
  const { load } = (await import(pathToFileURL(join(dir, 'model.mjs')).href)) as { load(ort: unknown, model: Uint8Array, signature: unknown): Promise<{ predict(rows: object[]): Promise<Record<string, number | number[]>[]> }> };
  const signature = JSON.parse(readFileSync(join(dir, 'signature.json'), 'utf8')) as { inputs: { name: string }[]; outputs: { name: string }[]; features?: string[] };
  const model = await load(ort, readFileSync(join(dir, 'model.onnx')), signature);
  const n = Math.min(rows, applications.rowCount);
  // A tree model's bundle takes one vector input whose elements it names: rows of features by name.
  const names = signature.features ?? signature.inputs.map((s) => s.name);
  const objects = Array.from({ length: n }, (_, r) => Object.fromEntries(names.map((name) => [name, column(applications, name).values[r] as number])));
  const predicted = await model.predict(objects);
  const output = signature.outputs.map((o) => o.name).find((name) => scored.columns.some((c) => c.name === name));
  if (output === undefined) throw new Error(`the batch output has none of the bundle's outputs (${signature.outputs.map((o) => o.name).join(', ')})`);
  const batch = column(scored, output).values;
  let maxDiff = 0;
  for (let r = 0; r < n; r++) {
    const edge = predicted[r][output];
    const diff = Math.abs((Array.isArray(edge) ? edge[0] : edge) - Number(batch[r]));
    // NaN (a cell that is not one number) must fail the comparison, not slip past Math.max.
    maxDiff = Number.isNaN(diff) ? Infinity : Math.max(maxDiff, diff);
  }
  return { rows: n, output, maxDiff };
}

/** The retraining pipeline: built-in steps from the fresh data to a canary. */
function retrainingPipeline(params: Record<string, string>): PipelineSpec {
  return {
    name: PIPELINE,
    description: 'retrain loan-default on the newest labelled data, gate it against the champion and start its canary',
    params: { dataset_version: 'latest' },
    concurrency: 'skip',
    steps: [
      { name: 'load', uses: 'dataset.load', with: { dataset: TRAINING, version: '${params.dataset_version}' } },
      { name: 'split', uses: 'split', inputs: ['load/data.csv'], with: { method: 'time', column: 'event_timestamp', testFraction: 0.25 } },
      { name: 'train', uses: 'train', inputs: ['split/train.csv'], with: { target: LABEL, drop: IDS, validFraction: 0.2, params: { n_estimators: 150, early_stopping_rounds: 15, ...params } } },
      { name: 'register', uses: 'model.register', needs: ['train', 'load'], with: { model: MODEL, from: 'train', path: 'model', flavor: 'xgboost' } },
      { name: 'evaluate', uses: 'evaluate', needs: ['register', 'split'], with: { model: MODEL, label: LABEL } },
      { name: 'gate', uses: 'gate', needs: ['register', 'split'], with: { model: MODEL, against: 'champion', metric: 'roc_auc', minDelta: 0, label: LABEL, maxLatencyMs: 50 } },
      {
        name: 'rollout',
        uses: 'rollout',
        needs: ['gate', 'register'],
        // A canary's first requests pay its load and warm-up, and the quickstart often runs on a
        // busy laptop or CI box: a second of p99 slack keeps that noise from failing a good
        // challenger, while a canary that errors or hangs is still stopped.
        with: { deployment: MODEL, steps: [50, 100], minStepSeconds: 0, minRequests: 200, moveAlias: 'champion', gates: { p99SlackMs: 1000 } },
      },
    ],
  };
}

/** Version 3: a JS model with the champion's inputs whose new code path throws. */
async function registerBroken(ctx: StoryContext): Promise<number> {
  const { registry } = clients(ctx);
  const dir = join(ctx.outDir, 'broken-model');
  mkdirSync(dir, { recursive: true });
  const inputs = ctx.state.encoding!.featureNames.map((name) => ({ name, dtype: 'float32', shape: [] }));
  writeFileSync(
    join(dir, 'model.mjs'),
    `export const signature = { inputs: ${JSON.stringify(inputs)}, outputs: [{ name: 'prediction', dtype: 'float32', shape: [] }] };
export function load() {
  return {
    predict(batch) {
      const score = batch.column('credit_score').data;
      const out = new Float32Array(batch.rows);
      for (let i = 0; i < batch.rows; i++) {
        if (score[i] > 720) throw new Error('no scaling table for credit_score above 720');
        out[i] = 0.1;
      }
      return { prediction: { dtype: 'float32', shape: [], data: out } };
    },
  };
}
`,
  );
  const version = await registry.register(MODEL, dir, { flavor: 'js', description: 'a deliberately broken build for the canary demo' });
  return Number(version.version);
}
