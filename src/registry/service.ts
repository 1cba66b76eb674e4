/**
 * The model registry: registered models, versions with content-addressed artifacts, aliases,
 * MLflow's legacy stages, approvals, lineage and events. Every multi-row write is one
 * transaction; events are emitted after it commits.
 */
import type { SecretBox } from '../core/secret-box.js';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Clock } from '../core/clock.js';
import { alreadyExists, failedPrecondition, invalidArgument, isModelportError, notFound, permissionDenied } from '../core/errors.js';
import type { LoadOptions, Predictor } from '../models/index.js';
import type { BlobInfo, BlobSource, BlobStore } from '../storage/blobs.js';
import { isUniqueViolation, type MetadataStore } from '../storage/metadata.js';
import { checkApprover, deletePolicy, listPolicies, policyFor, protects, putPolicy, requireUser, toApproval, type PolicyInput } from './approvals.js';
import { checkArtifactPath, decodeManifest, encodeManifest, inspectArtifact, type Manifest, type ManifestFile, type ModelFlavor } from './artifact.js';
import { RegistryEvents, type RegistryEventMap, type RegistryEventName } from './events.js';
import { decodePageToken, encodePageToken, parseFilter, parseOrderBy, type Comparison } from './filter.js';
import { ACTIVE_STAGES, LOGGED_MODEL_URI, canonicalStage, checkAlias, checkModelName, checkTag, checkVersion, type Stage } from './names.js';
import { compare } from './sql.js';
import type { RegistryTables, RegModelTable, RegVersionTable } from './tables.js';
import type {
  Actor,
  Approval,
  ApprovalPolicy,
  ArtifactSource,
  DeletionGuard,
  LineageGraph,
  LineageNode,
  ModelVersion,
  RegisteredModel,
  RunLookup,
  VersionStatus,
} from './types.js';
import { Webhooks, type WebhookOptions } from './webhooks.js';

/** The stores the registry is built on (a subset of the platform's). */
export interface RegistryStores {
  clock: Clock;
  metadata: MetadataStore;
  blobs: BlobStore;
  config: { dataDir: string; allowPrivateWebhookTargets?: boolean; allowCodeModels?: boolean };
  /** Seals webhook secrets at rest; without it they are stored as given. */
  secrets?: SecretBox;
}

export interface RegistryOptions {
  /** Run details for lineage, from experiment tracking. */
  runs?: RunLookup;
  /** Readers for artifact URIs owned by other domains (runs:/, mlflow-artifacts:/ ...). */
  artifactSources?: ArtifactSource[];
  /** Allow webhook targets on loopback/private addresses. Default: the config's allowPrivateWebhookTargets, else false. */
  allowPrivateWebhookTargets?: boolean;
  webhooks?: Omit<WebhookOptions, 'allowPrivateTargets'>;
  /** Where verified artifacts are materialised for loading. Default DATA/registry-cache. */
  cacheDir?: string;
}

export interface SearchQuery {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface CreateVersionInput {
  name: string;
  /** An artifact URI: models:/NAME/VERSION, models:/NAME@ALIAS, or one an ArtifactSource serves. */
  source?: string;
  /** Files already uploaded with putBlob (the alternative to `source`). */
  files?: { path: string; sha256: string }[];
  runId?: string;
  runLink?: string;
  description?: string;
  tags?: Record<string, string>;
  flavor?: string;
  signature?: unknown;
  inputExample?: unknown;
  parents?: { name: string; version: number }[];
  /** Create the registered model when it does not exist yet. */
  createModel?: boolean;
  /** Refuse a run id that tracking does not know (MLflow's own route records any id, as MLflow does). */
  requireKnownRun?: boolean;
}

export const UPLOAD_SOURCE_SCHEME = 'modelport-registry:/';
const MODELS_MAX_RESULTS = 1000;
/** Bare model files up to this size are loaded once at registration (check + signature). */
const RUNTIME_CHECK_MAX_BYTES = 64 * 1024 * 1024;
const VERSIONS_MAX_RESULTS = 200_000;

type Db = Kysely<RegistryTables>;
type VersionRow = RegVersionTable & { name: string };

const modelMissing = (name: string) => notFound(`Registered Model with name=${name} not found`);
const versionMissing = (name: string, version: number) => notFound(`Model Version (name=${name}, version=${version}) not found`);

export class RegistryService {
  readonly events: RegistryEvents;
  readonly webhooks: Webhooks;
  private readonly db: Db;
  private readonly guards = new Set<DeletionGuard>();
  private readonly cacheDir: string;

  constructor(
    private readonly stores: RegistryStores,
    private readonly options: RegistryOptions = {},
  ) {
    this.db = stores.metadata.db as Db;
    this.events = new RegistryEvents();
    const allowPrivate = options.allowPrivateWebhookTargets ?? stores.config.allowPrivateWebhookTargets ?? false;
    this.webhooks = new Webhooks(this.db, stores.clock, { ...options.webhooks, allowPrivateTargets: allowPrivate, secrets: stores.secrets });
    this.events.onAny((event) => void this.webhooks.dispatch(event).catch(() => undefined));
    this.cacheDir = options.cacheDir ?? join(stores.config.dataDir, 'registry-cache');
  }

  private get now(): number {
    return this.stores.clock.now();
  }

  /** Code models (the js flavor) run their author's code: only admins add them, unless the server allows code models. */
  private checkCodeModel(flavor: string | null | undefined, actor: Actor, what: string): void {
    if (flavor === 'js' && actor.admin === false && !this.stores.config.allowCodeModels) {
      throw permissionDenied(`${what}: a code model (js flavor) runs its author's code, which needs the admin role (or MODELPORT_ALLOW_CODE_MODELS on the server)`);
    }
  }

  private emit<K extends RegistryEventName>(type: K, data: RegistryEventMap[K]): void {
    this.events.emit(type, data, this.now);
  }

  /** Another domain's veto on deleting a version (e.g. serving: "deployment X serves it"). Returns the remover. */
  addDeletionGuard(guard: DeletionGuard): () => void {
    this.guards.add(guard);
    return () => this.guards.delete(guard);
  }

  // ---- registered models -------------------------------------------------------------------

  async createModel(input: { name: string; description?: string; tags?: Record<string, string> }, actor: Actor = {}): Promise<RegisteredModel> {
    const name = checkModelName(input.name);
    const tags = Object.entries(input.tags ?? {}).map(([k, v]) => checkTag(k, v));
    const now = this.now;
    const row: RegModelTable = { id: randomUUID(), name, description: input.description ?? null, user_id: actor.user ?? null, created_ms: now, updated_ms: now, next_version: 1 };
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('reg_model').values(row).execute();
        if (tags.length) await trx.insertInto('reg_model_tag').values(tags.map((t) => ({ model_id: row.id, ...t }))).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`Registered Model (name=${name}) already exists.`);
      throw err;
    }
    this.emit('registered_model.created', { name, user: actor.user });
    return this.getModel(name);
  }

  private async modelRow(name: string, db: Db = this.db): Promise<RegModelTable> {
    const row = await db.selectFrom('reg_model').selectAll().where('name', '=', checkModelName(name)).executeTakeFirst();
    if (!row) throw modelMissing(name);
    return row;
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const [model] = await this.hydrateModels([await this.modelRow(name)]);
    return model;
  }

  async searchModels(query: SearchQuery = {}): Promise<{ models: RegisteredModel[]; nextPageToken?: string }> {
    const max = query.maxResults ?? 100;
    if (!Number.isInteger(max) || max < 1 || max > MODELS_MAX_RESULTS) {
      throw invalidArgument(`Invalid value for request parameter max_results. It must be at most ${MODELS_MAX_RESULTS}, but got value ${max}`, { field: 'max_results' });
    }
    const comparisons = parseFilter(query.filter, 'registered_models');
    const orderBy = parseOrderBy(query.orderBy, ['name', 'timestamp', 'creation_timestamp', 'last_updated_timestamp']);
    const offset = decodePageToken(query.pageToken);
    let q = this.db.selectFrom('reg_model').selectAll();
    for (const c of comparisons) {
      if (c.type === 'attribute') q = q.where(compare(this.stores.metadata.dialect, 'reg_model.name', c));
      else q = q.where(({ exists, selectFrom }) => exists(this.tagMatch(selectFrom('reg_model_tag as t').select(sql`1`.as('one')).whereRef('t.model_id', '=', 'reg_model.id'), c)));
    }
    const columns: Record<string, 'name' | 'created_ms' | 'updated_ms'> = { name: 'name', timestamp: 'updated_ms', last_updated_timestamp: 'updated_ms', creation_timestamp: 'created_ms' };
    for (const o of orderBy) q = q.orderBy(columns[o.key], o.ascending ? 'asc' : 'desc');
    if (!orderBy.some((o) => o.key === 'name')) q = q.orderBy('name', 'asc');
    const rows = await q.limit(max + 1).offset(offset).execute();
    return { models: await this.hydrateModels(rows.slice(0, max)), nextPageToken: rows.length > max ? encodePageToken(offset + max) : undefined };
  }

  private tagMatch<T extends SelectQueryBuilder<any, any, any>>(q: T, c: Comparison): T {
    return q.where('t.key', '=', c.key).where(compare(this.stores.metadata.dialect, 't.value', c)) as T;
  }

  async renameModel(name: string, newName: string, actor: Actor = {}): Promise<RegisteredModel> {
    checkModelName(newName, 'new_name');
    try {
      await this.db.transaction().execute(async (trx) => {
        const row = await this.modelRow(name, trx);
        await trx.updateTable('reg_model').set({ name: newName, updated_ms: this.now }).where('id', '=', row.id).execute();
        await trx.updateTable('reg_version').set({ updated_ms: this.now }).where('model_id', '=', row.id).execute();
        // Approvals, policies and webhooks refer to models by name: they follow the rename.
        await trx.updateTable('reg_approval').set({ model_name: newName }).where('model_name', '=', name).execute();
        await trx.updateTable('reg_policy').set({ model_name: newName }).where('model_name', '=', name).execute();
        await trx.updateTable('reg_webhook').set({ model_name: newName }).where('model_name', '=', name).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`Registered Model (name=${newName}) already exists.`);
      throw err;
    }
    this.emit('registered_model.renamed', { name: newName, previousName: name, user: actor.user });
    return this.getModel(newName);
  }

  async updateModel(name: string, patch: { description?: string }): Promise<RegisteredModel> {
    const row = await this.modelRow(name);
    await this.db.updateTable('reg_model').set({ description: patch.description ?? null, updated_ms: this.now }).where('id', '=', row.id).execute();
    return this.getModel(name);
  }

  async deleteModel(name: string, actor: Actor = {}): Promise<void> {
    const row = await this.modelRow(name);
    const versions = await this.db.selectFrom('reg_version').select('version').where('model_id', '=', row.id).execute();
    for (const v of versions) await this.checkGuards(name, v.version);
    await this.db.deleteFrom('reg_model').where('id', '=', row.id).execute();
    this.emit('registered_model.deleted', { name, user: actor.user });
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    const tag = checkTag(key, value);
    const row = await this.modelRow(name);
    await this.db
      .insertInto('reg_model_tag')
      .values({ model_id: row.id, ...tag })
      .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    const row = await this.modelRow(name);
    await this.db.deleteFrom('reg_model_tag').where('model_id', '=', row.id).where('key', '=', key).execute();
  }

  private async hydrateModels(rows: RegModelTable[]): Promise<RegisteredModel[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [tags, aliases, latest] = await Promise.all([
      this.db.selectFrom('reg_model_tag').selectAll().where('model_id', 'in', ids).execute(),
      this.db.selectFrom('reg_alias').selectAll().where('model_id', 'in', ids).orderBy('alias').execute(),
      this.db.selectFrom('reg_version').select(['model_id', 'stage', (eb) => eb.fn.max('version').as('version')]).where('model_id', 'in', ids).groupBy(['model_id', 'stage']).execute(),
    ]);
    const wanted = new Set(latest.map((l) => `${l.model_id}/${l.version}`));
    const latestRows = latest.length
      ? (await this.versionQuery().where('v.model_id', 'in', ids).where('v.version', 'in', [...new Set(latest.map((l) => Number(l.version)))]).execute()).filter((r) =>
          wanted.has(`${r.model_id}/${r.version}`),
        )
      : [];
    const latestVersions = await this.hydrateVersions(latestRows);
    return rows.map((r) => ({
      name: r.name,
      description: r.description ?? undefined,
      userId: r.user_id ?? undefined,
      createdAt: r.created_ms,
      updatedAt: r.updated_ms,
      tags: Object.fromEntries(tags.filter((t) => t.model_id === r.id).map((t) => [t.key, t.value])),
      aliases: aliases.filter((a) => a.model_id === r.id).map((a) => ({ alias: a.alias, version: a.version })),
      latestVersions: latestVersions.filter((v) => v.name === r.name).sort((a, b) => a.version - b.version),
    }));
  }

  // ---- model versions ----------------------------------------------------------------------

  private versionQuery() {
    return this.db.selectFrom('reg_version as v').innerJoin('reg_model as m', 'm.id', 'v.model_id').selectAll('v').select('m.name as name');
  }

  private async versionRow(name: string, version: number, db: Db = this.db): Promise<VersionRow> {
    const model = await this.modelRow(name, db);
    const row = await db.selectFrom('reg_version').selectAll().where('model_id', '=', model.id).where('version', '=', version).executeTakeFirst();
    if (!row) throw versionMissing(name, version);
    return { ...row, name: model.name };
  }

  private async hydrateVersions(rows: VersionRow[]): Promise<ModelVersion[]> {
    if (rows.length === 0) return [];
    const ids = [...new Set(rows.map((r) => r.model_id))];
    const [tags, aliases] = await Promise.all([
      this.db.selectFrom('reg_version_tag').selectAll().where('model_id', 'in', ids).execute(),
      this.db.selectFrom('reg_alias').selectAll().where('model_id', 'in', ids).orderBy('alias').execute(),
    ]);
    const parseJson = (text: string | null) => (text === null ? undefined : (JSON.parse(text) as unknown));
    return rows.map((r) => ({
      name: r.name,
      version: r.version,
      createdAt: r.created_ms,
      updatedAt: r.updated_ms,
      userId: r.user_id ?? undefined,
      stage: r.stage as Stage,
      description: r.description ?? undefined,
      source: r.source,
      runId: r.run_id ?? undefined,
      runLink: r.run_link ?? undefined,
      status: r.status as VersionStatus,
      statusMessage: r.status_message ?? undefined,
      tags: Object.fromEntries(tags.filter((t) => t.model_id === r.model_id && t.version === r.version).map((t) => [t.key, t.value])),
      aliases: aliases.filter((a) => a.model_id === r.model_id && a.version === r.version).map((a) => a.alias),
      flavor: r.flavor ?? undefined,
      sha256: r.sha256 ?? undefined,
      size: r.size ?? undefined,
      signature: parseJson(r.signature),
      inputExample: parseJson(r.input_example),
      modelUuid: r.model_uuid ?? undefined,
      parents: (parseJson(r.parents) as { name: string; version: number }[] | undefined) ?? [],
    }));
  }

  async getVersion(name: string, version: number | string): Promise<ModelVersion> {
    const [v] = await this.hydrateVersions([await this.settle(await this.versionRow(name, checkVersion(version)))]);
    return v;
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const model = await this.modelRow(name);
    const row = await this.db.selectFrom('reg_alias').select('version').where('model_id', '=', model.id).where('alias', '=', checkAlias(alias)).executeTakeFirst();
    if (!row) throw notFound(`Registered model alias ${alias} not found.`);
    return this.getVersion(name, row.version);
  }

  /** A version by number, by alias (`@champion` or `champion`), or `latest`. */
  async resolveVersion(name: string, ref: string | number): Promise<ModelVersion> {
    const text = String(ref);
    if (/^\d+$/.test(text)) return this.getVersion(name, text);
    if (text.toLowerCase() === 'latest') {
      const model = await this.modelRow(name);
      const row = await this.db.selectFrom('reg_version').select((eb) => eb.fn.max('version').as('v')).where('model_id', '=', model.id).executeTakeFirst();
      if (row?.v === null || row?.v === undefined) throw notFound(`Registered model ${name} has no versions`);
      return this.getVersion(name, Number(row.v));
    }
    return this.getVersionByAlias(name, text.replace(/^@/, ''));
  }

  async searchVersions(query: SearchQuery = {}): Promise<{ versions: ModelVersion[]; nextPageToken?: string }> {
    const max = query.maxResults ?? 10_000;
    if (!Number.isInteger(max) || max < 1 || max > VERSIONS_MAX_RESULTS) {
      throw invalidArgument(`Invalid value for request parameter max_results. It must be at most ${VERSIONS_MAX_RESULTS}, but got value ${max}`, { field: 'max_results' });
    }
    const comparisons = parseFilter(query.filter, 'model_versions');
    const orderBy = parseOrderBy(query.orderBy ?? ['last_updated_timestamp DESC', 'name ASC', 'version_number DESC'], [
      'name',
      'version_number',
      'creation_timestamp',
      'last_updated_timestamp',
    ]);
    const offset = decodePageToken(query.pageToken);
    const columns: Record<string, string> = { name: 'm.name', run_id: 'v.run_id', source_path: 'v.source', version_number: 'v.version' };
    let q = this.versionQuery();
    for (const c of comparisons) {
      if (c.type === 'attribute') q = q.where(compare(this.stores.metadata.dialect, columns[c.key], c));
      else
        q = q.where(({ exists, selectFrom }) =>
          exists(this.tagMatch(selectFrom('reg_version_tag as t').select(sql`1`.as('one')).whereRef('t.model_id', '=', 'v.model_id').whereRef('t.version', '=', 'v.version'), c)),
        );
    }
    const sortColumns: Record<string, 'm.name' | 'v.version' | 'v.created_ms' | 'v.updated_ms'> = {
      name: 'm.name',
      version_number: 'v.version',
      creation_timestamp: 'v.created_ms',
      last_updated_timestamp: 'v.updated_ms',
    };
    for (const o of orderBy) q = q.orderBy(sortColumns[o.key], o.ascending ? 'asc' : 'desc');
    if (!orderBy.some((o) => o.key === 'name')) q = q.orderBy('m.name', 'asc');
    if (!orderBy.some((o) => o.key === 'version_number')) q = q.orderBy('v.version', 'desc');
    const rows = await q.limit(max + 1).offset(offset).execute();
    return { versions: await this.hydrateVersions(rows.slice(0, max)), nextPageToken: rows.length > max ? encodePageToken(offset + max) : undefined };
  }

  /** All versions of a model, newest first. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    const model = await this.modelRow(name);
    return this.hydrateVersions(await this.versionQuery().where('v.model_id', '=', model.id).orderBy('v.version', 'desc').execute());
  }

  /** MLflow's get-latest-versions: the newest version in each requested stage (all stages when none given). */
  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    const wanted = new Set(stages.map((s) => canonicalStage(s)));
    const model = await this.getModel(name);
    return model.latestVersions.filter((v) => wanted.size === 0 || wanted.has(v.stage));
  }

  /** Streams bytes into the artifact store (the upload half of registering files). */
  putBlob(source: BlobSource): Promise<BlobInfo> {
    return this.stores.blobs.put(source);
  }

  async createVersion(input: CreateVersionInput, actor: Actor = {}): Promise<ModelVersion> {
    const name = checkModelName(input.name);
    const tags = Object.entries(input.tags ?? {}).map(([k, v]) => checkTag(k, v));
    let model = await this.db.selectFrom('reg_model').selectAll().where('name', '=', name).executeTakeFirst();
    if (!model && !input.createModel) throw modelMissing(name);
    if (input.runId && input.requireKnownRun && this.options.runs && !(await this.options.runs.getRun(input.runId))) {
      throw invalidArgument(`run ${input.runId} does not exist; give the id of a tracked run (modelport runs list) or leave out --run-id`, { field: 'runId' });
    }
    const parents = [...(input.parents ?? [])];
    let files: ManifestFile[] | undefined;
    let source = input.source;
    let flavor = input.flavor;
    let pending: string | undefined;
    if (input.files) {
      files = await this.statFiles(input.files);
    } else if (!source) {
      throw invalidArgument(`Missing value for required parameter 'source'.`, { field: 'source' });
    } else if (source.startsWith('models:/') && !LOGGED_MODEL_URI.test(source)) {
      const from = await this.resolveModelsUri(source);
      if (!from.sha256) throw failedPrecondition(`${source} has no stored artifact to register from`);
      files = (await this.manifestOf(from)).files;
      flavor ??= from.flavor;
      parents.push({ name: from.name, version: from.version });
    } else if (/^(file:|\/|\.|[A-Za-z]:\\)/.test(source) || !/^[A-Za-z][\w+.-]*:/.test(source)) {
      throw invalidArgument(`Invalid model version source: '${source}'. Local paths are not read by the server; upload the files (PUT /api/v1/registry/blobs) or give an artifact URI.`, { field: 'source' });
    } else {
      checkRemoteSource(source);
      const read = await this.readFromSources(source);
      if (typeof read === 'string') pending = read;
      else files = read;
    }
    for (const p of parents) await this.getVersion(p.name, p.version);

    const artifact = files ? await this.storeArtifact(files, { flavor, signature: input.signature, inputExample: input.inputExample }) : undefined;
    const inspected = artifact?.inspected;
    this.checkCodeModel(inspected?.flavor, actor, `registering ${name}`);
    const manifest = artifact?.manifest;
    if (manifest) source ??= `${UPLOAD_SOURCE_SCHEME}${manifest.sha256}`;
    // Created only once the version is known to be registrable: a refused file leaves no empty model behind.
    if (!model) {
      await this.createModel({ name }, actor).catch((err) => {
        if (!(isModelportError(err) && err.code === 'AlreadyExists')) throw err;
      });
      model = await this.modelRow(name);
    }
    const now = this.now;
    const version = await this.db.transaction().execute(async (trx) => {
      const allocated = await trx
        .updateTable('reg_model')
        .set((eb) => ({ next_version: eb('next_version', '+', 1), updated_ms: now }))
        .where('id', '=', model!.id)
        .returning('next_version')
        .executeTakeFirst();
      if (!allocated) throw modelMissing(name);
      const number = allocated.next_version - 1;
      const row: RegVersionTable = {
        model_id: model!.id,
        version: number,
        created_ms: now,
        updated_ms: now,
        user_id: actor.user ?? null,
        stage: 'None',
        description: input.description ?? null,
        source: source!,
        run_id: input.runId || null,
        run_link: input.runLink || null,
        status: pending ? 'PENDING_REGISTRATION' : 'READY',
        status_message: pending ?? null,
        ...artifactColumns(inspected, manifest),
        parents: parents.length ? JSON.stringify(parents) : null,
      };
      await trx.insertInto('reg_version').values(row).execute();
      if (tags.length) await trx.insertInto('reg_version_tag').values(tags.map((t) => ({ model_id: model!.id, version: number, ...t }))).execute();
      return number;
    });
    const created = await this.getVersion(name, version);
    this.emit('model_version.created', {
      name,
      version,
      source: created.source,
      runId: created.runId,
      flavor: created.flavor,
      sha256: created.sha256,
      status: created.status,
      user: actor.user,
    });
    return created;
  }

  /** Checks the files as a model (flavor, MLmodel, signature) and records their manifest. */
  private async storeArtifact(files: ManifestFile[], hints: { flavor?: string; signature?: unknown; inputExample?: unknown }) {
    const inspected = await inspectArtifact(this.stores.blobs, files, {
      ...hints,
      now: this.now,
      describe: (f, file) => this.describeWithRuntime(f, file),
    });
    if (inspected.generatedMlmodel !== undefined) {
      const blob = await this.stores.blobs.put(inspected.generatedMlmodel);
      files = [...files, { path: 'MLmodel', ...blob }];
    }
    return { inspected, manifest: encodeManifest(files) };
  }

  /**
   * A version registered before its files existed (MLflow clients often register `runs:/ID/model`
   * and upload after) is settled when it is next read: READY once its source holds files,
   * FAILED_REGISTRATION when those files are not a model, still pending (with the reason) else.
   */
  private async settle(row: VersionRow): Promise<VersionRow> {
    if (row.status !== 'PENDING_REGISTRATION') return row;
    const read = await this.readFromSources(row.source);
    let set: Partial<RegVersionTable>;
    if (typeof read === 'string') {
      if (read === row.status_message) return row;
      set = { status_message: read };
    } else {
      try {
        const { inspected, manifest } = await this.storeArtifact(read, {});
        set = { status: 'READY', status_message: null, ...artifactColumns(inspected, manifest) };
      } catch (err) {
        if (!isModelportError(err) || err.code !== 'InvalidArgument') throw err;
        set = { status: 'FAILED_REGISTRATION', status_message: err.message };
      }
    }
    set.updated_ms = this.now;
    await this.db.updateTable('reg_version').set(set).where('model_id', '=', row.model_id).where('version', '=', row.version).where('status', '=', 'PENDING_REGISTRATION').execute();
    return this.versionRow(row.name, row.version);
  }

  /**
   * Loads a small bare ONNX/XGBoost file with the model runtimes: a deeper check than the header
   * and the signature for the MLmodel written beside it. Large files keep the header check only
   * (loading would hold them in memory); JS modules are code and are not run at registration.
   */
  private async describeWithRuntime(flavor: ModelFlavor, file: ManifestFile): Promise<unknown> {
    if (flavor === 'js' || file.size > RUNTIME_CHECK_MAX_BYTES) return undefined;
    const dir = await mkdtemp(join(tmpdir(), 'mp-register-'));
    try {
      const path = join(dir, checkArtifactPath(file.path).split('/').pop()!);
      await pipeline(await this.stores.blobs.get(file.sha256), createWriteStream(path));
      const { loadModel } = await import('../models/index.js');
      let predictor;
      try {
        predictor = await loadModel(path, { flavor, threads: 1 });
      } catch (err) {
        // The temp path means nothing to the caller; name the file as they sent it.
        const reason = (err as Error).message.split(path).join(file.path);
        throw invalidArgument(`${file.path} is not a working ${flavor} model: ${reason}`, { field: 'flavor' });
      }
      const spec = (t: { name: string; dtype: string; shape: readonly number[] }) => ({
        type: 'tensor',
        'tensor-spec': { dtype: t.dtype === 'string' ? 'str' : t.dtype, shape: [-1, ...t.shape] },
        name: t.name,
      });
      const signature = { inputs: JSON.stringify(predictor.signature.inputs.map(spec)), outputs: JSON.stringify(predictor.signature.outputs.map(spec)) };
      await predictor.close();
      return signature;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async statFiles(files: { path: string; sha256: string }[]): Promise<ManifestFile[]> {
    return Promise.all(
      files.map(async (f) => {
        checkArtifactPath(f.path);
        if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw invalidArgument(`files: "${f.path}" has sha256 "${f.sha256}", which is not a sha256 hex digest`, { field: 'files' });
        const info = await this.stores.blobs.stat(f.sha256);
        if (!info) throw invalidArgument(`files: "${f.path}" refers to blob ${f.sha256}, which was not uploaded`, { field: 'files' });
        return { path: f.path, sha256: f.sha256, size: info.size };
      }),
    );
  }

  private async resolveModelsUri(uri: string): Promise<ModelVersion> {
    const m = /^models:\/([^/@]+)(?:\/(\w+)|@([\w-]+))$/.exec(uri);
    if (!m) throw invalidArgument(`source '${uri}' is not a models:/NAME/VERSION or models:/NAME@ALIAS URI`, { field: 'source' });
    return this.resolveVersion(decodeURIComponent(m[1]), m[2] ?? `@${m[3]}`);
  }

  /** Copies the files under `uri` into the artifact store; a string is the reason it could not (yet). */
  private async readFromSources(uri: string): Promise<ManifestFile[] | string> {
    for (const reader of this.options.artifactSources ?? []) {
      const listed = await reader.list(uri).catch((err) => {
        if (isModelportError(err) && err.code === 'NotFound') return `waiting for files at '${uri}': ${err.message}`;
        throw err;
      });
      if (!listed) continue;
      if (typeof listed === 'string') return listed;
      if (listed.length === 0) return `waiting for files at '${uri}': it holds none yet; the version becomes READY when they are uploaded`;
      const out: ManifestFile[] = [];
      for (const f of listed) {
        const info = await this.stores.blobs.put(await reader.open(uri, checkArtifactPath(f.path)));
        out.push({ path: f.path, ...info });
      }
      return out;
    }
    return `modelport cannot read artifacts at '${uri}' yet: no artifact source serves this URI; the version stays PENDING_REGISTRATION`;
  }

  async updateVersion(name: string, version: number | string, patch: { description?: string }): Promise<ModelVersion> {
    const row = await this.versionRow(name, checkVersion(version));
    await this.db.updateTable('reg_version').set({ description: patch.description ?? null, updated_ms: this.now }).where('model_id', '=', row.model_id).where('version', '=', row.version).execute();
    return this.getVersion(name, row.version);
  }

  private async checkGuards(name: string, version: number): Promise<void> {
    for (const guard of this.guards) {
      const reason = await guard({ name, version });
      if (reason) throw failedPrecondition(`Model version ${name}/${version} is in use and cannot be deleted: ${reason}`, { inUse: reason });
    }
  }

  async deleteVersion(name: string, version: number | string, actor: Actor = {}): Promise<void> {
    const row = await this.versionRow(name, checkVersion(version));
    await this.checkGuards(row.name, row.version);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('reg_version').where('model_id', '=', row.model_id).where('version', '=', row.version).execute();
      await trx.updateTable('reg_model').set({ updated_ms: this.now }).where('id', '=', row.model_id).execute();
    });
    this.emit('model_version.deleted', { name: row.name, version: row.version, user: actor.user });
  }

  async setVersionTag(name: string, version: number | string, key: string, value: string, actor: Actor = {}): Promise<void> {
    const tag = checkTag(key, value);
    const row = await this.versionRow(name, checkVersion(version));
    await this.db
      .insertInto('reg_version_tag')
      .values({ model_id: row.model_id, version: row.version, ...tag })
      .onConflict((oc) => oc.columns(['model_id', 'version', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
    this.emit('model_version.tag_set', { name: row.name, version: row.version, ...tag, user: actor.user });
  }

  async deleteVersionTag(name: string, version: number | string, key: string, actor: Actor = {}): Promise<void> {
    const row = await this.versionRow(name, checkVersion(version));
    await this.db.deleteFrom('reg_version_tag').where('model_id', '=', row.model_id).where('version', '=', row.version).where('key', '=', key).execute();
    this.emit('model_version.tag_deleted', { name: row.name, version: row.version, key, user: actor.user });
  }

  // ---- aliases and stages ------------------------------------------------------------------

  private async guardedByPolicy(name: string, kind: 'alias' | 'stage', target: string): Promise<void> {
    if (protects(await policyFor(this.db, name), kind, target)) {
      const what = kind === 'alias' ? `alias "${target}"` : `stage ${target}`;
      throw permissionDenied(
        `${what} of model ${name} is protected by an approval policy: request the change (POST /api/v1/approvals or \`modelport models request\`) and have another user approve it`,
      );
    }
  }

  /** Points `alias` at `version` (creating or moving it) in one statement. */
  async setAlias(name: string, alias: string, version: number | string, actor: Actor = {}): Promise<void> {
    checkAlias(alias);
    const v = checkVersion(version);
    await this.guardedByPolicy(name, 'alias', alias);
    const previous = await this.db.transaction().execute((trx) => this.moveAlias(trx, name, alias, v, actor));
    this.emit('model_version.alias_set', { name, alias, version: v, previousVersion: previous, user: actor.user });
  }

  private async moveAlias(trx: Db, name: string, alias: string, version: number, actor: Actor): Promise<number | undefined> {
    const row = await this.versionRow(name, version, trx);
    // A deployment following the alias would load the version: moving it onto code is deploying code.
    this.checkCodeModel(row.flavor, actor, `moving alias ${alias} of ${name} onto version ${version}`);
    const existing = await trx.selectFrom('reg_alias').select('version').where('model_id', '=', row.model_id).where('alias', '=', alias).executeTakeFirst();
    const now = this.now;
    await trx
      .insertInto('reg_alias')
      .values({ model_id: row.model_id, alias, version, updated_ms: now, updated_by: actor.user ?? null })
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version, updated_ms: now, updated_by: actor.user ?? null }))
      .execute();
    await trx.updateTable('reg_model').set({ updated_ms: now }).where('id', '=', row.model_id).execute();
    return existing && existing.version !== version ? existing.version : undefined;
  }

  async deleteAlias(name: string, alias: string, actor: Actor = {}): Promise<void> {
    checkAlias(alias);
    await this.guardedByPolicy(name, 'alias', alias);
    const model = await this.modelRow(name);
    const existing = await this.db.selectFrom('reg_alias').select('version').where('model_id', '=', model.id).where('alias', '=', alias).executeTakeFirst();
    if (!existing) return;
    await this.db.deleteFrom('reg_alias').where('model_id', '=', model.id).where('alias', '=', alias).execute();
    this.emit('model_version.alias_deleted', { name, alias, version: existing.version, user: actor.user });
  }

  async transitionStage(name: string, version: number | string, stage: string, archiveExistingVersions: boolean, actor: Actor = {}): Promise<ModelVersion> {
    const target = canonicalStage(stage);
    const v = checkVersion(version);
    this.checkArchive(target, archiveExistingVersions);
    await this.guardedByPolicy(name, 'stage', target);
    const change = await this.db.transaction().execute((trx) => this.transition(trx, name, v, target, archiveExistingVersions));
    this.emit('model_version.stage_changed', { name, version: v, ...change, to: target, user: actor.user });
    return this.getVersion(name, v);
  }

  private checkArchive(stage: Stage, archive: boolean): void {
    if (archive && !ACTIVE_STAGES.includes(stage)) {
      throw invalidArgument(`Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ${ACTIVE_STAGES.join(', ')}`);
    }
  }

  private async transition(trx: Db, name: string, version: number, stage: Stage, archive: boolean): Promise<{ from: string; archived: number[] }> {
    const row = await this.versionRow(name, version, trx);
    const now = this.now;
    let archived: number[] = [];
    if (archive) {
      const others = await trx.selectFrom('reg_version').select('version').where('model_id', '=', row.model_id).where('stage', '=', stage).where('version', '!=', version).execute();
      archived = others.map((o) => o.version).sort((a, b) => a - b);
      if (archived.length) {
        await trx.updateTable('reg_version').set({ stage: 'Archived', updated_ms: now }).where('model_id', '=', row.model_id).where('version', 'in', archived).execute();
      }
    }
    await trx.updateTable('reg_version').set({ stage, updated_ms: now }).where('model_id', '=', row.model_id).where('version', '=', version).execute();
    await trx.updateTable('reg_model').set({ updated_ms: now }).where('id', '=', row.model_id).execute();
    return { from: row.stage, archived };
  }

  /**
   * Where MLflow clients download the version from: its source URI, or for a copy registered from
   * `models:/…` the download URI of the version it was copied from, as MLflow's stores record it.
   */
  async downloadUri(name: string, version: number | string): Promise<string> {
    const row = await this.versionRow(name, checkVersion(version));
    if (!row.source.startsWith('models:/') || !row.parents) return row.source;
    // The models:/ source is resolved last among the parents at registration.
    const from = (JSON.parse(row.parents) as { name: string; version: number }[]).at(-1)!;
    return this.downloadUri(from.name, from.version);
  }

  // ---- artifacts ---------------------------------------------------------------------------

  private async manifestOf(v: { name: string; version: number }): Promise<Manifest & { sha256: string }> {
    const row = await this.settle(await this.versionRow(v.name, v.version));
    if (!row.manifest || !row.sha256) throw failedPrecondition(`Model version ${v.name}/${v.version} has no artifact stored in modelport (status ${row.status})`);
    return { ...decodeManifest(row.manifest, row.sha256, `model version ${v.name}/${v.version}`), sha256: row.sha256 };
  }

  /** The version's files (path, sha256, size) and the manifest hash, verified. */
  async manifest(name: string, version: number | string): Promise<Manifest & { sha256: string }> {
    return this.manifestOf({ name, version: checkVersion(version) });
  }

  /** Streams one file of the version's artifact; the stream fails if its bytes do not match. */
  async openFile(name: string, version: number | string, path: string): Promise<{ stream: Readable; size: number }> {
    const manifest = await this.manifest(name, version);
    const file = manifest.files.find((f) => f.path === path);
    if (!file) throw notFound(`Model version ${name}/${version} has no file ${path}`);
    return { stream: await this.stores.blobs.get(file.sha256), size: file.size };
  }

  /** The local folder holding the artifact of manifest hash `sha256`, when a complete copy is there. */
  cachedCopy(sha256: string): string | undefined {
    const dir = join(this.cacheDir, sha256);
    return /^[0-9a-f]{64}$/.test(sha256) && existsSync(join(dir, '.complete')) ? dir : undefined;
  }

  /**
   * Writes the version's artifact into a folder (cached by its sha256) after checking every file
   * against the manifest; content that no longer matches is refused with FailedPrecondition.
   */
  async materialize(name: string, ref: number | string): Promise<{ path: string; version: ModelVersion }> {
    const version = await this.resolveVersion(name, ref);
    const manifest = await this.manifestOf(version);
    const dir = join(this.cacheDir, manifest.sha256);
    if (existsSync(join(dir, '.complete'))) return { path: dir, version };
    const tmp = `${dir}.tmp-${randomUUID()}`;
    try {
      for (const file of manifest.files) {
        const target = join(tmp, checkArtifactPath(file.path));
        await mkdir(dirname(target), { recursive: true });
        await pipeline(await this.stores.blobs.get(file.sha256), createWriteStream(target));
      }
      await writeFile(join(tmp, '.complete'), manifest.sha256);
      await this.publish(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (isModelportError(err)) throw failedPrecondition(`Model version ${name}/${version.version}: ${err.message}`);
      throw err;
    }
    return { path: dir, version };
  }

  /**
   * Moves a complete copy into place. A folder already there is never removed while complete:
   * another load (in this process or another sharing the data folder) may be reading it, so a
   * complete one wins and ours is dropped; only an incomplete leftover is moved aside first.
   */
  private async publish(tmp: string, dir: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, dir);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!['ENOTEMPTY', 'EEXIST', 'EPERM'].includes(code) || attempt > 2) throw err;
      }
      if (existsSync(join(dir, '.complete'))) {
        await rm(tmp, { recursive: true, force: true });
        return;
      }
      const stale = `${dir}.stale-${randomUUID()}`;
      await rename(dir, stale).catch(() => undefined);
      await rm(stale, { recursive: true, force: true });
    }
  }

  /** Loads a version (number, alias or 'latest') with the model runtimes, after verifying its content. */
  async loadVersion(name: string, ref: number | string, options: LoadOptions = {}): Promise<Predictor> {
    const { path, version } = await this.materialize(name, ref);
    if (!version.flavor) throw failedPrecondition(`Model version ${version.name}/${version.version} has no flavor modelport can serve (onnx, xgboost, js)`);
    const { loadModel } = await import('../models/index.js');
    return loadModel(path, { flavor: version.flavor, ...options });
  }

  // ---- approvals ---------------------------------------------------------------------------

  putPolicy(input: PolicyInput): Promise<ApprovalPolicy> {
    if (input.model !== undefined) checkModelName(input.model, 'model');
    return putPolicy(this.db, input, this.now);
  }

  listPolicies(): Promise<ApprovalPolicy[]> {
    return listPolicies(this.db);
  }

  deletePolicy(id: string): Promise<void> {
    return deletePolicy(this.db, id);
  }

  policyFor(name: string): Promise<ApprovalPolicy | undefined> {
    return policyFor(this.db, name);
  }

  async requestApproval(
    input: { name: string; version: number | string; alias?: string; stage?: string; archiveExistingVersions?: boolean; comment?: string },
    actor: Actor,
  ): Promise<Approval> {
    const user = requireUser(actor, 'requesting an approval');
    if ((input.alias === undefined) === (input.stage === undefined)) throw invalidArgument('an approval request names exactly one of alias or stage');
    const kind = input.alias !== undefined ? 'alias' : 'stage';
    const target = kind === 'alias' ? checkAlias(input.alias) : canonicalStage(input.stage);
    const archive = !!input.archiveExistingVersions;
    if (kind === 'stage') this.checkArchive(target as Stage, archive);
    else if (archive) throw invalidArgument('archive_existing_versions applies to stage transitions only');
    const version = await this.getVersion(input.name, input.version);
    if (version.status !== 'READY') throw failedPrecondition(`Model version ${version.name}/${version.version} is ${version.status}, not READY`);
    const row = {
      id: randomUUID(),
      model_name: version.name,
      version: version.version,
      kind,
      target,
      archive_existing: archive ? 1 : 0,
      status: 'PENDING',
      requested_by: user,
      requested_ms: this.now,
      request_comment: input.comment ?? null,
      decided_by: null,
      decided_ms: null,
      decision_comment: null,
    };
    await this.db.insertInto('reg_approval').values(row).execute();
    const approval = toApproval(row);
    this.emit('approval.requested', approval);
    return approval;
  }

  async getApproval(id: string): Promise<Approval> {
    const row = await this.db.selectFrom('reg_approval').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`approval ${id} does not exist`);
    return toApproval(row);
  }

  async listApprovals(filter: { name?: string; status?: string } = {}): Promise<Approval[]> {
    let q = this.db.selectFrom('reg_approval').selectAll();
    if (filter.name) q = q.where('model_name', '=', filter.name);
    if (filter.status) q = q.where('status', '=', filter.status.toUpperCase());
    return (await q.orderBy('requested_ms', 'desc').orderBy('id').execute()).map(toApproval);
  }

  /** Approves a pending request and applies it, atomically; the approver must differ from the requester and fit the policy. */
  async approve(id: string, actor: Actor, comment?: string): Promise<Approval> {
    return this.decide(id, actor, 'APPROVED', comment);
  }

  async reject(id: string, actor: Actor, comment?: string): Promise<Approval> {
    return this.decide(id, actor, 'REJECTED', comment);
  }

  private async decide(id: string, actor: Actor, decision: 'APPROVED' | 'REJECTED', comment: string | undefined): Promise<Approval> {
    const approval = await this.getApproval(id);
    if (approval.status !== 'PENDING') throw failedPrecondition(`approval ${id} was already ${approval.status.toLowerCase()} by ${approval.decidedBy}`);
    checkApprover(await policyFor(this.db, approval.name), actor, approval.requestedBy);
    const now = this.now;
    const applied = await this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('reg_approval')
        .set({ status: decision, decided_by: actor.user!, decided_ms: now, decision_comment: comment ?? null })
        .where('id', '=', id)
        .where('status', '=', 'PENDING')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw failedPrecondition(`approval ${id} was decided concurrently`);
      if (decision === 'REJECTED') return undefined;
      if (approval.kind === 'alias') return { previous: await this.moveAlias(trx, approval.name, approval.target, approval.version, actor) };
      return { change: await this.transition(trx, approval.name, approval.version, approval.target as Stage, approval.archiveExistingVersions) };
    });
    const decided = await this.getApproval(id);
    this.emit('approval.decided', decided);
    if (applied && 'change' in applied && applied.change) {
      this.emit('model_version.stage_changed', { name: approval.name, version: approval.version, ...applied.change, to: approval.target, user: actor.user });
    } else if (applied) {
      this.emit('model_version.alias_set', { name: approval.name, alias: approval.target, version: approval.version, previousVersion: applied.previous, user: actor.user });
    }
    return decided;
  }

  // ---- lineage -----------------------------------------------------------------------------

  /** version → run → datasets and code version; and the versions it was derived from, recursively (depth-limited). */
  async lineage(name: string, version: number | string, depth = 5): Promise<LineageGraph> {
    const nodes = new Map<string, LineageNode>();
    const edges: LineageGraph['edges'] = [];
    const edge = (from: string, to: string, relation: LineageGraph['edges'][number]['relation']) => {
      if (!edges.some((e) => e.from === from && e.to === to && e.relation === relation)) edges.push({ from, to, relation });
    };
    const visit = async (v: ModelVersion, left: number): Promise<string> => {
      const id = `model_version:${v.name}/${v.version}`;
      if (nodes.has(id)) return id;
      nodes.set(id, {
        id,
        kind: 'model_version',
        label: `${v.name} v${v.version}`,
        data: { name: v.name, version: v.version, flavor: v.flavor, sha256: v.sha256, source: v.source, stage: v.stage, aliases: v.aliases, runId: v.runId },
      });
      const parents = [...v.parents];
      if (v.runId) {
        const runId = `run:${v.runId}`;
        const run = await this.options.runs?.getRun(v.runId);
        nodes.set(runId, {
          id: runId,
          kind: 'run',
          label: run?.name ?? v.runId,
          data: run ? { runId: run.runId, experimentId: run.experimentId, name: run.name, status: run.status } : { runId: v.runId, known: false },
        });
        edge(id, runId, 'produced_by');
        for (const d of run?.datasets ?? []) {
          const did = `dataset:${d.name}@${d.digest}`;
          nodes.set(did, { id: did, kind: 'dataset', label: `${d.name} (${d.digest})`, data: { ...d } });
          edge(runId, did, 'trained_on');
        }
        const commit = run?.tags['mlflow.source.git.commit'];
        if (commit) {
          const cid = `code:${commit}`;
          nodes.set(cid, {
            id: cid,
            kind: 'code',
            label: commit.slice(0, 12),
            data: { commit, repoUrl: run.tags['mlflow.source.git.repoURL'], source: run.tags['mlflow.source.name'], branch: run.tags['mlflow.source.git.branch'] },
          });
          edge(runId, cid, 'code_version');
        }
        parents.push(...(run?.modelInputs ?? []));
      }
      if (left > 0) {
        for (const p of parents) {
          const parent = await this.getVersion(p.name, p.version).catch(() => undefined);
          if (parent) edge(id, await visit(parent, left - 1), 'derived_from');
        }
      }
      return id;
    };
    const root = await visit(await this.getVersion(name, version), depth);
    return { root, nodes: [...nodes.values()], edges };
  }

  /** Lets in-flight webhook deliveries finish (tests, shutdown). */
  idle(): Promise<void> {
    return this.webhooks.idle();
  }

  async close(): Promise<void> {
    this.webhooks.close();
    for (const source of this.options.artifactSources ?? []) await source.close?.();
  }
}

export async function createRegistryService(stores: RegistryStores, options: RegistryOptions = {}): Promise<RegistryService> {
  const service = new RegistryService(stores, options);
  await service.webhooks.resume();
  return service;
}

function artifactColumns(
  inspected: Awaited<ReturnType<typeof inspectArtifact>> | undefined,
  manifest: ReturnType<typeof encodeManifest> | undefined,
): Pick<RegVersionTable, 'flavor' | 'sha256' | 'size' | 'manifest' | 'signature' | 'input_example' | 'model_uuid'> {
  return {
    flavor: inspected?.flavor ?? null,
    sha256: manifest?.sha256 ?? null,
    size: manifest?.size ?? null,
    manifest: manifest?.text ?? null,
    signature: inspected?.signature === undefined ? null : JSON.stringify(inspected.signature),
    input_example: inspected?.inputExample === undefined ? null : JSON.stringify(inspected.inputExample),
    model_uuid: inspected?.modelUuid ?? null,
  };
}

/**
 * MLflow's `_validate_non_local_source_contains_relative_paths`: a remote source (http, https,
 * s3a, ftp, dbfs, mlflow-artifacts, ...) must be an absolute path without `..`, NULs or segments
 * that normalise away, however often it is percent-encoded.
 */
function checkRemoteSource(source: string): void {
  let decoded = source;
  for (let next = decodePlus(decoded); next !== decoded; next = decodePlus(decoded)) decoded = next;
  const afterScheme = decoded.replace(/^[A-Za-z][\w+.-]*:(\/\/[^/]*)?/, '');
  const path = afterScheme.split(/[?#]/)[0].replace(/\/+/g, '/').replace(/\/$/, '');
  const normalised = posix.normalize(path || '/').replace(/\/$/, '');
  if (decoded.includes('\0') || decoded.split('/').includes('..') || (path !== '' && normalised !== path)) {
    throw invalidArgument(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
      { field: 'source' },
    );
  }
}

function decodePlus(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
