/**
 * `modelport features ...`: plan, apply and list definitions; build training data; materialize;
 * read online values; check consistency. Embedded, files are read and written where they lie and
 * materialize shows progress; against --server, entity rows go up as JSON and the training file
 * comes back.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { FeaturesClient } from '../client/features.js';
import { loadFeatureFile, parseTimestamp, type Change, type Value } from '../features/index.js';
import { readEntityColumns } from '../features/historical.js';
import { createPlatform } from '../platform.js';
import { configFrom, globalOptions, withClient } from './context.js';
import { io, renderTable } from './datasets.js';
import { progress, type Progress } from './progress.js';

const list = (raw: string | undefined) => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

function selection(flags: { features?: string; featureService?: string }) {
  const features = list(flags.features);
  if (!features && !flags.featureService) throw invalidArgument('--features: name VIEW:FEATURE,... or give --feature-service NAME');
  return { features, featureService: flags.featureService };
}

const withFeatures = <T>(cmd: Command, fn: (f: FeaturesClient) => Promise<T>) => withClient(cmd, (c) => fn(new FeaturesClient(c)));

export function renderChanges(changes: Change[]): string {
  if (changes.length === 0) return 'No changes.\n';
  const sign = { added: '+', removed: '-', changed: '~' } as const;
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`${sign[c.action]} ${c.kind} ${c.name} (${c.action})`);
    if (c.action === 'changed') for (const d of c.diff) lines.push(`    ${d.path}: ${d.before ?? '(none)'} → ${d.after ?? '(none)'}`);
  }
  const count = (a: Change['action']) => changes.filter((c) => c.action === a).length;
  lines.push(`${count('added')} to add, ${count('changed')} to change, ${count('removed')} to remove.`);
  return lines.join('\n') + '\n';
}

/** "customer_id=10022,10030" → {customer_id: [10022, 10030]}; numbers stay numbers. */
function parseColumns(raw: string[], flag: string): Record<string, Value[]> {
  const out: Record<string, Value[]> = {};
  for (const item of raw) {
    const i = item.indexOf('=');
    if (i <= 0) throw invalidArgument(`${flag}: "${item}" must be NAME=VALUE[,VALUE...]`);
    out[item.slice(0, i)] = item
      .slice(i + 1)
      .split(',')
      .map((v) => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v));
  }
  return out;
}

const PUSH_TARGETS: Record<string, 'online' | 'offline' | 'online_and_offline'> = { online: 'online', offline: 'offline', both: 'online_and_offline' };

/** A CSV cell arrives as text: numbers and booleans are given their type so numeric features validate. */
function typedCell(v: Value): Value {
  if (typeof v !== 'string') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerFeaturesCommand(program: Command): Command {
  const features = program.command('features').description('feature store: definitions, point-in-time training data, online values');

  features
    .command('plan')
    .description('show what applying a definition file (YAML, JSON or a defineFeatures module) would change')
    .argument('<file>', 'definition file')
    .option('--json', 'print the plan as JSON')
    .action(async (file: string, flags: { json?: boolean }, command: Command) => {
      const spec = await loadFeatureFile(file);
      const plan = await withFeatures(command, (f) => f.plan(spec));
      io(command).out(flags.json ? JSON.stringify(plan, null, 2) + '\n' : renderChanges(plan.changes));
    });

  features
    .command('apply')
    .description('store a definition file in the registry as a new version (nothing is stored when it is unchanged)')
    .argument('<file>', 'definition file')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: { json?: boolean }, command: Command) => {
      const spec = await loadFeatureFile(file);
      const result = await withFeatures(command, (f) => f.apply(spec));
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(result, null, 2) + '\n');
      out(renderChanges(result.changes));
      out(result.version === result.currentVersion ? `Registry unchanged at version ${result.version}.\n` : `Applied as registry version ${result.version}.\n`);
    });

  features
    .command('list')
    .description('list entities, feature views, on-demand views and feature services of the applied definition')
    .option('--json', 'print the definition as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const listing = await withFeatures(command, (f) => f.list());
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(listing, null, 2) + '\n');
      const d = listing.definition;
      if (!d) return out('No feature definitions applied yet.\n');
      out(`Registry version ${listing.version}${d.project ? ` (project ${d.project})` : ''}\n\n`);
      const rows = [
        ...d.entities.map((e) => ['entity', e.name, e.join_keys.join(', '), '', '']),
        ...d.feature_views.map((v) => ['feature_view', v.name, v.features.map((f) => `${f.name}:${f.dtype}`).join(', '), v.ttl ?? 'none', v.source]),
        ...(d.on_demand_feature_views ?? []).map((v) => ['on_demand_feature_view', v.name, v.features.map((f) => `${f.name}:${f.dtype}`).join(', '), '', v.sources.join(', ')]),
        ...(d.feature_services ?? []).map((s) => ['feature_service', s.name, s.features.join(', '), '', '']),
      ];
      out(renderTable(['kind', 'name', 'features / keys', 'ttl', 'source'], rows));
    });

  features
    .command('historical')
    .description('point-in-time correct features for the rows of an entity file, written as CSV, Parquet or Arrow IPC')
    .requiredOption('--entities <file>', 'entity rows: join keys, an event time column, request values (CSV or Parquet)')
    .option('--features <refs>', 'VIEW:FEATURE,... (or VIEW for all its features)')
    .option('--feature-service <name>', 'the features of a feature service')
    .option('--timestamp-column <name>', "the entity file's event time column", 'event_timestamp')
    .requiredOption('--output <file>', 'result file (.csv, .parquet, or .arrow / .feather for Arrow IPC)')
    .option('--register <dataset>', 'also register the result (CSV or Parquet) as a version of this dataset')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { entities: string; features?: string; featureService?: string; timestampColumn: string; output: string; register?: string; json?: boolean }, command: Command) => {
      const options = { ...selection(flags), timestampColumn: flags.timestampColumn, registerAs: flags.register };
      const result = await withFeatures(command, async (f) => f.historicalToFile(f.embedded ? flags.entities : await readEntityColumns(flags.entities), flags.output, options));
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(result, null, 2) + '\n');
      out(`${flags.output}: ${result.rowCount.toLocaleString('en-US')} rows, features from registry version ${result.registryVersion}\n`);
      if (result.dataset) out(`Registered as dataset ${result.dataset.name}@${result.dataset.version}\n`);
    });

  features
    .command('materialize')
    .description('write the latest value per entity into the online store (all history up to now by default)')
    .option('--start <time>', 'earliest event time (ISO 8601 with a zone, or epoch seconds)')
    .option('--end <time>', 'latest event time (default: now)')
    .option('--incremental', 'from where the last materialize of each view ended')
    .option('--views <names>', 'only these feature views (comma-separated)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { start?: string; end?: string; incremental?: boolean; views?: string; json?: boolean }, command: Command) => {
      const startMs = flags.start === undefined ? undefined : parseTimestamp(flags.start, '--start');
      const endMs = flags.end === undefined ? undefined : parseTimestamp(flags.end, '--end');
      const opts = globalOptions(command);
      let results;
      if (opts.server ?? process.env.MODELPORT_SERVER) {
        results = await withFeatures(command, (f) => f.materialize({ views: list(flags.views), incremental: flags.incremental, start: flags.start, end: flags.end }));
      } else {
        // Embedded, the domain is called directly so that the rows written show as progress.
        const platform = await createPlatform({ ...configFrom(command), logLevel: 'silent' });
        const bars = new Map<string, { bar: Progress; done: number }>();
        try {
          results = await platform.services.features.materialize({
            views: list(flags.views),
            incremental: flags.incremental,
            startMs,
            endMs,
            onProgress: (view, total, done) => {
              const entry = bars.get(view) ?? { bar: progress(`materialize ${view}`, total), done: 0 };
              bars.set(view, entry);
              entry.bar.tick(done - entry.done);
              entry.done = done;
            },
          });
          for (const b of bars.values()) b.bar.done();
        } finally {
          await platform.close();
        }
      }
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(results, null, 2) + '\n');
      for (const r of results) {
        out(`${r.view}: ${r.rows.toLocaleString('en-US')} entities in the window, ${r.written.toLocaleString('en-US')} written${r.newestEventMs !== null ? `, newest event ${new Date(r.newestEventMs).toISOString()}` : ''}\n`);
      }
    });

  features
    .command('online')
    .description('online feature values for entity keys, with a status per value')
    .option('--features <refs>', 'VIEW:FEATURE,... (or VIEW for all its features)')
    .option('--feature-service <name>', 'the features of a feature service')
    .option('--entity <key=values>', 'join key and its values, e.g. customer_id=10022,10030 (repeatable)', collect, [])
    .option('--request <name=values>', 'request values for on-demand features, e.g. amount=5000,12000 (repeatable)', collect, [])
    .option('--json', 'print the Feast-shaped response as JSON')
    .action(async (flags: { features?: string; featureService?: string; entity: string[]; request: string[]; json?: boolean }, command: Command) => {
      if (flags.entity.length === 0) throw invalidArgument('--entity: give at least one join key, e.g. --entity customer_id=10022');
      const entities = parseColumns(flags.entity, '--entity');
      const requestData = flags.request.length ? parseColumns(flags.request, '--request') : undefined;
      const res = await withFeatures(command, (f) => f.getOnlineFeatures(entities, { ...selection(flags), requestData }));
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(res, null, 2) + '\n');
      const n = res.results[0]?.values.length ?? 0;
      const rows = Array.from({ length: n }, (_, i) =>
        res.results.map((c, k) => (k < Object.keys(entities).length ? String(c.values[i]) : c.statuses[i] === 'PRESENT' ? String(c.values[i]) : `null (${c.statuses[i]})`)),
      );
      out(renderTable(res.metadata.feature_names, rows));
    });

  features
    .command('push')
    .description("write fresh rows of a feature view from a file (its join keys, timestamp field and features) to the online store, the offline source or both")
    .argument('<view>', 'feature view')
    .requiredOption('--input <file>', 'rows to push (CSV or Parquet)')
    .option('--to <store>', 'online, offline (append to the CSV source) or both', 'online')
    .option('--json', 'print the result as JSON')
    .action(async (view: string, flags: { input: string; to: string; json?: boolean }, command: Command) => {
      const to = PUSH_TARGETS[flags.to];
      if (!to) throw invalidArgument(`--to: "${flags.to}" is not one of online, offline, both`);
      const df = Object.fromEntries(Object.entries(await readEntityColumns(flags.input)).map(([k, values]) => [k, values.map(typedCell)]));
      const result = await withFeatures(command, (f) => f.push(view, df, to));
      const { out } = io(command);
      if (flags.json) return out(JSON.stringify(result, null, 2) + '\n');
      out(`${view}: ${result.rows.toLocaleString('en-US')} rows pushed to ${flags.to}${to === 'offline' ? '' : `, ${result.written.toLocaleString('en-US')} online entries written`}\n`);
    });

  features
    .command('check')
    .description('compare online values with offline values as of now for a sample of entities')
    .option('--views <names>', 'only these feature views (comma-separated)')
    .option('--sample <n>', 'entities per view', '100')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { views?: string; sample: string; json?: boolean }, command: Command) => {
      if (!/^[1-9]\d*$/.test(flags.sample)) throw invalidArgument(`--sample: "${flags.sample}" is not a positive whole number`);
      const report = await withFeatures(command, (f) => f.check({ views: list(flags.views), sample: Number(flags.sample) }));
      const { out } = io(command);
      if (flags.json) out(JSON.stringify(report, null, 2) + '\n');
      else {
        for (const v of report.views) {
          out(`${v.view}: ${v.entities} entities, ${v.compared} values compared, ${v.mismatches.length} mismatch${v.mismatches.length === 1 ? '' : 'es'}\n`);
          for (const m of v.mismatches.slice(0, 20)) out(`  ${JSON.stringify(m.entity)} ${m.feature}: online ${JSON.stringify(m.online)} (${m.status}), offline ${JSON.stringify(m.offline)}\n`);
        }
      }
      if (report.views.some((v) => v.mismatches.length > 0)) process.exitCode = 1;
    });

  features
    .command('bind')
    .description("serve DEPLOYMENT with a feature lookup: requests carry entity keys (and request values); the model's inputs come from SERVICE")
    .argument('<deployment>', 'deployment name')
    .argument('<service>', 'feature service')
    .action(async (deployment: string, service: string, _flags: unknown, command: Command) => {
      const b = await withFeatures(command, (f) => f.bindDeployment(deployment, service));
      io(command).out(`${deployment}: inputs from feature service ${service}; requests carry ${Object.entries(b.keys).map(([k, t]) => `${k} (${t})`).join(', ')}\n`);
    });

  features
    .command('unbind')
    .description('serve DEPLOYMENT without a feature lookup again')
    .argument('<deployment>', 'deployment name')
    .action(async (deployment: string, _flags: unknown, command: Command) => {
      await withFeatures(command, (f) => f.unbindDeployment(deployment));
      io(command).out(`${deployment}: no feature lookup\n`);
    });

  return features;
}
