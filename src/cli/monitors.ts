/**
 * `modelport monitors ...`: create, list, run and delete monitors, list and resolve alerts, and
 * send feedback from a file. Thin: flags → a typed request → the monitoring API → lines.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { readTable } from '../data/read-table.js';
import { MonitoringClient, type Alert, type Check, type FeedbackItem, type Monitor, type MonitorInput } from '../client/monitoring.js';
import { withClient } from './context.js';

interface CreateFlags {
  deployment: string;
  kind: string;
  interval?: string;
  window?: string;
  delay?: string;
  reference?: string;
  dataset?: string;
  referenceFrom?: string;
  referenceTo?: string;
  alertOn?: string;
  metric?: string;
  min?: string;
  max?: string;
  minRows?: string;
  detector?: string;
  webhook: string[];
  secret?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90", "90s", "15m", "1h", "7d" → seconds. */
export function parseDuration(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!m || Number(m[1]) === 0) throw invalidArgument(`${flag}: "${raw}" is not a duration like 90s, 15m, 1h or 7d`);
  return Number(m[1]) * UNITS[m[2] || 's'];
}

function number(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v)) throw invalidArgument(`${flag}: "${raw}" is not a number`);
  return v;
}

/** The monitor the flags describe; every mistake names its flag. */
export function monitorFromFlags(name: string, f: CreateFlags): MonitorInput {
  const kind = f.kind;
  if (kind !== 'drift' && kind !== 'performance' && kind !== 'concept_drift') throw invalidArgument(`--kind: "${kind}" must be drift, performance or concept_drift`);
  const base: MonitorInput = {
    name,
    deployment: f.deployment,
    kind,
    intervalSeconds: parseDuration(f.interval, '--interval'),
    windowSeconds: parseDuration(f.window, '--window'),
    delaySeconds: parseDuration(f.delay, '--delay'),
    webhooks: f.webhook.length > 0 ? f.webhook.map((url) => ({ url, ...(f.secret ? { secret: f.secret } : {}) })) : undefined,
  };
  if (kind === 'drift') {
    const given = [f.reference, f.dataset, f.referenceFrom].filter((x) => x !== undefined).length;
    if (given !== 1) throw invalidArgument('--reference, --dataset, --reference-from: give exactly one reference for a drift monitor');
    if ((f.referenceFrom === undefined) !== (f.referenceTo === undefined)) throw invalidArgument('--reference-from, --reference-to: give both ends of the reference window');
    if (f.alertOn !== undefined && f.alertOn !== 'dataset' && f.alertOn !== 'column') throw invalidArgument(`--alert-on: "${f.alertOn}" must be dataset or column`);
    const [dataset, version] = (f.dataset ?? '').split('@');
    const reference = f.reference
      ? { path: resolve(f.reference) }
      : f.dataset
        ? { dataset, ...(version ? { version: Number(version) } : {}) }
        : { window: { from: f.referenceFrom!, to: f.referenceTo! } };
    return { ...base, drift: { reference, alertOn: f.alertOn as 'dataset' | 'column' | undefined } };
  }
  if (kind === 'performance') {
    if (!f.metric) throw invalidArgument('--metric: a performance monitor needs a metric (accuracy, f1, roc_auc, rmse, ...)');
    return {
      ...base,
      performance: { metric: f.metric as never, min: number(f.min, '--min'), max: number(f.max, '--max'), minRows: number(f.minRows, '--min-rows') },
    };
  }
  if (f.detector !== undefined && !['adwin', 'ddm', 'page_hinkley'].includes(f.detector)) throw invalidArgument(`--detector: "${f.detector}" must be adwin, ddm or page_hinkley`);
  return { ...base, conceptDrift: { detector: f.detector as 'adwin' | 'ddm' | 'page_hinkley' | undefined } };
}

const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

export function describeMonitor(m: Monitor): string {
  return `${m.name}  ${m.kind}  deployment=${m.deployment}  state=${m.state}  every ${m.intervalSeconds}s  window ${m.windowSeconds}s${m.enabled ? '' : '  (disabled)'}  next=${time(m.nextRunAt)}  id=${m.id}\n`;
}

export function describeCheck(c: Check): string {
  return `${time(c.startedAt)}  ${c.status.padEnd(7)}  ${c.message}${c.reportUrl ? `  report=${c.reportUrl}` : ''}  id=${c.id}\n`;
}

export function describeAlert(a: Alert): string {
  return `${time(a.startedAt)}  ${a.state.padEnd(8)}  ${a.kind.padEnd(13)}  ${a.deployment}  ×${a.occurrences}  ${a.message}${a.reportUrl ? `  report=${a.reportUrl}` : ''}  id=${a.id}\n`;
}

/** Feedback items from a table with request_id and label or value columns (and optionally row). */
export async function feedbackFromFile(path: string): Promise<FeedbackItem[]> {
  const table = await readTable(path);
  const col = (name: string) => table.columns.find((c) => c.name === name);
  const id = col('request_id');
  if (!id) throw invalidArgument(`${path}: no request_id column (it has ${table.columns.map((c) => c.name).join(', ')})`);
  const label = col('label');
  const value = col('value');
  if (!label && !value) throw invalidArgument(`${path}: give a label column (classification) or a value column (regression)`);
  const row = col('row');
  const cell = (c: typeof id, i: number): string | number | null => {
    const v = c.values[i];
    return typeof v === 'number' ? (Number.isNaN(v) ? null : v) : v;
  };
  return Array.from({ length: table.rowCount }, (_, i) => {
    const item: FeedbackItem = { request_id: String(cell(id, i)) };
    if (row && cell(row, i) !== null) item.row = Number(cell(row, i));
    const l = label ? cell(label, i) : null;
    if (l !== null) item.label = l;
    else if (value) item.value = Number(cell(value, i) ?? NaN);
    return item;
  });
}

export function registerMonitorsCommand(program: Command): void {
  const monitors = program.command('monitors').description('drift, performance and concept-drift monitors of deployments, their checks and alerts');

  monitors
    .command('create')
    .description('create a monitor (drift: compare logged inputs with a reference; performance: a metric over labelled predictions; concept_drift: a detector over the error stream)')
    .argument('<name>', 'monitor name')
    .requiredOption('--deployment <name>', 'deployment to watch')
    .requiredOption('--kind <kind>', 'drift, performance or concept_drift')
    .option('--interval <duration>', 'how often the check runs, e.g. 15m, 1h (default 1h)')
    .option('--window <duration>', 'length of the current window (default: the interval)')
    .option('--delay <duration>', 'performance: end the window this long ago, so late labels have arrived')
    .option('--reference <file>', 'drift reference: CSV, JSON Lines or Parquet file (copied into the store)')
    .option('--dataset <name[@version]>', 'drift reference: a registered dataset version')
    .option('--reference-from <time>', 'drift reference: start of a window of logged inputs (ISO or epoch ms)')
    .option('--reference-to <time>', 'drift reference: end of that window')
    .option('--alert-on <what>', 'drift: alert on the dataset verdict (dataset, default) or on any drifted column (column)')
    .option('--metric <name>', 'performance: accuracy, precision, recall, f1, roc_auc, log_loss, ece, mae, rmse, mape, r2')
    .option('--min <value>', 'performance: alert below this')
    .option('--max <value>', 'performance: alert above this')
    .option('--min-rows <n>', 'performance: skip windows with fewer labelled rows (default 30)')
    .option('--detector <name>', 'concept_drift: adwin (default), ddm or page_hinkley')
    .option('--webhook <url>', 'POST alerts here (repeatable)', collect, [])
    .option('--secret <secret>', 'HMAC-SHA256 key for the webhooks (x-modelport-signature)')
    .action(async (name: string, flags: CreateFlags, cmd: Command) => {
      const input = monitorFromFlags(name, flags);
      await withClient(cmd, async (client) => {
        process.stdout.write(describeMonitor(await new MonitoringClient(client).createMonitor(input)));
      });
    });

  monitors
    .command('list')
    .description('list monitors')
    .option('--deployment <name>', 'only this deployment')
    .action(async (flags: { deployment?: string }, cmd: Command) =>
      withClient(cmd, async (client) => {
        const all = await new MonitoringClient(client).monitors({ deployment: flags.deployment });
        if (all.length === 0) process.stdout.write('no monitors\n');
        for (const m of all) process.stdout.write(describeMonitor(m));
      }),
    );

  monitors
    .command('run')
    .description("run a monitor's check now and print it; exits 2 when the check could not run")
    .argument('<monitor>', 'monitor name or id')
    .option('--fail-on-alert', 'exit 1 when the check raises an alert (for CI)')
    .action(async (monitor: string, flags: { failOnAlert?: boolean }, cmd: Command) =>
      withClient(cmd, async (client) => {
        const check = await new MonitoringClient(client).runMonitor(monitor);
        process.stdout.write(describeCheck(check));
        if (check.status === 'error') {
          process.stderr.write(`modelport: monitor ${monitor}: the check could not run: ${check.message}\n`);
          process.exitCode = 2;
        } else if (check.status === 'alert' && flags.failOnAlert) process.exitCode = 1;
      }),
    );

  monitors
    .command('checks')
    .description("a monitor's recent checks, newest first")
    .argument('<monitor>', 'monitor name or id')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (monitor: string, flags: { limit: string }, cmd: Command) =>
      withClient(cmd, async (client) => {
        for (const c of await new MonitoringClient(client).checks(monitor, number(flags.limit, '--limit'))) process.stdout.write(describeCheck(c));
      }),
    );

  monitors
    .command('delete')
    .description('delete a monitor and its checks')
    .argument('<monitor>', 'monitor name or id')
    .action(async (monitor: string, _flags: unknown, cmd: Command) =>
      withClient(cmd, async (client) => {
        await new MonitoringClient(client).deleteMonitor(monitor);
        process.stdout.write(`deleted monitor ${monitor}\n`);
      }),
    );

  monitors
    .command('alerts')
    .description('list alerts, newest first')
    .option('--state <state>', 'firing or resolved')
    .option('--deployment <name>', 'only this deployment')
    .action(async (flags: { state?: string; deployment?: string }, cmd: Command) => {
      if (flags.state !== undefined && flags.state !== 'firing' && flags.state !== 'resolved') throw invalidArgument(`--state: "${flags.state}" must be firing or resolved`);
      await withClient(cmd, async (client) => {
        const all = await new MonitoringClient(client).alerts({ state: flags.state as 'firing' | 'resolved' | undefined, deployment: flags.deployment });
        if (all.length === 0) process.stdout.write('no alerts\n');
        for (const a of all) process.stdout.write(describeAlert(a));
      });
    });

  monitors
    .command('resolve')
    .description('resolve a firing alert by hand')
    .argument('<alert>', 'alert id')
    .action(async (alert: string, _flags: unknown, cmd: Command) =>
      withClient(cmd, async (client) => {
        process.stdout.write(describeAlert(await new MonitoringClient(client).resolveAlert(alert)));
      }),
    );

  monitors
    .command('feedback')
    .description('send ground truth for logged predictions from a file with request_id and label (or value) columns')
    .argument('<file>', 'CSV, JSON Lines or Parquet')
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      const items = await feedbackFromFile(file);
      await withClient(cmd, async (client) => {
        const api = new MonitoringClient(client);
        let accepted = 0;
        let unknown = 0;
        const problems: string[] = [];
        for (let i = 0; i < items.length; i += 10_000) {
          const r = await api.feedback(items.slice(i, i + 10_000));
          accepted += r.accepted;
          unknown += r.unknown.length;
          for (const p of [...r.unknown, ...r.invalid].slice(0, 10 - problems.length)) problems.push(`row ${i + p.index + 1}: ${p.reason}`);
        }
        process.stdout.write(`accepted ${accepted} of ${items.length}; ${unknown} unknown request id(s)\n${problems.map((p) => `  ${p}\n`).join('')}`);
      });
    });
}
