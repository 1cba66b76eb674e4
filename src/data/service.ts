/**
 * The datasets service: content-addressed dataset versions (blob first, then metadata in one
 * transaction), profiles, editable schemas, validation, diffs, and lineage links to runs and
 * models that tracking and the registry write through it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument, notFound, ModelportError } from '../core/errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { isUniqueViolation, type MetadataStore } from '../storage/metadata.js';
import { tableFormatOf, type TableFormat } from './read-table.js';
import type { DatasetTables, DatasetVersionTable } from './migrations.js';
import { DuckSession, describeSource, readerSql, reading, relativeNames, resolveSource, type SourceOptions, type TableSource } from './source.js';
import { profileRelation, rawColumns } from './profile.js';
import { checkSchema, inferSchema } from './schema.js';
import { piiColumns, redactProfile, redactReport } from './pii.js';
import { validateRelation, type Relation } from './validate.js';
import { loadColumns, type MemoryColumn } from './memory.js';
import { diffProfiles } from './compare.js';
import type {
  DatasetDiff,
  DatasetSchema,
  DatasetSummary,
  DatasetVersion,
  Lineage,
  MlflowDataset,
  Profile,
  ValidationReport,
} from './types.js';

export interface DatasetsServiceDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  /** A folder for uploads in flight. */
  workDir: string;
}

export interface RegisterOptions extends SourceOptions {
  description?: string;
  /** Who registered it (a user or token name). */
  creator?: string;
  /** Where the data came from; defaults to the absolute path. */
  source?: string;
  /** Refuse the version (FailedPrecondition listing the anomalies) when it breaks the dataset's schema. */
  validate?: boolean;
}

export interface UploadOptions extends RegisterOptions {
  /** The uploaded file's name; its extension gives the format unless `format` is set. */
  filename?: string;
  /** Largest upload accepted, in bytes. */
  maxBytes?: number;
}

export interface RegisterResult {
  version: DatasetVersion;
  /** False when this content was already a version of the dataset (no new version was written). */
  created: boolean;
  /** True when that version was given a new description instead. */
  described?: boolean;
}

export interface VersionRef {
  name: string;
  /** Omitted: the latest version. */
  version?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function checkDatasetName(name: string): string {
  if (!NAME.test(name)) {
    throw invalidArgument(`dataset name "${name.slice(0, 80)}" must start with a letter or digit and use only letters, digits, ".", "_" and "-" (at most 255)`);
  }
  return name;
}

/** Parses "NAME", "NAME@3" or "NAME@latest". */
export function parseVersionRef(ref: string): VersionRef {
  const at = ref.lastIndexOf('@');
  if (at < 0) return { name: checkDatasetName(ref) };
  const name = checkDatasetName(ref.slice(0, at));
  const v = ref.slice(at + 1);
  if (v === 'latest') return { name };
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalidArgument(`"${ref}": version must be a positive whole number or "latest"`);
  return { name, version: Number(v) };
}

/** Short digest for MLflow's `digest` field (at most 36 characters there). */
export const MLFLOW_DIGEST_LENGTH = 16;

const MLFLOW_TYPES = { int: 'long', float: 'double', string: 'string', bool: 'boolean', timestamp: 'datetime' } as const;

async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

interface Content {
  digest: string;
  manifest?: { path: string; sha256: string; size: number }[];
}

async function contentOf(source: TableSource): Promise<Content> {
  if (source.kind === 'file') return { digest: (await sha256File(source.files[0])).sha256 };
  const names = relativeNames(source);
  const manifest = [];
  for (const [i, file] of source.files.entries()) manifest.push({ path: names[i], ...(await sha256File(file)) });
  return { digest: createHash('sha256').update(manifestBytes(manifest)).digest('hex'), manifest };
}

const manifestBytes = (manifest: NonNullable<Content['manifest']>) => Buffer.from(JSON.stringify({ files: manifest }));

export class DatasetsService {
  private readonly db: Kysely<DatasetTables>;

  private readonly duckTemp: string;

  constructor(private readonly deps: DatasetsServiceDeps) {
    this.db = deps.metadata.db as Kysely<DatasetTables>;
    this.duckTemp = join(deps.workDir, 'duckdb-tmp');
  }

  /** Registers a file or folder as a new version of `name`; identical content is not registered twice. */
  async register(name: string, path: string, options: RegisterOptions = {}): Promise<RegisterResult> {
    checkDatasetName(name);
    const source = resolveSource(path, options);
    const content = await contentOf(source);
    const existing = await this.findVersion(name, content.digest);
    if (existing) return this.describeExisting(existing, options.description);

    const twin = await this.db.selectFrom('mp_dataset_version').select('profile_json').where('digest', '=', content.digest).executeTakeFirst();
    let profile: Profile;
    if (twin && !options.validate) {
      profile = JSON.parse(twin.profile_json);
    } else {
      const session = await DuckSession.open(this.duckTemp);
      try {
        const columns = await describeSource(session, source);
        profile = await reading(session, source, () => profileRelation(session, readerSql(source), rawColumns(columns)));
        if (profile.rowCount === 0) {
          throw invalidArgument(`${path}: no data rows${source.format === 'csv' ? ' (only a header)' : ''}; a dataset version needs at least one row`);
        }
        if (options.validate) await this.refuseAnomalies(name, { session, from: readerSql(source), columns }, source);
      } finally {
        session.close();
      }
    }

    // A profile is stored without the values of columns the dataset's schema marks as PII.
    profile = redactProfile(profile, await this.piiOf(name));
    await this.storeBlobs(source, content);
    const schema = inferSchema(profile);
    return this.insertVersion(name, {
      digest: content.digest,
      kind: source.kind,
      format: source.format,
      size_bytes: source.sizeBytes,
      row_count: profile.rowCount,
      column_count: profile.columnCount,
      source: options.source ?? (source.kind === 'file' ? source.files[0] : resolve(source.path)),
      creator: options.creator ?? 'unknown',
      description: options.description ?? '',
      schema_json: JSON.stringify(schema),
      profile_json: JSON.stringify(profile),
      manifest_json: content.manifest ? JSON.stringify(content.manifest) : null,
    });
  }

  /** Registers a streamed file (an HTTP upload): it is spooled to the work folder, then registered. */
  async registerUpload(name: string, body: AsyncIterable<Uint8Array>, options: UploadOptions = {}): Promise<RegisterResult> {
    checkDatasetName(name);
    return this.withUpload(body, options, (path) =>
      this.register(name, path, { ...options, source: options.source ?? `upload:${options.filename ?? 'data'}` }),
    );
  }

  private async refuseAnomalies(name: string, relation: Relation, source: TableSource): Promise<void> {
    const report = await this.validateWith(name, relation, undefined).catch((err) => {
      if (err instanceof ModelportError && err.code === 'NotFound') return undefined;
      throw err;
    });
    if (report && !report.valid) {
      throw failedPrecondition(
        `${source.path}: ${report.anomalies.length} anomal${report.anomalies.length === 1 ? 'y' : 'ies'} against the schema of "${name}": ${report.anomalies.map((a) => a.message).join('; ')}`,
        { anomalies: report.anomalies },
      );
    }
  }

  private async storeBlobs(source: TableSource, content: Content): Promise<void> {
    if (!content.manifest) {
      const stored = await this.deps.blobs.put(createReadStream(source.files[0], { highWaterMark: 1 << 20 }));
      if (stored.sha256 !== content.digest) throw failedPrecondition(`${source.path}: the file changed while it was being registered; try again`);
      return;
    }
    for (const [i, file] of source.files.entries()) {
      const stored = await this.deps.blobs.put(createReadStream(file, { highWaterMark: 1 << 20 }));
      if (stored.sha256 !== content.manifest[i].sha256) throw failedPrecondition(`${file}: the file changed while it was being registered; try again`);
    }
    await this.deps.blobs.put(manifestBytes(content.manifest));
  }

  private async insertVersion(name: string, row: Omit<DatasetVersionTable, 'name' | 'version' | 'created_ms'>): Promise<RegisterResult> {
    // Two writers may pick the same next number; the loser retries with the next one.
    for (let attempt = 0; ; attempt++) {
      const now = this.deps.clock.now();
      try {
        const version = await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('mp_dataset')
            .values({ name, description: row.description, schema_json: row.schema_json, created_ms: now, updated_ms: now })
            .onConflict((oc) => oc.column('name').doNothing())
            .execute();
          const last = await trx
            .selectFrom('mp_dataset_version')
            .select((eb) => eb.fn.max('version').as('v'))
            .where('name', '=', name)
            .executeTakeFirst();
          const version = Number(last?.v ?? 0) + 1;
          await trx.insertInto('mp_dataset_version').values({ ...row, name, version, created_ms: now }).execute();
          await trx.updateTable('mp_dataset').set({ updated_ms: now }).where('name', '=', name).execute();
          return version;
        });
        return { version: await this.get({ name, version }), created: true };
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 20) throw err;
        const same = await this.findVersion(name, row.digest);
        if (same) return { version: same, created: false };
      }
    }
  }

  /** Registering the same content again with a description is how people correct one: keep it. */
  private async describeExisting(version: DatasetVersion, description: string | undefined): Promise<RegisterResult> {
    if (description === undefined || description === version.description) return { version, created: false };
    await this.db
      .updateTable('mp_dataset_version')
      .set({ description })
      .where('name', '=', version.name)
      .where('version', '=', version.version)
      .execute();
    return { version: { ...version, description }, created: false, described: true };
  }

  private async findVersion(name: string, digest: string): Promise<DatasetVersion | undefined> {
    const row = await this.db.selectFrom('mp_dataset_version').select('version').where('name', '=', name).where('digest', '=', digest).executeTakeFirst();
    return row ? this.get({ name, version: Number(row.version) }) : undefined;
  }

  private async withUpload<T>(body: AsyncIterable<Uint8Array>, options: UploadOptions, fn: (path: string) => Promise<T>): Promise<T> {
    const format = options.format ?? (options.filename ? tableFormatOf(options.filename) : undefined);
    if (!format) throw invalidArgument('upload: give a format (csv, jsonl, parquet) or a filename with one of those extensions');
    const dir = join(this.deps.workDir, 'uploads');
    await mkdir(dir, { recursive: true });
    const ext = options.filename && tableFormatOf(options.filename) === format ? extname(options.filename).toLowerCase() : `.${format}`;
    const path = join(dir, `${randomUUID()}${ext}`);
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            size += chunk.byteLength;
            if (size > max) throw invalidArgument(`upload: larger than the ${max} bytes this server accepts`, { httpStatus: 413 });
            yield chunk;
          }
        },
        createWriteStream(path),
      );
      if (size === 0) throw invalidArgument(`upload${options.filename ? ` ${options.filename}` : ''}: the body is empty`);
      return await fn(path);
    } catch (err) {
      throw renamePath(err, path, options.filename ?? 'upload');
    } finally {
      await rm(path, { force: true });
    }
  }

  async list(): Promise<DatasetSummary[]> {
    const rows = await this.db
      .selectFrom('mp_dataset as d')
      .innerJoin('mp_dataset_version as v', 'v.name', 'd.name')
      .select(['d.name', 'd.updated_ms', 'v.version', 'v.row_count', 'v.column_count'])
      .orderBy('d.name')
      .orderBy('v.version')
      .execute();
    const out = new Map<string, DatasetSummary>();
    for (const r of rows) {
      const prev = out.get(r.name);
      out.set(r.name, {
        name: r.name,
        latestVersion: Number(r.version),
        versionCount: (prev?.versionCount ?? 0) + 1,
        rowCount: Number(r.row_count),
        columnCount: Number(r.column_count),
        updatedAt: Number(r.updated_ms),
      });
    }
    return [...out.values()];
  }

  /** Every version of a dataset, newest first, without profiles. */
  async versions(name: string): Promise<DatasetVersion[]> {
    const rows = await this.db.selectFrom('mp_dataset_version').selectAll().where('name', '=', name).orderBy('version', 'desc').execute();
    if (rows.length === 0) throw notFound(`dataset "${name}" does not exist`);
    return rows.map((r) => toVersion(r, false));
  }

  /**
   * One version (the latest when none is given), with its profile unless asked not to, as it is
   * shown: without the values of columns the schema marks as PII, also in versions profiled
   * before the marking. Reads inside this service take `load` and keep the whole profile.
   */
  async get(ref: VersionRef, options: { profile?: boolean } = {}): Promise<DatasetVersion> {
    const version = await this.load(ref, options);
    if (version.profile) version.profile = redactProfile(version.profile, await this.piiOf(ref.name));
    return version;
  }

  /** One version as stored: a profile made before a PII marking still has that column's statistics. */
  private async load(ref: VersionRef, options: { profile?: boolean } = {}): Promise<DatasetVersion> {
    let q = this.db.selectFrom('mp_dataset_version').selectAll().where('name', '=', ref.name);
    q = ref.version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', ref.version);
    const row = await q.executeTakeFirst();
    if (!row) {
      if (ref.version === undefined) throw notFound(`dataset "${ref.name}" does not exist`);
      const exists = await this.db.selectFrom('mp_dataset').select('name').where('name', '=', ref.name).executeTakeFirst();
      throw notFound(exists ? `dataset "${ref.name}" has no version ${ref.version}` : `dataset "${ref.name}" does not exist`);
    }
    return toVersion(row, options.profile ?? true);
  }

  /** The columns the dataset's schema marks as PII (none before it has a schema). */
  private async piiOf(name: string): Promise<Set<string>> {
    return piiColumns(await this.storedSchema(name));
  }

  /** The dataset's schema, or undefined when the dataset does not exist or has none yet. */
  private async storedSchema(name: string): Promise<DatasetSchema | undefined> {
    const row = await this.schemaRow(name);
    return row?.schema_json ? (JSON.parse(row.schema_json) as DatasetSchema) : undefined;
  }

  private async schemaRow(name: string): Promise<{ schema_json: string | null } | undefined> {
    return this.db.selectFrom('mp_dataset').select('schema_json').where('name', '=', name).executeTakeFirst();
  }

  /**
   * Deletes one version, or the whole dataset when no version is given (or its last version
   * goes). Links to runs and models go with it; the stored bytes stay, since other versions and
   * datasets may hold the same content.
   */
  async delete(ref: VersionRef): Promise<{ deleted: number[] }> {
    const versions = (await this.versions(ref.name)).map((v) => v.version);
    if (ref.version !== undefined && !versions.includes(ref.version)) await this.get(ref);
    const wholeDataset = ref.version === undefined || versions.length === 1;
    await this.db.transaction().execute(async (trx) => {
      if (wholeDataset) await trx.deleteFrom('mp_dataset').where('name', '=', ref.name).execute();
      else await trx.deleteFrom('mp_dataset_version').where('name', '=', ref.name).where('version', '=', ref.version!).execute();
    });
    return { deleted: wholeDataset ? versions : [ref.version!] };
  }

  /** The dataset's validation schema. */
  async getSchema(name: string): Promise<DatasetSchema> {
    const row = await this.schemaRow(name);
    if (!row) throw notFound(`dataset "${name}" does not exist`);
    if (!row.schema_json) throw failedPrecondition(`dataset "${name}" has no schema yet`);
    return JSON.parse(row.schema_json);
  }

  /** Replaces the dataset's validation schema with an edited one. */
  async setSchema(name: string, schema: unknown): Promise<DatasetSchema> {
    const checked = checkSchema(schema);
    const res = await this.db
      .updateTable('mp_dataset')
      .set({ schema_json: JSON.stringify(checked), updated_ms: this.deps.clock.now() })
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw notFound(`dataset "${name}" does not exist`);
    return checked;
  }

  /** The schema inferred from a version (latest by default); with `save`, it becomes the dataset's schema. */
  async inferSchema(ref: VersionRef, options: { save?: boolean } = {}): Promise<DatasetSchema> {
    const version = await this.load(ref);
    const inferred = inferSchema(version.profile!);
    // PII markings are a person's decision: a re-inferred schema keeps them, and a marked
    // column gets no domain, which would list its values.
    const marked = new Map(((await this.storedSchema(ref.name))?.columns ?? []).filter((c) => c.pii).map((c) => [c.name, c.pii]));
    const schema = {
      columns: inferred.columns.map((c) => {
        if (!marked.has(c.name)) return c;
        const { domain: _domain, ...rest } = c;
        return { ...rest, pii: marked.get(c.name) };
      }),
    };
    if (options.save) await this.setSchema(ref.name, schema);
    return schema;
  }

  /** Validates a file or folder against the dataset's schema, and for drift against a version (latest by default). */
  async validate(name: string, path: string, options: SourceOptions & { against?: number } = {}): Promise<ValidationReport> {
    const source = resolveSource(path, options);
    const session = await DuckSession.open(this.duckTemp);
    try {
      const columns = await describeSource(session, source);
      return await reading(session, source, () => this.validateWith(name, { session, from: readerSql(source), columns }, options.against));
    } finally {
      session.close();
    }
  }

  async validateUpload(name: string, body: AsyncIterable<Uint8Array>, options: UploadOptions & { against?: number } = {}): Promise<ValidationReport> {
    return this.withUpload(body, options, (path) => this.validate(name, path, options));
  }

  /** Validates columns held in memory (e.g. a batch of serving requests). */
  async validateColumns(name: string, columns: MemoryColumn[], options: { against?: number } = {}): Promise<ValidationReport> {
    const session = await DuckSession.open(this.duckTemp);
    try {
      return await this.validateWith(name, await loadColumns(session, columns), options.against);
    } finally {
      session.close();
    }
  }

  private async validateWith(name: string, relation: Relation, against: number | undefined): Promise<ValidationReport> {
    const schema = await this.getSchema(name);
    // The baseline keeps PII columns' statistics for the drift checks; the report withholds their values.
    const previous = await this.load({ name, version: against });
    const { report } = await validateRelation(relation, schema, { version: previous.version, profile: previous.profile! });
    return redactReport(report, piiColumns(schema));
  }

  async diff(a: VersionRef, b: VersionRef): Promise<DatasetDiff> {
    const [x, y] = await Promise.all([this.get(a), this.get(b)]);
    const head = (v: DatasetVersion) => ({ name: v.name, version: v.version, digest: v.digest, rowCount: v.rowCount });
    return { a: head(x), b: head(y), sameContent: x.digest === y.digest, columns: diffProfiles(x.profile!, y.profile!) };
  }

  /** Records that a run used a version (idempotent); tracking's log-inputs writes through this. */
  async linkRun(ref: Required<VersionRef>, runId: string, context = 'training'): Promise<void> {
    await this.get(ref, { profile: false });
    if (!runId) throw invalidArgument('runId: must not be empty');
    await this.db
      .insertInto('mp_dataset_run')
      .values({ name: ref.name, version: ref.version, run_id: runId, context, created_ms: this.deps.clock.now() })
      .onConflict((oc) => oc.columns(['name', 'version', 'run_id', 'context']).doNothing())
      .execute();
  }

  /** Records that a model version was trained on a dataset version (idempotent). */
  async linkModel(ref: Required<VersionRef>, model: { name: string; version: string | number; runId?: string }): Promise<void> {
    await this.get(ref, { profile: false });
    await this.db
      .insertInto('mp_dataset_model')
      .values({
        name: ref.name,
        version: ref.version,
        model_name: model.name,
        model_version: String(model.version),
        run_id: model.runId ?? '',
        created_ms: this.deps.clock.now(),
      })
      .onConflict((oc) => oc.columns(['name', 'version', 'model_name', 'model_version']).doNothing())
      .execute();
  }

  async lineage(ref: Required<VersionRef>): Promise<Lineage> {
    await this.get(ref, { profile: false });
    const [runs, models] = await Promise.all([
      this.db.selectFrom('mp_dataset_run').selectAll().where('name', '=', ref.name).where('version', '=', ref.version).orderBy('created_ms').orderBy('run_id').execute(),
      this.db.selectFrom('mp_dataset_model').selectAll().where('name', '=', ref.name).where('version', '=', ref.version).orderBy('created_ms').orderBy('model_name').execute(),
    ]);
    return {
      name: ref.name,
      version: ref.version,
      runs: runs.map((r) => ({ runId: r.run_id, context: r.context, createdAt: Number(r.created_ms) })),
      models: models.map((m) => ({ modelName: m.model_name, modelVersion: m.model_version, runId: m.run_id, createdAt: Number(m.created_ms) })),
    };
  }

  /** The dataset versions a run used. */
  async inputsOfRun(runId: string): Promise<{ name: string; version: number; context: string }[]> {
    const rows = await this.db.selectFrom('mp_dataset_run').select(['name', 'version', 'context']).where('run_id', '=', runId).orderBy('name').orderBy('version').execute();
    return rows.map((r) => ({ name: r.name, version: Number(r.version), context: r.context }));
  }

  /** A version by its digest: the full sha256 or a prefix of at least 8 hex digits (MLflow keeps short digests). */
  async findByDigest(digest: string): Promise<DatasetVersion | undefined> {
    const d = digest.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(d)) return undefined;
    const row = await this.db
      .selectFrom('mp_dataset_version')
      .select(['name', 'version'])
      .where('digest', d.length === 64 ? '=' : 'like', d.length === 64 ? d : `${d}%`)
      .orderBy('created_ms')
      .executeTakeFirst();
    return row ? this.get({ name: row.name, version: Number(row.version) }) : undefined;
  }

  /**
   * For tracking's `runs/log-inputs`: links the run to the version an MLflow dataset names (same
   * name, digest equal to or a prefix of ours), if there is one; returns it.
   */
  async linkMlflowInput(runId: string, dataset: { name: string; digest: string }, context = 'training'): Promise<Required<VersionRef> | undefined> {
    const d = dataset.digest.toLowerCase();
    if (!NAME.test(dataset.name) || !/^[0-9a-f]{8,64}$/.test(d)) return undefined;
    const row = await this.db
      .selectFrom('mp_dataset_version')
      .select(['name', 'version'])
      .where('name', '=', dataset.name)
      .where('digest', 'like', `${d}%`)
      .executeTakeFirst();
    if (!row) return undefined;
    const ref = { name: row.name, version: Number(row.version) };
    await this.linkRun(ref, runId, context);
    return ref;
  }

  /** The version as MLflow's Dataset entity (what `runs/log-inputs` stores). */
  async mlflowDataset(ref: VersionRef): Promise<MlflowDataset> {
    const v = await this.get(ref);
    return {
      name: v.name,
      digest: v.digest.slice(0, MLFLOW_DIGEST_LENGTH),
      source_type: 'modelport',
      source: JSON.stringify({ uri: `modelport:/datasets/${v.name}/versions/${v.version}`, origin: v.source }),
      schema: JSON.stringify({
        mlflow_colspec: v.schema.columns.map((c) => ({ type: MLFLOW_TYPES[c.type], name: c.name, required: c.minPresence === 1 })),
      }),
      profile: JSON.stringify({ num_rows: v.rowCount, num_elements: v.rowCount * v.columnCount }),
    };
  }

  /** The bytes of a single-file version. */
  async open(ref: VersionRef): Promise<{ version: DatasetVersion; stream: Readable }> {
    const version = await this.get(ref, { profile: false });
    if (version.kind !== 'file') throw failedPrecondition(`${version.name}@${version.version} is a folder; download its files one by one`);
    return { version, stream: await this.deps.blobs.get(version.digest) };
  }
}

/** Messages about a spooled upload name the file the user sent, not the temp file. */
function renamePath(err: unknown, tempPath: string, shownAs: string): unknown {
  if (!(err instanceof ModelportError) || !err.message.includes(tempPath)) return err;
  return new ModelportError(err.code, err.message.split(tempPath).join(shownAs), err.details);
}

function toVersion(r: DatasetVersionTable, withProfile: boolean): DatasetVersion {
  const v: DatasetVersion = {
    name: r.name,
    version: Number(r.version),
    digest: r.digest,
    kind: r.kind,
    format: r.format as TableFormat,
    sizeBytes: Number(r.size_bytes),
    rowCount: Number(r.row_count),
    columnCount: Number(r.column_count),
    source: r.source,
    creator: r.creator,
    description: r.description,
    createdAt: Number(r.created_ms),
    schema: JSON.parse(r.schema_json),
  };
  if (withProfile) v.profile = JSON.parse(r.profile_json);
  return v;
}
