/**
 * Monitors per deployment and their scheduled checks. Drift compares a reference (a file or
 * rows copied into the blob store, or a window of logged inputs) with the latest window of
 * logged inputs through analyzeDrift and keeps the HTML report; performance evaluates a metric
 * over the latest window of labelled predictions against bounds. A check that finds the
 * condition raises the monitor's alert; a passing check resolves it; a skipped one (no data)
 * leaves it as it is. Due-ness comes from the Clock; replicas claim a run by moving its
 * next_run_ms, so each run happens once.
 */
import type { SecretBox } from '../../core/secret-box.js';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { alreadyExists, invalidArgument, isModelportError, notFound } from '../../core/errors.js';
import type { BlobStore } from '../../storage/blobs.js';
import { readBlob } from '../../storage/blobs.js';
import { isUniqueViolation } from '../../storage/metadata.js';
import { analyzeDriftYielding, type DriftOptions, type DriftReport, type DriftTable } from '../drift/index.js';
import { renderDriftHtml } from '../report/index.js';
import type { Alerts } from '../alerts/alerts.js';
import { reportUrl } from '../alerts/alerts.js';
import { checkWebhookUrl } from '../../core/webhook-security.js';
import type { AlertTables } from '../alerts/tables.js';
import type { WebhookTarget } from '../alerts/types.js';
import type { FeedbackStore } from '../feedback/feedback.js';
import type { FeedbackTables } from '../feedback/tables.js';
import type { PredictionLog } from '../log/prediction-log.js';
import type { LogTables } from '../log/tables.js';
import { evaluate, metricValue } from '../performance/index.js';
import { outputSpecOf } from './concept.js';
import { readDataset, readReferenceFile, recordsToTable, tableFromJson, tableToJson, type DatasetSource, type SkippedInput } from './frames.js';
import type { Check, CheckStatus, DriftConfig, Monitor, MonitorInput, MonitorKind, MonitorPatch, MonitorState, PerformanceConfig, ConceptDriftConfig } from './schema.js';
import type { MonCheckTable, MonMonitorTable, MonitorTables } from './tables.js';

type Tables = MonitorTables & LogTables & FeedbackTables & AlertTables;

const HOUR_S = 3600;
// Rows are parsed on the serving thread: 20 000 keeps a check's stall short and the tests' power high.
const DEFAULT_MAX_ROWS = 20_000;
const DEFAULT_MIN_ROWS = 30;

export interface MonitorsDeps {
  db: Kysely<Tables>;
  blobs: BlobStore;
  clock: Clock;
  log: PredictionLog;
  feedback: FeedbackStore;
  alerts: Alerts;
  /** Registered datasets, for `{dataset: name}` references (absent: such references are refused). */
  datasets?: DatasetSource;
  /** Webhook targets on loopback/private addresses are accepted (tests, single-host installs). */
  allowPrivateWebhookTargets?: boolean;
  /** Seals webhook signing secrets before they are stored. */
  secrets?: SecretBox;
}

interface Outcome {
  status: CheckStatus;
  message: string;
  summary: Record<string, unknown>;
  reportSha256?: string;
  severity?: 'warning' | 'critical';
}

type KindConfig = { drift?: DriftConfig; performance?: PerformanceConfig; conceptDrift?: ConceptDriftConfig };

/** The settings field each kind of monitor takes. */
const FIELD_OF: Record<MonitorKind, keyof KindConfig> = { drift: 'drift', performance: 'performance', concept_drift: 'conceptDrift' };

export const dedupKeyOf = (monitorId: string) => `monitor:${monitorId}`;

function parseTime(v: string | number, field: string): number {
  const ms = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw invalidArgument(`${field}: "${v}" is neither an ISO time nor epoch milliseconds`);
  return ms;
}

function toMonitor(row: MonMonitorTable): Monitor {
  const config = JSON.parse(row.config) as KindConfig;
  const webhooks = JSON.parse(row.webhooks) as WebhookTarget[];
  return {
    id: row.id,
    name: row.name,
    deployment: row.deployment,
    kind: row.kind as MonitorKind,
    enabled: row.enabled === 1,
    intervalSeconds: row.interval_ms / 1000,
    windowSeconds: row.window_ms / 1000,
    delaySeconds: row.delay_ms / 1000,
    ...(config.drift ? { drift: { ...config.drift, reference: describeReference(config.drift, row.reference_sha256) } } : {}),
    ...(config.performance ? { performance: config.performance } : {}),
    ...(config.conceptDrift ? { conceptDrift: config.conceptDrift } : {}),
    webhooks: webhooks.map((w) => ({ url: w.url, hasSecret: !!w.secret })),
    state: row.state as MonitorState,
    lastCheckId: row.last_check_id ?? undefined,
    nextRunAt: row.next_run_ms ?? undefined,
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
  };
}

/** Inline rows are not echoed back (they can be large); their stored copy is named instead. */
function describeReference(drift: DriftConfig, sha: string | null): unknown {
  const ref = drift.reference as Record<string, unknown>;
  if ('records' in ref) return { records: (ref.records as unknown[]).length, sha256: sha };
  if ('path' in ref || 'dataset' in ref) return { ...ref, sha256: sha };
  return ref;
}

function toCheck(row: MonCheckTable): Check {
  return {
    id: row.id,
    monitorId: row.monitor_id,
    deployment: row.deployment,
    kind: row.kind as MonitorKind,
    status: row.status as CheckStatus,
    message: row.message,
    windowFrom: row.window_from_ms,
    windowTo: row.window_to_ms,
    summary: JSON.parse(row.summary) as Record<string, unknown>,
    reportUrl: row.report_sha256 ? reportUrl(row.id) : undefined,
    alertId: row.alert_id ?? undefined,
    startedAt: row.started_ms,
    finishedAt: row.finished_ms,
  };
}

function driftOptions(c: DriftConfig): DriftOptions {
  return {
    columns: c.columns,
    method: c.method as DriftOptions['method'],
    numMethod: c.numMethod as DriftOptions['numMethod'],
    catMethod: c.catMethod as DriftOptions['catMethod'],
    threshold: c.threshold,
    driftShare: c.driftShare,
    perColumn: c.perColumn as DriftOptions['perColumn'],
    columnTypes: c.columnTypes,
  };
}

/** The per-column numbers a drift check keeps (and the metrics expose). */
export interface DriftColumnSummary {
  column: string;
  computed: boolean;
  method?: string;
  score?: number;
  threshold?: number;
  drift?: boolean;
  reason?: string;
}

function summarizeDrift(report: DriftReport, skipped: SkippedInput[]): Record<string, unknown> {
  const columns: DriftColumnSummary[] = report.columns.map((c) =>
    c.computed
      ? { column: c.column, computed: true, method: c.method, score: c.score, threshold: c.threshold, drift: c.drift }
      : { column: c.column, computed: false, reason: c.reason },
  );
  for (const s of skipped) columns.push({ column: s.column, computed: false, reason: s.reason });
  return { ...report.summary, referenceRows: report.reference.rows, currentRows: report.current.rows, columns };
}

export class Monitors {
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MonitorsDeps) {}

  private get db() {
    return this.deps.db;
  }

  private validateKind(input: { kind: MonitorKind } & KindConfig): KindConfig {
    const own = FIELD_OF[input.kind];
    const other = (Object.values(FIELD_OF) as (keyof KindConfig)[]).filter((k) => k !== own && input[k] !== undefined);
    if (other.length > 0) throw invalidArgument(`${other[0]}: a ${input.kind} monitor takes only the "${own}" settings`);
    if (input.kind === 'drift' && !input.drift) throw invalidArgument('drift: a drift monitor needs drift.reference');
    if (input.kind === 'performance') {
      const p = input.performance;
      if (!p) throw invalidArgument('performance: a performance monitor needs performance.metric and a min or max');
      if (p.min === undefined && p.max === undefined) throw invalidArgument(`performance: give min and/or max for ${p.metric}`);
      if (p.min !== undefined && p.max !== undefined && p.min > p.max) throw invalidArgument(`performance: min ${p.min} is above max ${p.max}`);
    }
    return { drift: input.drift, performance: input.performance, conceptDrift: input.conceptDrift ?? (input.kind === 'concept_drift' ? {} : undefined) };
  }

  private checkWebhooks(targets: WebhookTarget[] | undefined): Promise<WebhookTarget[]> {
    const allow = this.deps.allowPrivateWebhookTargets ?? false;
    return Promise.all(
      (targets ?? []).map(async (t, i) => ({ url: await checkWebhookUrl(t.url, `webhooks[${i}].url`, allow), ...(t.secret ? { secret: this.deps.secrets?.seal(t.secret) ?? t.secret } : {}) })),
    );
  }

  /** Copies a file or inline reference into the blob store; a window reference is checked only. */
  private async storeReference(drift: DriftConfig): Promise<{ sha256: string | null; drift: DriftConfig }> {
    const ref = drift.reference;
    if ('window' in ref) {
      const from = parseTime(ref.window.from, 'drift.reference.window.from');
      const to = parseTime(ref.window.to, 'drift.reference.window.to');
      if (!(to > from)) throw invalidArgument('drift.reference.window: "to" must be after "from"');
      return { sha256: null, drift };
    }
    let table: DriftTable;
    // What is stored is what the checks compare against; inline rows are not kept twice.
    let stored: DriftConfig = drift;
    if ('path' in ref) table = await readReferenceFile(ref.path);
    else if ('dataset' in ref) {
      if (!this.deps.datasets) throw invalidArgument('drift.reference.dataset: datasets are not available in this server');
      const read = await readDataset(this.deps.datasets, ref.dataset, ref.version);
      table = read.table;
      stored = { ...drift, reference: { dataset: ref.dataset, version: read.version } };
    } else {
      table = recordsToTable(ref.records, 'reference rows').table;
      stored = { ...drift, reference: { records: [] } };
    }
    const { sha256 } = await this.deps.blobs.put(tableToJson(table));
    return { sha256, drift: stored };
  }

  async create(input: MonitorInput): Promise<Monitor> {
    const config = this.validateKind(input);
    const webhooks = await this.checkWebhooks(input.webhooks);
    let referenceSha: string | null = null;
    if (config.drift) ({ sha256: referenceSha, drift: config.drift } = await this.storeReference(config.drift));
    const now = this.deps.clock.now();
    const interval = (input.intervalSeconds ?? HOUR_S) * 1000;
    const row: MonMonitorTable = {
      id: randomUUID(),
      name: input.name,
      deployment: input.deployment,
      kind: input.kind,
      enabled: input.enabled === false ? 0 : 1,
      interval_ms: interval,
      window_ms: (input.windowSeconds ?? input.intervalSeconds ?? HOUR_S) * 1000,
      delay_ms: (input.delaySeconds ?? 0) * 1000,
      config: JSON.stringify(config),
      webhooks: JSON.stringify(webhooks),
      reference_sha256: referenceSha,
      state: 'unknown',
      last_check_id: null,
      next_run_ms: input.kind === 'concept_drift' ? null : now + interval,
      created_ms: now,
      updated_ms: now,
    };
    try {
      await this.db.insertInto('mon_monitor').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`monitor "${input.name}" already exists`);
      throw err;
    }
    return toMonitor(row);
  }

  private async row(idOrName: string): Promise<MonMonitorTable> {
    const row = await this.db.selectFrom('mon_monitor').selectAll().where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
    if (!row) throw notFound(`monitor "${idOrName}" does not exist`);
    return row;
  }

  async get(idOrName: string): Promise<Monitor> {
    return toMonitor(await this.row(idOrName));
  }

  async list(query: { deployment?: string; kind?: MonitorKind } = {}): Promise<Monitor[]> {
    let q = this.db.selectFrom('mon_monitor').selectAll();
    if (query.deployment) q = q.where('deployment', '=', query.deployment);
    if (query.kind) q = q.where('kind', '=', query.kind);
    return (await q.orderBy('name').execute()).map(toMonitor);
  }

  async update(idOrName: string, patch: MonitorPatch): Promise<Monitor> {
    const current = await this.row(idOrName);
    const kind = current.kind as MonitorKind;
    const config = JSON.parse(current.config) as KindConfig;
    const merged = this.validateKind({
      kind,
      ...config,
      ...(patch.drift ? { drift: patch.drift } : {}),
      ...(patch.performance ? { performance: patch.performance } : {}),
      ...(patch.conceptDrift ? { conceptDrift: patch.conceptDrift } : {}),
    });
    const now = this.deps.clock.now();
    const next: Partial<MonMonitorTable> = { updated_ms: now };
    // A new reference (file, dataset, rows or window) is read and stored as at creation.
    if (patch.drift && merged.drift) ({ sha256: next.reference_sha256, drift: merged.drift } = await this.storeReference(merged.drift));
    next.config = JSON.stringify(merged);
    if (patch.intervalSeconds !== undefined) {
      next.interval_ms = patch.intervalSeconds * 1000;
      if (kind !== 'concept_drift') next.next_run_ms = now + next.interval_ms;
    }
    if (patch.windowSeconds !== undefined) next.window_ms = patch.windowSeconds * 1000;
    if (patch.delaySeconds !== undefined) next.delay_ms = patch.delaySeconds * 1000;
    if (patch.enabled !== undefined) next.enabled = patch.enabled ? 1 : 0;
    if (patch.webhooks !== undefined) next.webhooks = JSON.stringify(await this.checkWebhooks(patch.webhooks));
    await this.db.updateTable('mon_monitor').set(next).where('id', '=', current.id).execute();
    return toMonitor({ ...current, ...next });
  }

  /** Deletes the monitor and its checks; its firing alert is resolved. */
  async delete(idOrName: string): Promise<void> {
    const row = await this.row(idOrName);
    await this.deps.alerts.resolveKey(dedupKeyOf(row.id), `monitor ${row.name} was deleted`, JSON.parse(row.webhooks) as WebhookTarget[]);
    await this.db.deleteFrom('mon_monitor').where('id', '=', row.id).execute();
  }

  /** Webhook targets of every monitor of a deployment (for alerts no single monitor owns). */
  async deploymentTargets(deployment: string): Promise<WebhookTarget[]> {
    const rows = await this.db.selectFrom('mon_monitor').select('webhooks').where('deployment', '=', deployment).execute();
    const byUrl = new Map<string, WebhookTarget>();
    for (const r of rows) for (const t of JSON.parse(r.webhooks) as WebhookTarget[]) if (!byUrl.has(t.url)) byUrl.set(t.url, t);
    return [...byUrl.values()];
  }

  /** The raw stored rows of a deployment's monitors of a kind (concept-drift settings). */
  async configsOf(deployments: readonly string[]): Promise<{ id: string; deployment: string; kind: MonitorKind; enabled: boolean; config: KindConfig; webhooks: WebhookTarget[] }[]> {
    if (deployments.length === 0) return [];
    const rows = await this.db.selectFrom('mon_monitor').selectAll().where('deployment', 'in', [...deployments]).execute();
    return rows.map((r) => ({
      id: r.id,
      deployment: r.deployment,
      kind: r.kind as MonitorKind,
      enabled: r.enabled === 1,
      config: JSON.parse(r.config) as KindConfig,
      webhooks: JSON.parse(r.webhooks) as WebhookTarget[],
    }));
  }

  /** Runs one check now (whatever its schedule) and returns it. */
  async run(idOrName: string): Promise<Check> {
    const row = await this.row(idOrName);
    if (row.kind === 'concept_drift') throw invalidArgument(`monitor ${row.name} watches feedback as it arrives; it has no scheduled check to run`);
    return this.serialize(() => this.check(row));
  }

  /** Runs every enabled monitor whose next run is due by the clock; returns the checks made. */
  runDue(): Promise<Check[]> {
    return this.serialize(async () => {
      const now = this.deps.clock.now();
      const due = await this.db
        .selectFrom('mon_monitor')
        .selectAll()
        .where('enabled', '=', 1)
        .where('next_run_ms', 'is not', null)
        .where('next_run_ms', '<=', now)
        .orderBy('next_run_ms')
        .execute();
      const checks: Check[] = [];
      for (const row of due) {
        // Skipped runs (the process was down) are not made up: the next run is one interval from now.
        const claimed = await this.db
          .updateTable('mon_monitor')
          .set({ next_run_ms: now + row.interval_ms })
          .where('id', '=', row.id)
          .where('next_run_ms', '=', row.next_run_ms)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) continue;
        checks.push(await this.check(row));
      }
      return checks;
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.running.then(fn, fn);
    this.running = run.catch(() => undefined);
    return run;
  }

  private async check(row: MonMonitorTable): Promise<Check> {
    const started = this.deps.clock.now();
    const to = started - row.delay_ms;
    const from = to - row.window_ms;
    const config = JSON.parse(row.config) as KindConfig;
    let outcome: Outcome;
    try {
      outcome = row.kind === 'drift' ? await this.driftCheck(row, config.drift!, from, to) : await this.performanceCheck(config.performance!, row.deployment, from, to);
    } catch (err) {
      // Bad data (mismatched columns, an unreadable reference) is the check's result, not a crash.
      outcome = { status: 'error', message: isModelportError(err) ? err.message : `check failed: ${(err as Error).message}`, summary: {} };
    }
    const check: MonCheckTable = {
      id: randomUUID(),
      monitor_id: row.id,
      deployment: row.deployment,
      kind: row.kind,
      status: outcome.status,
      message: outcome.message,
      window_from_ms: from,
      window_to_ms: to,
      summary: JSON.stringify(outcome.summary),
      report_sha256: outcome.reportSha256 ?? null,
      alert_id: null,
      started_ms: started,
      finished_ms: this.deps.clock.now(),
    };
    await this.db.insertInto('mon_check').values(check).execute();
    const targets = JSON.parse(row.webhooks) as WebhookTarget[];
    let state = row.state as MonitorState;
    if (outcome.status === 'alert') {
      const { alert } = await this.deps.alerts.raise(
        {
          dedupKey: dedupKeyOf(row.id),
          monitorId: row.id,
          deployment: row.deployment,
          kind: row.kind === 'drift' ? 'drift' : 'performance',
          severity: outcome.severity,
          message: `${row.name}: ${outcome.message}`,
          details: outcome.summary,
          checkId: check.id,
          reportUrl: outcome.reportSha256 ? reportUrl(check.id) : undefined,
        },
        targets,
      );
      check.alert_id = alert.id;
      state = 'firing';
    } else if (outcome.status === 'ok') {
      const resolved = await this.deps.alerts.resolveKey(dedupKeyOf(row.id), `${row.name}: recovered: ${outcome.message}`, targets);
      check.alert_id = resolved?.id ?? null;
      state = 'ok';
    } else if (outcome.status === 'error') {
      state = 'error';
    }
    if (check.alert_id) await this.db.updateTable('mon_check').set({ alert_id: check.alert_id }).where('id', '=', check.id).execute();
    await this.db.updateTable('mon_monitor').set({ state, last_check_id: check.id }).where('id', '=', row.id).execute();
    return toCheck(check);
  }

  private async loadReference(row: MonMonitorTable, drift: DriftConfig, maxRows: number): Promise<{ table: DriftTable; skipped: SkippedInput[] }> {
    const ref = drift.reference;
    if ('window' in ref) {
      const from = parseTime(ref.window.from, 'drift.reference.window.from');
      const to = parseTime(ref.window.to, 'drift.reference.window.to');
      const rows = await this.deps.log.inputsWindow(row.deployment, from, to, maxRows);
      if (rows.length === 0) {
        throw invalidArgument(`the reference window ${new Date(from).toISOString()} – ${new Date(to).toISOString()} holds no logged predictions of ${row.deployment}`);
      }
      return recordsToTable(rows, 'reference window');
    }
    if (!row.reference_sha256) throw invalidArgument(`monitor ${row.name} has no stored reference`);
    const table = tableFromJson((await readBlob(this.deps.blobs, row.reference_sha256)).toString('utf8'));
    const source = 'path' in ref ? ref.path : 'dataset' in ref ? `${ref.dataset}@${ref.version}` : 'reference rows';
    return { table: { ...table, source }, skipped: [] };
  }

  private async driftCheck(row: MonMonitorTable, drift: DriftConfig, from: number, to: number): Promise<Outcome> {
    const maxRows = drift.maxRows ?? DEFAULT_MAX_ROWS;
    const window = { from, to };
    const rows = await this.deps.log.inputsWindow(row.deployment, from, to, maxRows);
    if (rows.length === 0) {
      return { status: 'skipped', message: `no logged predictions of ${row.deployment} between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}`, summary: { window } };
    }
    const current = recordsToTable(rows, `${row.deployment} inputs`);
    const reference = await this.loadReference(row, drift, maxRows);
    const report = await analyzeDriftYielding(reference.table, current.table, { ...driftOptions(drift), referenceName: reference.table.source, currentName: current.table.source }, this.deps.clock);
    const skipped = [...reference.skipped, ...current.skipped.filter((s) => !reference.skipped.some((r) => r.column === s.column))];
    const summary = summarizeDrift(report, skipped);
    const { sha256 } = await this.deps.blobs.put(renderDriftHtml(report));
    const s = report.summary;
    if (s.computed === 0) {
      return { status: 'error', message: `no column could be compared: ${report.columns.map((c) => (c.computed ? '' : c.reason)).filter(Boolean).join('; ')}`, summary, reportSha256: sha256 };
    }
    const drifted = report.columns.filter((c) => c.computed && c.drift).map((c) => c.column);
    const fires = (drift.alertOn ?? 'dataset') === 'dataset' ? s.datasetDrift : s.drifted > 0;
    const message = `${s.drifted} of ${s.computed} columns drifted (share ${s.share.toFixed(3)}, dataset drift at ${s.driftShare})${drifted.length ? `: ${drifted.join(', ')}` : ''}`;
    return { status: fires ? 'alert' : 'ok', message, summary, reportSha256: sha256, severity: s.datasetDrift ? 'critical' : 'warning' };
  }

  private async performanceCheck(perf: PerformanceConfig, deployment: string, from: number, to: number): Promise<Outcome> {
    const rows = await this.deps.feedback.joined(deployment, from, to);
    const result = evaluate(rows, { ...outputSpecOf(perf), task: perf.task });
    const summary = { rows: result.rows, task: result.task, metrics: result.metrics, window: { from, to } };
    const minRows = perf.minRows ?? DEFAULT_MIN_ROWS;
    if (result.rows < minRows) {
      const have = result.rows === 0 ? 'no labelled predictions' : `only ${result.rows} labelled predictions`;
      return { status: 'skipped', message: `${have} in the window; at least ${minRows} are needed`, summary };
    }
    const m = result.metrics.find((x) => x.name === perf.metric);
    if (!m) return { status: 'error', message: `${perf.metric} is not a ${result.task} metric (the feedback holds ${result.task === 'regression' ? 'values' : 'labels'})`, summary };
    if (!m.computed) return { status: 'skipped', message: `${perf.metric} not computed: ${m.reason}`, summary };
    const value = metricValue(result.metrics, perf.metric)!;
    const low = perf.min !== undefined && value < perf.min;
    const high = perf.max !== undefined && value > perf.max;
    const bound = low ? `below the minimum ${perf.min}` : high ? `above the maximum ${perf.max}` : `within bounds`;
    return { status: low || high ? 'alert' : 'ok', message: `${perf.metric} = ${value.toFixed(4)} over ${result.rows} labelled rows, ${bound}`, summary };
  }

  async checks(idOrName: string, limit = 50): Promise<Check[]> {
    const row = await this.row(idOrName);
    const rows = await this.db.selectFrom('mon_check').selectAll().where('monitor_id', '=', row.id).orderBy('started_ms', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toCheck);
  }

  async getCheck(id: string): Promise<Check> {
    const row = await this.db.selectFrom('mon_check').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`check ${id} does not exist`);
    return toCheck(row);
  }

  /** The HTML drift report a check wrote. */
  async report(checkId: string): Promise<Buffer> {
    const row = await this.db.selectFrom('mon_check').select(['report_sha256', 'kind']).where('id', '=', checkId).executeTakeFirst();
    if (!row) throw notFound(`check ${checkId} does not exist`);
    if (!row.report_sha256) throw notFound(`check ${checkId} has no report (only drift checks that compared data write one)`);
    return readBlob(this.deps.blobs, row.report_sha256);
  }

  /** The last drift check of each drift monitor: what the Prometheus gauges show. */
  async latestDrift(): Promise<{ monitor: string; deployment: string; summary: Record<string, unknown> }[]> {
    const rows = await this.db
      .selectFrom('mon_monitor as m')
      .innerJoin('mon_check as c', 'c.id', 'm.last_check_id')
      .select(['m.name', 'm.deployment', 'c.summary', 'c.status'])
      .where('m.kind', '=', 'drift')
      .execute();
    return rows.filter((r) => r.status === 'ok' || r.status === 'alert').map((r) => ({ monitor: r.name, deployment: r.deployment, summary: JSON.parse(r.summary) as Record<string, unknown> }));
  }
}
