/**
 * The feature store service: the definition registry (plan, apply, versions), point-in-time
 * training data, materialization, online reads and pushes, and the freshness and consistency
 * checks, over the platform's metadata, blob and online stores.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument, notFound } from '../core/errors.js';
import { parseVersionRef, type DatasetsService, type RegisterResult } from '../data/index.js';
import { DuckSession, sqlIdent, sqlString } from '../data/source.js';
import type { MetadataStore } from '../storage/metadata.js';
import type { OnlineStore } from '../storage/online.js';
import type { BlobStore } from '../storage/blobs.js';
import type { ClusterBus } from '../cluster/bus.js';
import { buildHistorical, toValue, type EntityInput } from './historical.js';
import { registerFeatureMetrics } from './metrics.js';
import { buildRewrite, type Binding } from './serving-hook.js';
import type { DType, Signature } from '../models/index.js';
import type { InputHook, RequestRewrite } from '../serving/input-hook.js';
import { MATERIALIZE_BATCH, materializeView, type ViewMaterialization } from './materialize.js';
import { checkColumns, entityKey, onlineKey, parseTimestamp, writeRows } from './online.js';
import { columnsOf, encodeRows, layoutOf } from './row-codec.js';
import { planChanges } from './plan.js';
import { readOnline } from './read.js';
import { FeatureRepo, type FeatureRef } from './repo.js';
import { checkSourceColumns, openSource, type DatasetFiles } from './sources.js';
import type { FeatureTables } from './tables.js';
import { coerceValue } from './transforms.js';
import { sliceRows } from '../storage/packed-rows.js';
import { historicalFormatOf, type ApplyResult, type FeatureRepoSpec, type HistoricalFormat, type OnlineResponse, type Plan, type RegistryVersion, type Value } from './types.js';

export interface FeaturesDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  online: OnlineStore;
  clock: Clock;
  datasets: DatasetsService;
  /** Names the online store, so progress is kept per store. */
  onlineId: string;
  /** Working files: DuckDB spill space, dataset-version sources. */
  workDir: string;
  /** Announces applies and bindings, so other replicas re-read them at once instead of within refreshMs. */
  cluster?: { bus: ClusterBus; replicaId: string };
  /** How often a replica re-reads bindings and the applied definition when no announcement came; serving's reconcile period. */
  refreshMs?: number;
}

/** Which features a request wants: refs ("VIEW:FEATURE" or "VIEW") or a feature service. */
export interface FeatureSelection {
  features?: string[];
  featureService?: string;
}

export interface HistoricalOptions extends FeatureSelection {
  entities: Exclude<EntityInput, { table: string }>;
  timestampColumn?: string;
}

export interface HistoricalFileResult {
  path: string;
  format: HistoricalFormat;
  rowCount: number;
  columns: string[];
  registryVersion: number;
  /** Set when the result was registered as a dataset version. */
  dataset?: { name: string; version: number; created: boolean };
}

export interface MaterializeOptions {
  /** Views to materialize (default: all). */
  views?: string[];
  /** From the end of the last run of each view (or the beginning) to `endMs`. */
  incremental?: boolean;
  /** Inclusive window on event time, ms; default: everything up to now. */
  startMs?: number;
  endMs?: number;
  onProgress?: (view: string, total: number, done: number) => void;
}

export interface PushOptions {
  view: string;
  /** Column name → values; the view's join keys, timestamp field and features. */
  df: Record<string, Value[]>;
  /** Default "online". */
  to?: 'online' | 'offline' | 'online_and_offline';
}

export interface ConsistencyReport {
  checkedAt: string;
  views: {
    view: string;
    entities: number;
    compared: number;
    mismatches: { entity: Record<string, Value>; feature: string; online: Value; offline: Value; status: string }[];
  }[];
}

export interface FreshnessEntry {
  view: string;
  materializedToMs: number | null;
  newestEventMs: number | null;
  ageSeconds: number | null;
  rowsWritten: number;
}

const SERVING_REFRESH_MS = 5000;

export class FeaturesService {
  private readonly db: Kysely<FeatureTables>;
  private cached: { version: number; repo: FeatureRepo } | undefined;
  /** When `cached` was last checked against the registry (performance.now(): real time, whatever the injected clock says). */
  private checkedAt = -Infinity;
  private bindings = new Map<string, Binding>();
  private rewrites = new Map<string, { model: Signature; repo: FeatureRepo; binding: Binding; rewrite: RequestRewrite }>();
  private refreshedAt = -Infinity;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  /** Bumped by each announced change, so a registry read begun before one does not count as fresh. */
  private invalidations = 0;
  private unsubscribe: (() => void) | undefined;

  private readonly refreshMs: number;

  constructor(private readonly deps: FeaturesDeps) {
    this.db = deps.metadata.db as Kysely<FeatureTables>;
    this.refreshMs = deps.refreshMs ?? SERVING_REFRESH_MS;
  }

  private session(): Promise<DuckSession> {
    return DuckSession.open(join(this.deps.workDir, 'duckdb-tmp'));
  }

  /** A dataset-version source as a local file, copied once from the blob store. */
  private readonly datasetFiles: DatasetFiles = async (ref) => {
    const v = await this.deps.datasets.get(parseVersionRef(ref), { profile: false });
    if (v.kind !== 'file') throw failedPrecondition(`dataset ${ref}: is a folder; a feature source is one file`);
    const path = join(this.deps.workDir, 'sources', `${v.digest}.${v.format}`);
    if (!existsSync(path)) {
      const tmp = `${path}.${process.pid}.tmp`;
      await pipeline(await this.deps.blobs.get(v.digest), createWriteStream(tmp));
      await rename(tmp, path);
    }
    return path;
  };

  /** Checks a definition fully (references, TTLs, transforms, source columns) without storing it. */
  async validate(spec: FeatureRepoSpec): Promise<FeatureRepo> {
    const repo = new FeatureRepo(structuredClone(spec));
    const session = await this.session();
    try {
      await checkSourceColumns(session, repo, this.datasetFiles);
    } finally {
      session.close();
    }
    return repo;
  }

  async plan(spec: FeatureRepoSpec): Promise<Plan> {
    await this.validate(spec);
    const current = await this.latest();
    return { currentVersion: current?.version ?? 0, changes: planChanges(current?.spec, spec) };
  }

  /** Stores the definition as a new registry version when it differs from the current one. */
  async apply(spec: FeatureRepoSpec, creator = 'unknown'): Promise<ApplyResult> {
    const plan = await this.plan(spec);
    if (plan.changes.length === 0 && plan.currentVersion > 0) return { ...plan, version: plan.currentVersion };
    const json = JSON.stringify(spec);
    const version = await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('mp_feature_registry').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
      const next = Number(row?.v ?? 0) + 1;
      await trx
        .insertInto('mp_feature_registry')
        .values({ version: next, digest: createHash('sha256').update(json).digest('hex'), spec_json: json, creator, created_ms: this.deps.clock.now() })
        .execute();
      return next;
    });
    await this.repo();
    this.announce();
    return { ...plan, version };
  }

  async latest(): Promise<RegistryVersion | undefined> {
    const row = await this.db.selectFrom('mp_feature_registry').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row ? toVersion(row) : undefined;
  }

  async versions(): Promise<Omit<RegistryVersion, 'spec'>[]> {
    const rows = await this.db.selectFrom('mp_feature_registry').select(['version', 'digest', 'creator', 'created_ms']).orderBy('version').execute();
    return rows.map((r) => ({ version: Number(r.version), digest: r.digest, creator: r.creator, createdAt: Number(r.created_ms) }));
  }

  /** The applied definition, compiled once per registry version. */
  async repo(): Promise<{ version: number; repo: FeatureRepo }> {
    const invalidations = this.invalidations;
    const row = await this.db.selectFrom('mp_feature_registry').select('version').orderBy('version', 'desc').limit(1).executeTakeFirst();
    if (!row) throw failedPrecondition('no feature definitions applied yet; run `modelport features apply FILE` first');
    const checkedAt = performance.now();
    if (this.cached?.version !== Number(row.version)) {
      const latest = (await this.latest())!;
      this.cached = { version: latest.version, repo: new FeatureRepo(latest.spec) };
    }
    if (this.invalidations === invalidations) this.checkedAt = checkedAt;
    return this.cached;
  }

  /**
   * The applied definition for online reads, checked against the registry at most every
   * refreshMs as the serving path's is: a read costs no metadata query. An apply in
   * this process is seen at once (it refreshes the cache), one elsewhere within that time.
   */
  private async onlineRepo(): Promise<FeatureRepo> {
    if (this.cached && performance.now() - this.checkedAt < this.refreshMs) return this.cached.repo;
    return (await this.repo()).repo;
  }

  /** The features a selection names, checked against the applied definition. */
  async select(sel: FeatureSelection): Promise<{ repo: FeatureRepo; refs: FeatureRef[]; version: number }> {
    const { repo, version } = await this.repo();
    return { repo, refs: repo.resolveFeatures(sel.features, sel.featureService), version };
  }

  /** Point-in-time correct features for the entity rows, written to a CSV, Parquet or Arrow IPC file. */
  async historicalToFile(opts: HistoricalOptions, output: { path: string; format?: HistoricalFormat; registerAs?: string; creator?: string }): Promise<HistoricalFileResult> {
    const format = output.format ?? historicalFormatOf(output.path);
    if (format === 'arrow' && output.registerAs) {
      throw invalidArgument('register_as: an Arrow file cannot be registered as a dataset version (datasets are CSV, JSON Lines or Parquet); write .parquet to register it');
    }
    const { repo, refs, version } = await this.select(opts);
    const session = await this.session();
    let plan;
    const tmp = `${output.path}.${process.pid}.tmp`;
    try {
      plan = await buildHistorical(session, repo, { entities: opts.entities, features: refs, timestampColumn: opts.timestampColumn }, this.datasetFiles);
      if (format === 'arrow') await (await import('../data/arrow-file.js')).writeArrowFile(session.con, plan.sql, tmp, plan.rowCount);
      else await session.run(`COPY (${plan.sql}) TO ${sqlString(tmp)} (FORMAT ${format === 'csv' ? "CSV, HEADER true, DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ'" : 'PARQUET'})`);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      session.close();
    }
    await rename(tmp, output.path);
    const result: HistoricalFileResult = { path: output.path, format, rowCount: plan.rowCount, columns: plan.columns, registryVersion: version };
    if (output.registerAs) {
      const views = [...new Set(refs.map((r) => r.view))];
      const reg: RegisterResult = await this.deps.datasets.register(output.registerAs, output.path, {
        creator: output.creator,
        source: `modelport-features:registry@${version}:${refs.map((r) => `${r.view}:${r.feature}`).join(',')}`,
        description: `Point-in-time features from feature views ${views.join(', ')} (feature registry version ${version})`,
      });
      result.dataset = { name: reg.version.name, version: reg.version.version, created: reg.created };
    }
    return result;
  }

  /** Point-in-time correct features as columns (for the SDK and HTTP, where rows are few). */
  async historical(opts: HistoricalOptions): Promise<{ columns: string[]; rows: Value[][] }> {
    const { repo, refs } = await this.select(opts);
    const session = await this.session();
    try {
      const plan = await buildHistorical(session, repo, { entities: opts.entities, features: refs, timestampColumn: opts.timestampColumn }, this.datasetFiles);
      const rows = await session.rows(plan.sql);
      return { columns: plan.columns, rows: rows.map((r) => r.map(toValue)) };
    } finally {
      session.close();
    }
  }

  async materialize(opts: MaterializeOptions = {}): Promise<ViewMaterialization[]> {
    const { repo } = await this.repo();
    const names = opts.views?.length ? opts.views : [...repo.views.keys()];
    const endMs = opts.endMs ?? this.deps.clock.now();
    if (opts.incremental && opts.startMs !== undefined) throw invalidArgument('start: an incremental materialize starts where the last one ended; give --start or --incremental, not both');
    if (opts.startMs !== undefined && opts.startMs > endMs) throw invalidArgument(`start: ${new Date(opts.startMs).toISOString()} is after end ${new Date(endMs).toISOString()}`);
    const out: ViewMaterialization[] = [];
    for (const name of names) {
      const view = repo.view(name, 'views');
      const state = await this.state(name);
      const afterMs = opts.incremental ? (state ? Number(state.materialized_to_ms) : undefined) : opts.startMs === undefined ? undefined : opts.startMs - 1;
      const session = await this.session();
      let result: ViewMaterialization;
      try {
        result = await materializeView(session, this.deps.online, view, { afterMs, untilMs: endMs }, this.datasetFiles, (total, done) => opts.onProgress?.(name, total, done));
      } finally {
        session.close();
      }
      await this.recordState(name, { materializedTo: Math.max(endMs, state ? Number(state.materialized_to_ms) : endMs), newest: result.newestEventMs, rows: result.written });
      out.push(result);
    }
    return out;
  }

  private state(view: string) {
    return this.db.selectFrom('mp_feature_online_state').selectAll().where('view', '=', view).where('store', '=', this.deps.onlineId).executeTakeFirst();
  }

  private async recordState(view: string, s: { materializedTo?: number; newest: number | null; rows: number }): Promise<void> {
    const now = this.deps.clock.now();
    await this.db.transaction().execute(async (trx) => {
      const prev = await trx.selectFrom('mp_feature_online_state').selectAll().where('view', '=', view).where('store', '=', this.deps.onlineId).executeTakeFirst();
      const row = {
        materialized_to_ms: s.materializedTo ?? Number(prev?.materialized_to_ms ?? 0),
        newest_event_ms: Math.max(Number(prev?.newest_event_ms ?? -8.64e15), s.newest ?? -8.64e15),
        rows_written: Number(prev?.rows_written ?? 0) + s.rows,
        updated_ms: now,
      };
      if (prev) await trx.updateTable('mp_feature_online_state').set(row).where('view', '=', view).where('store', '=', this.deps.onlineId).execute();
      else await trx.insertInto('mp_feature_online_state').values({ view, store: this.deps.onlineId, ...row }).execute();
    });
  }

  async getOnlineFeatures(sel: FeatureSelection & { entities: Record<string, Value[]>; requestData?: Record<string, Value[]> }): Promise<OnlineResponse> {
    const repo = await this.onlineRepo();
    const refs = repo.resolveFeatures(sel.features, sel.featureService);
    return readOnline(this.deps.online, repo, { features: refs, entities: sel.entities, requestData: sel.requestData }, this.deps.clock.now());
  }

  /** Writes fresh rows of a view to the online store (and appends them to its CSV source). */
  async push(opts: PushOptions): Promise<{ rows: number; written: number }> {
    const { repo } = await this.repo();
    const view = repo.view(opts.view, 'feature_view');
    const src = view.source;
    const allowed = [...view.joinKeys, src.timestamp_field, ...(src.created_timestamp_field ? [src.created_timestamp_field] : []), ...view.spec.features.map((f) => f.name)];
    const given = Object.keys(opts.df);
    const extra = given.filter((c) => !allowed.includes(c));
    if (extra.length) throw invalidArgument(`df: column${extra.length > 1 ? 's' : ''} ${extra.map((c) => `"${c}"`).join(', ')} not in feature view ${opts.view}; it has ${allowed.join(', ')}`);
    const required = allowed.filter((c) => c !== src.created_timestamp_field);
    const missing = required.filter((c) => !given.includes(c));
    if (missing.length) throw invalidArgument(`df: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} of feature view ${opts.view}`);
    const n = checkColumns(opts.df, 'df');
    const now = this.deps.clock.now();
    const features = view.spec.features;
    const keys: string[] = [];
    const t: number[] = [];
    const c: number[] = [];
    const values: Value[][] = features.map(() => new Array<Value>(n));
    let newest: number | null = null;
    for (let i = 0; i < n; i++) {
      t.push(parseTimestamp(opts.df[src.timestamp_field][i], `df.${src.timestamp_field}[${i}]`));
      c.push(src.created_timestamp_field && opts.df[src.created_timestamp_field] ? parseTimestamp(opts.df[src.created_timestamp_field][i], `df.${src.created_timestamp_field}[${i}]`) : now);
      features.forEach((f, j) => {
        const raw = opts.df[f.name][i];
        if (raw !== null && f.dtype !== 'string' && typeof raw === 'string') throw invalidArgument(`df.${f.name}[${i}]: "${raw}" is not a ${f.dtype}`);
        values[j][i] = coerceValue(raw, f);
      });
      const keyValues = view.joinKeys.map((k) => opts.df[k][i]);
      if (keyValues.some((k) => k === null || k === undefined)) throw invalidArgument(`df: row ${i} has no value for a join key (${view.joinKeys.join(', ')})`);
      keys.push(onlineKey(opts.view, entityKey(keyValues)));
      newest = newest === null ? t[i] : Math.max(newest, t[i]);
    }
    const to = opts.to ?? 'online';
    if (to !== 'online') this.appendOffline(view.source.path, view.source.name, opts.df, n);
    let written = 0;
    if (to !== 'offline') {
      const layout = layoutOf(features);
      const encoded = encodeRows(layout, columnsOf(layout, t, c, values)).take();
      for (let i = 0; i < n; i += MATERIALIZE_BATCH) written += await writeRows(this.deps.online, layout, keys.slice(i, i + MATERIALIZE_BATCH), sliceRows(encoded, i, Math.min(n, i + MATERIALIZE_BATCH)));
      await this.recordState(opts.view, { newest, rows: written });
    }
    return { rows: n, written };
  }

  /** Appends pushed rows to a CSV source in its header's column order. */
  private appendOffline(path: string | undefined, source: string, df: Record<string, Value[]>, n: number): void {
    if (!path || !/\.csv$/i.test(path)) throw failedPrecondition(`source ${source}: pushing to the offline store needs a CSV file source; push to "online" only`);
    const text = readFileSync(path, 'utf8');
    const header = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length).replace(/\r$/, '').split(',');
    const cell = (v: Value | undefined) => (v === null || v === undefined ? '' : /[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(header.map((h) => cell(df[h]?.[i])).join(','));
    appendFileSync(path, (text.endsWith('\n') ? '' : '\n') + lines.join('\n') + '\n');
  }

  /**
   * Compares, for a sample of each view's entities, the online value with the offline value as
   * of now (the same point-in-time rule a training set uses); any difference is a mismatch.
   */
  async check(opts: { views?: string[]; sample?: number } = {}): Promise<ConsistencyReport> {
    const { repo } = await this.repo();
    const now = this.deps.clock.now();
    const sample = opts.sample ?? 100;
    const report: ConsistencyReport = { checkedAt: new Date(now).toISOString(), views: [] };
    for (const name of opts.views?.length ? opts.views : [...repo.views.keys()]) {
      const view = repo.view(name, 'views');
      const session = await this.session();
      let keys: unknown[][];
      try {
        const src = await openSource(session, view.source, this.datasetFiles);
        const cols = view.joinKeys.map(sqlIdent).join(', ');
        // A stable sample: the same entities every run, so mismatches can be followed up.
        keys = await session.rows(`SELECT DISTINCT ${cols} FROM ${src.from} WHERE ${view.joinKeys.map((k) => `${sqlIdent(k)} IS NOT NULL`).join(' AND ')} ORDER BY hash(${cols}) LIMIT ${Math.max(1, Math.floor(sample))}`);
      } finally {
        session.close();
      }
      const entities: Record<string, Value[]> = {};
      view.joinKeys.forEach((k, j) => (entities[k] = keys.map((r) => toValue(r[j]))));
      const features = view.spec.features.map((f) => `${name}:${f.name}`);
      const online = await this.getOnlineFeatures({ features, entities });
      const offline = await this.historical({
        features,
        entities: { columns: [...view.joinKeys.map((k) => ({ name: k, values: entities[k] })), { name: '__now', values: keys.map(() => now / 1000) }] },
        timestampColumn: '__now',
      });
      const mismatches: ConsistencyReport['views'][number]['mismatches'] = [];
      const base = view.joinKeys.length + 1;
      view.spec.features.forEach((f, j) => {
        const col = online.results[view.joinKeys.length + j];
        keys.forEach((_, i) => {
          const a = col.values[i];
          const b = offline.rows[i][base + j];
          if (!sameValue(a, b)) {
            mismatches.push({ entity: Object.fromEntries(view.joinKeys.map((k) => [k, entities[k][i]])), feature: f.name, online: a, offline: b, status: col.statuses[i] });
          }
        });
      });
      report.views.push({ view: name, entities: keys.length, compared: keys.length * view.spec.features.length, mismatches });
    }
    return report;
  }

  /** Loads what the serving path reads synchronously: deployment bindings and the applied definition. */
  async start(): Promise<void> {
    this.unsubscribe = this.deps.cluster?.bus.subscribe((m) => {
      if (m.type !== 'features' || m.origin === this.deps.cluster?.replicaId) return;
      this.invalidations++;
      this.checkedAt = -Infinity;
      this.refreshInBackground(true);
    });
    await this.refreshServing();
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** `again`: a change was announced, so a refresh already under way may have read too early. */
  private refreshInBackground(again = false): void {
    if (this.refreshing) {
      this.refreshAgain ||= again;
      return;
    }
    this.refreshing = this.refreshServing()
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refreshInBackground();
        }
      });
  }

  private announce(): void {
    const cluster = this.deps.cluster;
    if (cluster) void cluster.bus.publish({ type: 'features', origin: cluster.replicaId }).catch(() => undefined);
  }

  private async refreshServing(): Promise<void> {
    this.refreshedAt = this.deps.clock.now();
    const rows = await this.db.selectFrom('mp_feature_deployment').selectAll().execute();
    this.bindings = new Map(rows.map((r) => [r.deployment, { featureService: r.feature_service, keys: JSON.parse(r.keys_json) }]));
    if (rows.length > 0) await this.repo().catch(() => undefined);
  }

  /**
   * Serving's input hook: the request rewrite of a deployment bound to a feature service, or
   * undefined at once for any other. Bindings and definitions applied on another replica are
   * seen at once through the cluster bus, and within refreshMs when a message was missed.
   */
  readonly inputHook: InputHook = (deployment, model) => {
    if (this.deps.clock.now() - this.refreshedAt > this.refreshMs) this.refreshInBackground();
    const binding = this.bindings.get(deployment);
    if (!binding) return undefined;
    if (!this.cached) throw failedPrecondition(`deployment "${deployment}" looks its inputs up in feature service ${binding.featureService}, but no feature definitions are applied`);
    const repo = this.cached.repo;
    const hit = this.rewrites.get(deployment);
    if (hit && hit.model === model && hit.repo === repo && hit.binding === binding) return hit.rewrite;
    const rewrite = buildRewrite(repo, binding, model, this.deps.online, () => this.deps.clock.now());
    this.rewrites.set(deployment, { model, repo, binding, rewrite });
    return rewrite;
  };

  /** Makes a deployment's requests carry entity keys; its model's inputs come from the feature service. */
  async bindDeployment(deployment: string, featureService: string): Promise<Binding> {
    const { repo } = await this.repo();
    const refs = repo.resolveFeatures(undefined, featureService);
    const keys: Record<string, DType> = {};
    const session = await this.session();
    try {
      for (const viewName of new Set([...refs, ...repo.dependencies(refs)].filter((r) => r.kind === 'view').map((r) => r.view))) {
        const view = repo.views.get(viewName)!;
        const src = await openSource(session, view.source, this.datasetFiles);
        for (const k of view.joinKeys) keys[k] = keyDtype(src.columns.get(k)!);
      }
    } finally {
      session.close();
    }
    await this.db
      .insertInto('mp_feature_deployment')
      .values({ deployment, feature_service: featureService, keys_json: JSON.stringify(keys), updated_ms: this.deps.clock.now() })
      .onConflict((oc) => oc.column('deployment').doUpdateSet({ feature_service: featureService, keys_json: JSON.stringify(keys), updated_ms: this.deps.clock.now() }))
      .execute();
    await this.refreshServing();
    this.announce();
    return { featureService, keys };
  }

  async unbindDeployment(deployment: string): Promise<void> {
    const res = await this.db.deleteFrom('mp_feature_deployment').where('deployment', '=', deployment).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`deployment "${deployment}" is not bound to a feature service`);
    await this.refreshServing();
    this.announce();
  }

  async deploymentBindings(): Promise<{ deployment: string; featureService: string; keys: Record<string, DType> }[]> {
    const rows = await this.db.selectFrom('mp_feature_deployment').selectAll().orderBy('deployment').execute();
    return rows.map((r) => ({ deployment: r.deployment, featureService: r.feature_service, keys: JSON.parse(r.keys_json) }));
  }

  registerMetrics(registry: Registry): void {
    registerFeatureMetrics(registry, () => this.freshness());
  }

  /** Age of the newest row each view holds in the online store. */
  async freshness(): Promise<FreshnessEntry[]> {
    const rows = await this.db.selectFrom('mp_feature_online_state').selectAll().where('store', '=', this.deps.onlineId).orderBy('view').execute();
    const now = this.deps.clock.now();
    return rows.map((r) => {
      const newest = Number(r.newest_event_ms) > -8e15 ? Number(r.newest_event_ms) : null;
      return {
        view: r.view,
        materializedToMs: Number(r.materialized_to_ms) || null,
        newestEventMs: newest,
        ageSeconds: newest === null ? null : (now - newest) / 1000,
        rowsWritten: Number(r.rows_written),
      };
    });
  }
}

const INTEGER_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/;

/** The dtype a request sends a join key as: integer keys as int64, others as text. */
function keyDtype(duckType: string): DType {
  return INTEGER_TYPE.test(duckType) ? 'int64' : 'string';
}

function toVersion(r: { version: number; digest: string; spec_json: string; creator: string; created_ms: number }): RegistryVersion {
  return { version: Number(r.version), digest: r.digest, creator: r.creator, createdAt: Number(r.created_ms), spec: JSON.parse(r.spec_json) };
}

function sameValue(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return String(a) === String(b);
}
