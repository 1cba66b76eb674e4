/**
 * Experiment tracking: experiments, runs, params, metrics, tags, dataset inputs and artifacts,
 * with MLflow's semantics (write-once params, append-only metrics, last-write-wins tags, soft
 * deletes, the search grammar) over the metadata store. Logging goes through a group-commit
 * writer so many concurrent clients share each transaction.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import type { Clock } from '../core/clock.js';
import { alreadyExists, invalidArgument, notFound } from '../core/errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { isUniqueViolation, type Dialect, type MetadataStore } from '../storage/metadata.js';
import { ArtifactStore } from './artifacts.js';
import { LoggedModels, type ModelMetric } from './logged-models.js';
import { RunRetention } from './retention.js';
import { decodeBlocks, emptyHistory, encodeBlock, type History } from './history.js';
import { artifactProxyRoot } from './uri.js';
import type { TrackingTables } from './schema.js';
import { EXPERIMENTS, RUNS, parseFilter, parseOrderBy } from './search.js';
import { experimentClauseSql, runClauseSql, runOrderSql } from './search-sql.js';
import {
  RUN_STATUSES,
  TAGS,
  VIEW_TYPES,
  type CreateRunInput,
  type DatasetInput,
  type Experiment,
  type KeyValue,
  type KeyValueInput,
  type LogBatchInput,
  type MetricInput,
  type Metric,
  type ModelInput,
  type ModelOutput,
  type Run,
  type RunInfo,
  type RunStatus,
  type SearchExperimentsInput,
  type SearchRunsInput,
  type ViewType,
} from './types.js';
import { LIMITS, checkBatchLimits, checkExperimentName, checkKey, checkLength, metricInteger, metricValue, storedMetricValue, truncateLong } from './validation.js';
import { GroupWriter, ROLLBACK_GROUP } from './writer.js';
import { batches } from '../core/batches.js';

/** Metric rows per insert statement. */
const METRIC_ROWS_PER_STATEMENT = 4000;

type RunTable = Selectable<TrackingTables['tracking_run']>;

export const DEFAULT_EXPERIMENT_ID = '0';
const DEFAULT_EXPERIMENT_NAME = 'Default';

export interface TrackingOptions {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
}

export interface MetricPoint extends Metric {
  run_id?: string;
}

/** A request's metric points for one run, written with the rest of its group's. */
interface RunMetrics {
  runPk: number;
  metrics: Metric[];
}

interface RunRow {
  run_pk: number;
  experiment_id: number;
  lifecycle_stage: string;
}

const STAGES: Record<ViewType, string[]> = {
  ACTIVE_ONLY: ['active'],
  DELETED_ONLY: ['deleted'],
  ALL: ['active', 'deleted'],
};

function viewStages(view: ViewType | undefined): string[] {
  if (view === undefined) return STAGES.ACTIVE_ONLY;
  if (!VIEW_TYPES.includes(view)) throw invalidArgument(`Invalid view type '${String(view)}'; use one of ${VIEW_TYPES.join(', ')}`);
  return STAGES[view];
}

export function experimentPk(id: string | number | undefined): number | undefined {
  const text = String(id ?? '');
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw invalidArgument(`Invalid page token '${token.slice(0, 100)}': it was not issued by this server`);
}

function maxResults(value: number | undefined, fallback: number, limit: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > limit) {
    throw invalidArgument(`Invalid value ${value} for parameter 'max_results' supplied: it must be between 1 and ${limit}`);
  }
  return value;
}

/** Names for runs nobody named, in MLflow's adjective-noun-number style. */
const ADJECTIVES = ['bright', 'calm', 'bold', 'clever', 'eager', 'gentle', 'keen', 'lucky', 'merry', 'quiet', 'swift', 'wise'];
const NOUNS = ['otter', 'falcon', 'lynx', 'heron', 'panda', 'whale', 'fox', 'owl', 'badger', 'crane', 'moth', 'seal'];
function randomRunName(): string {
  const b = randomBytes(3);
  return `${ADJECTIVES[b[0] % ADJECTIVES.length]}-${NOUNS[b[1] % NOUNS.length]}-${b[2] % 1000}`;
}

export class TrackingService {
  readonly artifacts: ArtifactStore;
  readonly loggedModels: LoggedModels;
  /** Deletes runs past their experiment's `modelport.retention_days` (started by the platform). */
  readonly retention: RunRetention;
  private readonly db: Kysely<TrackingTables>;
  private readonly dialect: Dialect;
  private readonly clock: Clock;
  private readonly writer: GroupWriter;

  private constructor(options: TrackingOptions) {
    this.db = options.metadata.db as Kysely<TrackingTables>;
    this.dialect = options.metadata.dialect;
    this.clock = options.clock;
    this.writer = new GroupWriter(this.db, this.dialect === 'sqlite' ? 1 : 4);
    this.artifacts = new ArtifactStore(this.db, options.blobs, options.clock);
    this.loggedModels = new LoggedModels(this.db, this.clock, { get: (id) => this.getExperiment(id) });
    this.retention = new RunRetention(this.db, options.clock);
  }

  static async create(options: TrackingOptions): Promise<TrackingService> {
    const service = new TrackingService(options);
    await service.ensureDefaultExperiment();
    return service;
  }

  /** Waits for queued log writes to commit. */
  flush(): Promise<void> {
    return this.writer.drain();
  }

  private async ensureDefaultExperiment(): Promise<void> {
    const now = this.clock.now();
    await this.db
      .insertInto('tracking_experiment')
      .values({
        experiment_id: 0,
        name: DEFAULT_EXPERIMENT_NAME,
        artifact_location: 'mlflow-artifacts:/0',
        lifecycle_stage: 'active',
        creation_time: now,
        last_update_time: now,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  // ---- experiments -------------------------------------------------------------------------

  async createExperiment(input: { name: string; artifact_location?: string; tags?: KeyValueInput[] }): Promise<string> {
    const name = checkExperimentName(input.name);
    const tags = dedupe(input.tags ?? []).map((t) => checkExperimentTag(t.key, t.value));
    if (input.artifact_location?.startsWith('runs:')) {
      throw invalidArgument(`Artifact location cannot be a runs:/ URI. Given: '${input.artifact_location}'`);
    }
    const now = this.clock.now();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { experiment_id } = await trx
          .insertInto('tracking_experiment')
          .values({ name, artifact_location: input.artifact_location ?? '', lifecycle_stage: 'active', creation_time: now, last_update_time: now })
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
        if (!input.artifact_location) {
          await trx
            .updateTable('tracking_experiment')
            .set({ artifact_location: `mlflow-artifacts:/${experiment_id}` })
            .where('experiment_id', '=', experiment_id)
            .execute();
        }
        if (tags.length) await trx.insertInto('tracking_experiment_tag').values(tags.map((t) => ({ experiment_id, ...t }))).execute();
        return String(experiment_id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`Experiment(name=${name}) already exists.`);
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const [experiment] = await this.loadExperiments(
      this.db.selectFrom('tracking_experiment').selectAll().where('experiment_id', '=', this.requireExperimentPk(experimentId)),
    );
    if (!experiment) throw notFound(`No Experiment with id=${experimentId} exists`);
    return experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const [experiment] = await this.loadExperiments(this.db.selectFrom('tracking_experiment').selectAll().where('name', '=', name));
    if (!experiment) throw notFound(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async searchExperiments(input: SearchExperimentsInput = {}): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
    const limit = maxResults(input.max_results, 1000, LIMITS.searchExperimentsMaxResults);
    const clauses = parseFilter(input.filter, EXPERIMENTS);
    const order = parseOrderBy(input.order_by?.length ? input.order_by : ['creation_time DESC', 'experiment_id ASC'], EXPERIMENTS);
    const offset = decodePageToken(input.page_token);
    let q = (this.db as Kysely<any>)
      .selectFrom('tracking_experiment as e')
      .selectAll('e')
      .where('e.lifecycle_stage', 'in', viewStages(input.view_type));
    for (const clause of clauses) q = q.where(experimentClauseSql(this.dialect, clause) as never);
    for (const o of order) q = q.orderBy(`e.${o.key}`, o.ascending ? 'asc' : 'desc');
    if (!order.some((o) => o.key === 'experiment_id')) q = q.orderBy('e.experiment_id', 'asc');
    const experiments = await this.loadExperiments(q.limit(limit + 1).offset(offset));
    const more = experiments.length > limit;
    return { experiments: experiments.slice(0, limit), next_page_token: more ? encodePageToken(offset + limit) : undefined };
  }

  async updateExperiment(experimentId: string, newName: string): Promise<void> {
    const name = checkExperimentName(newName);
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycle_stage !== 'active') {
      throw invalidArgument('Cannot rename a non-active experiment.', { mlflowCode: 'INVALID_STATE' });
    }
    try {
      await this.db
        .updateTable('tracking_experiment')
        .set({ name, last_update_time: this.clock.now() })
        .where('experiment_id', '=', Number(experiment.experiment_id))
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`Experiment(name=${name}) already exists.`);
      throw err;
    }
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    if (experimentId === DEFAULT_EXPERIMENT_ID) {
      throw invalidArgument(`Cannot delete the default experiment '${DEFAULT_EXPERIMENT_ID}'. This is an internally reserved experiment.`);
    }
    await this.setExperimentStage(experimentId, 'active', 'deleted');
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.setExperimentStage(experimentId, 'deleted', 'active');
  }

  /**
   * Deleting an experiment soft-deletes its active runs; restoring it restores exactly those
   * (they carry the experiment's deletion time), not runs deleted on their own before.
   */
  private async setExperimentStage(experimentId: string, from: string, to: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycle_stage !== from) {
      throw invalidArgument(`Cannot ${to === 'deleted' ? 'delete' : 'restore'} experiment ${experimentId}: it is ${experiment.lifecycle_stage}`);
    }
    const now = this.clock.now();
    const pk = Number(experiment.experiment_id);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('tracking_experiment').set({ lifecycle_stage: to, last_update_time: now }).where('experiment_id', '=', pk).execute();
      let runs = trx
        .updateTable('tracking_run')
        .set({ lifecycle_stage: to, deleted_time: to === 'deleted' ? now : null })
        .where('experiment_id', '=', pk)
        .where('lifecycle_stage', '=', from);
      if (to === 'active') runs = runs.where('deleted_time', '=', experiment.last_update_time);
      await runs.execute();
    });
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    const tag = checkExperimentTag(key, value);
    const experiment = await this.getExperiment(experimentId);
    this.requireActiveExperiment(experiment);
    await this.db
      .insertInto('tracking_experiment_tag')
      .values({ experiment_id: Number(experiment.experiment_id), ...tag })
      .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    this.requireActiveExperiment(experiment);
    const res = await this.db
      .deleteFrom('tracking_experiment_tag')
      .where('experiment_id', '=', Number(experiment.experiment_id))
      .where('key', '=', key)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`No tag with name: ${key} in experiment with id ${experimentId}`);
  }

  private requireExperimentPk(experimentId: string | undefined): number {
    const pk = experimentPk(experimentId);
    if (pk === undefined) throw notFound(`No Experiment with id=${experimentId} exists`);
    return pk;
  }

  private requireActiveExperiment(experiment: Experiment): void {
    if (experiment.lifecycle_stage !== 'active') {
      throw invalidArgument(`The experiment ${experiment.experiment_id} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`);
    }
  }

  private async loadExperiments(query: { execute(): Promise<any[]> }): Promise<Experiment[]> {
    const rows = (await query.execute()) as TrackingTables['tracking_experiment'][];
    if (rows.length === 0) return [];
    const tags = await this.db
      .selectFrom('tracking_experiment_tag')
      .selectAll()
      .where('experiment_id', 'in', rows.map((r) => Number(r.experiment_id)))
      .orderBy('key')
      .execute();
    return rows.map((r) => ({
      experiment_id: String(r.experiment_id),
      name: r.name,
      artifact_location: r.artifact_location,
      lifecycle_stage: r.lifecycle_stage as Experiment['lifecycle_stage'],
      last_update_time: Number(r.last_update_time),
      creation_time: Number(r.creation_time),
      tags: tags.filter((t) => Number(t.experiment_id) === Number(r.experiment_id)).map((t) => ({ key: t.key, value: t.value })),
    }));
  }

  // ---- runs --------------------------------------------------------------------------------

  async createRun(input: CreateRunInput = {}): Promise<Run> {
    const experiment = await this.getExperiment(input.experiment_id || DEFAULT_EXPERIMENT_ID);
    const runId = await this.db.transaction().execute((trx) => this.insertRun(trx, experiment, input));
    return this.getRun(runId);
  }

  /**
   * Writes a new run, with its first params, in the caller's transaction: for a domain that
   * records runs alongside its own rows in one commit (a pipeline's step runs). Every check is
   * made before the first write. Resolves with the run's id.
   */
  async insertRun(trx: Transaction<any>, experiment: Experiment, input: CreateRunInput & { params?: KeyValueInput[] }): Promise<string> {
    this.requireActiveExperiment(experiment);
    const tags = dedupe(input.tags ?? []).map((t) => checkRunTag(t.key, t.value));
    const tagName = tags.find((t) => t.key === TAGS.runName)?.value;
    if (input.run_name && tagName !== undefined && tagName !== input.run_name) {
      throw invalidArgument(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.run_name}', mlflow.runName='${tagName}').`,
      );
    }
    const params = checkBatch({ params: input.params }, this.clock.now()).params;
    const runName = checkLength('Run name', LIMITS.keyLength, input.run_name || tagName || randomRunName());
    if (tagName === undefined) tags.push({ key: TAGS.runName, value: runName });
    const userId = input.user_id || tags.find((t) => t.key === TAGS.user)?.value || '';
    const runId = randomUUID().replace(/-/g, '');
    const row = {
      run_id: runId,
      experiment_id: Number(experiment.experiment_id),
      run_name: runName,
      user_id: userId,
      status: 'RUNNING',
      start_time: input.start_time ?? this.clock.now(),
      end_time: null,
      artifact_uri: `${experiment.artifact_location.replace(/\/+$/, '')}/${runId}/artifacts`,
      lifecycle_stage: 'active',
      deleted_time: null,
    };
    const { run_pk } = await trx.insertInto('tracking_run').values(row).returning('run_pk').executeTakeFirstOrThrow();
    await trx.insertInto('tracking_tag').values(tags.map((t) => ({ run_pk: Number(run_pk), ...t }))).execute();
    if (params.length) await this.insertParams(trx, runId, Number(run_pk), params);
    return runId;
  }

  /** Logs a run's last metrics and tags and ends it, in the caller's transaction (see insertRun). */
  async endRun(trx: Transaction<any>, runId: string, end: { status: RunStatus; end_time: number; metrics?: MetricInput[]; tags?: KeyValueInput[] }): Promise<void> {
    if (!RUN_STATUSES.includes(end.status)) throw invalidArgument(`Invalid run status '${String(end.status)}'; use one of ${RUN_STATUSES.join(', ')}`);
    const { metrics, tags } = checkBatch({ metrics: end.metrics, tags: end.tags }, this.clock.now());
    const run = await this.requireRun(runId, trx);
    this.requireActiveRun(runId, run);
    if (tags.length) await this.upsertTags(trx, run.run_pk, tags);
    if (metrics.length) await this.insertMetrics(trx, [{ runPk: run.run_pk, metrics }]);
    await trx.updateTable('tracking_run').set({ status: end.status, end_time: end.end_time }).where('run_pk', '=', run.run_pk).execute();
  }

  /** A run with its latest metrics, params, tags and dataset inputs; deleted runs are returned too. */
  async getRun(runId: string): Promise<Run> {
    const rows = await this.db.selectFrom('tracking_run').selectAll().where('run_id', '=', String(runId)).execute();
    if (rows.length === 0) throw notFound(`Run with id=${runId} not found`);
    const [run] = await this.loadRuns(rows);
    return run;
  }

  async updateRun(runId: string, update: { status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunInfo> {
    const run = await this.requireRun(runId);
    this.requireActiveRun(runId, run);
    const set: Updateable<TrackingTables['tracking_run']> = {};
    if (update.status !== undefined) {
      if (!RUN_STATUSES.includes(update.status)) throw invalidArgument(`Invalid run status '${String(update.status)}'; use one of ${RUN_STATUSES.join(', ')}`);
      set.status = update.status;
    }
    if (update.end_time !== undefined) set.end_time = update.end_time;
    if (update.run_name) set.run_name = checkLength('Run name', LIMITS.keyLength, update.run_name);
    await this.db.transaction().execute(async (trx) => {
      if (Object.keys(set).length) await trx.updateTable('tracking_run').set(set).where('run_pk', '=', run.run_pk).execute();
      if (set.run_name) await this.upsertTags(trx, run.run_pk, [{ key: TAGS.runName, value: set.run_name }]);
    });
    return (await this.getRun(runId)).info;
  }

  async deleteRun(runId: string): Promise<void> {
    const run = await this.requireRun(runId);
    await this.db.updateTable('tracking_run').set({ lifecycle_stage: 'deleted', deleted_time: this.clock.now() }).where('run_pk', '=', run.run_pk).execute();
  }

  async restoreRun(runId: string): Promise<void> {
    const run = await this.requireRun(runId);
    await this.db.updateTable('tracking_run').set({ lifecycle_stage: 'active', deleted_time: null }).where('run_pk', '=', run.run_pk).execute();
  }

  private async requireRun(runId: string, db: Kysely<any> = this.db): Promise<RunRow> {
    const run = await db
      .selectFrom('tracking_run')
      .select(['run_pk', 'experiment_id', 'lifecycle_stage'])
      .where('run_id', '=', String(runId))
      .executeTakeFirst();
    if (!run) throw notFound(`Run with id=${runId} not found`);
    return { run_pk: Number(run.run_pk), experiment_id: Number(run.experiment_id), lifecycle_stage: run.lifecycle_stage };
  }

  private requireActiveRun(runId: string, run: RunRow): void {
    if (run.lifecycle_stage !== 'active') {
      throw invalidArgument(`The run ${runId} must be in the 'active' state. Current state is ${run.lifecycle_stage}.`);
    }
  }

  // ---- logging -----------------------------------------------------------------------------

  /**
   * MLflow's log-batch: metrics append (identical points collapse), params are write-once
   * (the same value again is fine, a different one is refused), tags are last-write-wins.
   * Resolves once the write is committed.
   */
  async logBatch(runId: string, input: LogBatchInput): Promise<void> {
    const { metrics, params, tags } = checkBatch(input, this.clock.now());
    if (metrics.length === 0 && params.length === 0 && tags.length === 0) {
      await this.requireRun(runId);
      return;
    }
    const modelMetrics = metrics.filter((m): m is ModelMetric => m.model_id !== undefined);
    await this.writer.submit(String(runId), async (trx, group) => {
      // Jobs of one group that log to the same run read it once: they commit together.
      const run = await group.shared(`run:${runId}`, () => this.requireRun(runId, trx));
      this.requireActiveRun(runId, run);
      if (params.length) await this.checkParams(trx, runId, run.run_pk, params);
      if (modelMetrics.length) await this.loggedModels.requireExisting(trx, modelMetrics.map((m) => m.model_id));
      // Checks are done; from here on only writes.
      if (params.length) await this.insertParams(trx, runId, run.run_pk, params);
      if (tags.length) await this.upsertTags(trx, run.run_pk, tags);
      if (modelMetrics.length) await this.loggedModels.insertMetrics(trx, String(runId), modelMetrics);
      // The group's points are written together at its end: two statements for all its requests.
      if (metrics.length) group.shared('metrics', () => [] as RunMetrics[], (t, all) => this.insertMetrics(t, all)).push({ runPk: run.run_pk, metrics });
    });
  }

  private async checkParams(trx: Transaction<any>, runId: string, runPk: number, params: KeyValue[], details: Record<string, unknown> = {}): Promise<void> {
    const existing = await trx
      .selectFrom('tracking_param')
      .select(['key', 'value'])
      .where('run_pk', '=', runPk)
      .where('key', 'in', params.map((p) => p.key))
      .execute();
    const old = new Map(existing.map((p) => [p.key as string, p.value as string]));
    const conflicts = params.filter((p) => old.has(p.key) && old.get(p.key) !== p.value);
    if (conflicts.length) {
      const changed = conflicts.map((p) => ({ key: p.key, old_value: old.get(p.key), new_value: p.value }));
      throw invalidArgument(
        `Changing param values is not allowed. Params were already logged='${JSON.stringify(changed)}' for run ID='${runId}'.`,
        details,
      );
    }
  }

  /**
   * The read in checkParams cannot see a value another transaction is committing at the same
   * moment (PostgreSQL under read committed): the primary key decides. A row the insert skipped
   * was taken by the time the insert returned, and the read after it sees the committed value.
   * That refusal comes after this job's first write, so it asks the group writer to roll back.
   */
  private async insertParams(trx: Transaction<any>, runId: string, runPk: number, params: KeyValue[]): Promise<void> {
    const inserted = await trx
      .insertInto('tracking_param')
      // One key order for every writer, so two inserts of overlapping keys wait instead of deadlocking.
      .values(params.map((p) => ({ run_pk: runPk, ...p })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
      .onConflict((oc) => oc.doNothing())
      .returning('key')
      .execute();
    if (inserted.length === params.length) return;
    const taken = new Set(inserted.map((r) => r.key as string));
    await this.checkParams(trx, runId, runPk, params.filter((p) => !taken.has(p.key)), { [ROLLBACK_GROUP]: true });
  }

  private async upsertTags(trx: Transaction<any>, runPk: number, tags: KeyValue[]): Promise<void> {
    await trx
      .insertInto('tracking_tag')
      .values(tags.map((t) => ({ run_pk: runPk, ...t })))
      .onConflict((oc) => oc.columns(['run_pk', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    const name = tags.find((t) => t.key === TAGS.runName);
    if (name) await trx.updateTable('tracking_run').set({ run_name: name.value }).where('run_pk', '=', runPk).execute();
  }

  /**
   * One block per run and key and one latest row per run and key, for every run's points at
   * once, in (run, key) order: every writer locks latest rows in that one order.
   */
  private async insertMetrics(trx: Transaction<any>, writes: RunMetrics[]): Promise<void> {
    const byKey = new Map<string, { runPk: number; key: string; step: number[]; timestamp: number[]; value: number[] }>();
    const latest = new Map<string, Metric & { is_nan: number }>();
    for (const { runPk, metrics } of writes) {
      for (const m of metrics) {
        const id = `${runPk}\u0000${m.key}`;
        const isNan = Number.isNaN(m.value);
        const stored = storedMetricValue(m.value);
        let cols = byKey.get(id);
        if (!cols) byKey.set(id, (cols = { runPk, key: m.key, step: [], timestamp: [], value: [] }));
        cols.step.push(m.step);
        cols.timestamp.push(m.timestamp);
        cols.value.push(isNan ? NaN : stored);
        const best = latest.get(id);
        if (!best || newer(m.step, m.timestamp, stored, best.step, best.timestamp, best.value)) {
          latest.set(id, { key: m.key, step: m.step, timestamp: m.timestamp, value: stored, is_nan: isNan ? 1 : 0 });
        }
      }
    }
    const ids = [...byKey.keys()].sort((a, b) => byKey.get(a)!.runPk - byKey.get(b)!.runPk || (a < b ? -1 : a > b ? 1 : 0));
    // Slices keep each statement under the engines' bound-parameter limits (six a row; SQLite
    // allows 32,766), in the same (run, key) order.
    for (const slice of batches(ids, METRIC_ROWS_PER_STATEMENT)) await this.insertMetricRows(trx, slice, byKey, latest);
  }

  private async insertMetricRows(
    trx: Transaction<any>,
    ids: string[],
    byKey: Map<string, { runPk: number; key: string; step: number[]; timestamp: number[]; value: number[] }>,
    latest: Map<string, Metric & { is_nan: number }>,
  ): Promise<void> {
    await trx
      .insertInto('tracking_metric_block')
      .values(
        ids.map((id) => {
          const { runPk, key, step, timestamp, value } = byKey.get(id)!;
          const block = encodeBlock(step, timestamp, value);
          return { run_pk: runPk, key, count: block.count, min_step: block.minStep, max_step: block.maxStep, data: block.data };
        }),
      )
      .execute();
    await trx
      .insertInto('tracking_latest_metric')
      .values(ids.map((id) => ({ run_pk: byKey.get(id)!.runPk, ...latest.get(id)! })))
      .onConflict((oc) =>
        oc
          .columns(['run_pk', 'key'])
          .doUpdateSet((eb) => ({
            step: eb.ref('excluded.step'),
            timestamp: eb.ref('excluded.timestamp'),
            value: eb.ref('excluded.value'),
            is_nan: eb.ref('excluded.is_nan'),
          }))
          .where(
            sql<boolean>`excluded.step > tracking_latest_metric.step or (excluded.step = tracking_latest_metric.step and (excluded.timestamp > tracking_latest_metric.timestamp or (excluded.timestamp = tracking_latest_metric.timestamp and excluded.value > tracking_latest_metric.value)))`,
          ),
      )
      .execute();
  }

  async logMetric(runId: string, metric: MetricInput): Promise<void> {
    await this.logBatch(runId, { metrics: [metric] });
  }

  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.logBatch(runId, { params: [{ key, value }] });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.logBatch(runId, { tags: [{ key, value }] });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    const run = await this.requireRun(runId);
    this.requireActiveRun(runId, run);
    const res = await this.db.deleteFrom('tracking_tag').where('run_pk', '=', run.run_pk).where('key', '=', key).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`No tag with name: ${key} in run with id ${runId}`);
  }

  /**
   * MLflow's log-model: records an MLmodel (as JSON) in the run's `mlflow.log-model.history` tag,
   * which MLflow clients call after uploading a model's files.
   */
  async logModel(runId: string, modelJson: string): Promise<void> {
    let model: unknown;
    try {
      model = JSON.parse(modelJson);
    } catch {
      throw invalidArgument(`Malformed model info. 'model_json' is not valid JSON: ${modelJson.slice(0, 100)}`);
    }
    const missing = ['artifact_path', 'flavors'].filter((k) => !model || typeof model !== 'object' || !(k in model));
    if (missing.length) throw invalidArgument(`Model json is missing mandatory fields: ${JSON.stringify(missing)}`);
    const run = await this.getRun(runId);
    if (run.info.lifecycle_stage !== 'active') {
      throw invalidArgument(`The run ${runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`);
    }
    const previous = run.data.tags.find((t) => t.key === TAGS.loggedModels)?.value;
    const history = previous ? (JSON.parse(previous) as unknown[]) : [];
    await this.setTag(runId, TAGS.loggedModels, JSON.stringify([...history, model]));
  }

  /**
   * Links datasets (stored once per experiment by name and digest) to a run, with input tags,
   * and MLflow 3's model inputs (logged model ids, not checked: MLflow's stores do not check them).
   */
  async logInputs(runId: string, inputs: DatasetInput[], models: ModelInput[] = []): Promise<void> {
    if (inputs.length > LIMITS.datasetsPerBatch) {
      throw invalidArgument(`A batch logging request can contain at most ${LIMITS.datasetsPerBatch} datasets. Got ${inputs.length} datasets.`);
    }
    for (const input of inputs) checkDatasetInput(input);
    const run = await this.requireRun(runId);
    this.requireActiveRun(runId, run);
    await this.db.transaction().execute(async (trx) => {
      for (const { dataset, tags } of inputs) {
        const existing = await trx
          .selectFrom('tracking_dataset')
          .select('dataset_uuid')
          .where('experiment_id', '=', run.experiment_id)
          .where('name', '=', dataset.name)
          .where('digest', '=', dataset.digest)
          .executeTakeFirst();
        const datasetUuid = existing?.dataset_uuid ?? randomUUID().replace(/-/g, '');
        if (!existing) {
          await trx
            .insertInto('tracking_dataset')
            .values({
              dataset_uuid: datasetUuid,
              experiment_id: run.experiment_id,
              name: dataset.name,
              digest: dataset.digest,
              source_type: dataset.source_type,
              source: dataset.source,
              schema: dataset.schema ?? null,
              profile: dataset.profile ?? null,
            })
            .execute();
        }
        const inputTags = (tags ?? []).map((t) => ({ key: t.key, value: t.value ?? '' }));
        await trx
          .insertInto('tracking_run_input')
          .values({
            run_pk: run.run_pk,
            dataset_uuid: datasetUuid,
            tags: JSON.stringify(inputTags),
            context: inputTags.find((t) => t.key === TAGS.datasetContext)?.value ?? null,
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      if (models.length) {
        await trx
          .insertInto('tracking_run_model')
          .values(models.map((m) => ({ run_pk: run.run_pk, model_id: m.model_id, direction: 'input' as const, step: 0 })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    });
  }

  /** MLflow 3's log-outputs: the logged models a run produced, each at a step. */
  async logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    const run = await this.requireRun(runId);
    this.requireActiveRun(runId, run);
    if (models.length === 0) return;
    await this.db
      .insertInto('tracking_run_model')
      .values(models.map((m) => ({ run_pk: run.run_pk, model_id: m.model_id, direction: 'output' as const, step: m.step })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  // ---- reading metrics ---------------------------------------------------------------------

  /** Every point of one metric as columns, in MLflow's order (step, timestamp, value). */
  async getMetricHistoryColumns(runId: string, key: string): Promise<History> {
    return this.readHistory((await this.requireRun(runId)).run_pk, key);
  }

  private async readHistory(runPk: number, key: string): Promise<History> {
    const blocks = await this.readBlocks(runPk, key);
    return blocks.length ? decodeBlocks(blocks) : emptyHistory();
  }

  private readBlocks(runPk: number, key: string) {
    return this.db
      .selectFrom('tracking_metric_block')
      .select(['block_id', 'count', 'data'])
      .where('run_pk', '=', runPk)
      .where('key', '=', key)
      .orderBy('min_step')
      .orderBy('block_id')
      .execute();
  }

  /**
   * A history as its stored blocks (immutable once written, ids never reused) when they follow
   * one another without overlap, which is how a training loop logs; undefined otherwise (read
   * the merged columns instead). Lets a caller cache work per block.
   */
  async getMetricHistoryBlocks(runId: string, key: string): Promise<{ id: number; history: History }[] | undefined> {
    const rows = await this.readBlocks((await this.requireRun(runId)).run_pk, key);
    const blocks = rows.map((row) => ({ id: Number(row.block_id), history: decodeBlocks([row]) }));
    for (let i = 1; i < blocks.length; i++) {
      const prev = blocks[i - 1].history;
      const next = blocks[i].history;
      const last = prev.length - 1;
      if (!(next.step[0] > prev.step[last] || (next.step[0] === prev.step[last] && next.timestamp[0] > prev.timestamp[last]))) return undefined;
    }
    return blocks;
  }

  /** Every point of one metric in step order; paginated when `max_results` is given. */
  async getMetricHistory(
    runId: string,
    key: string,
    options: { max_results?: number; page_token?: string } = {},
  ): Promise<{ metrics: Metric[]; next_page_token?: string }> {
    const history = await this.getMetricHistoryColumns(runId, key);
    const offset = decodePageToken(options.page_token);
    const limit = options.max_results === undefined ? history.length : maxResults(options.max_results, 0, 1_000_000);
    const end = Math.min(history.length, offset + limit);
    const metrics: Metric[] = [];
    for (let i = offset; i < end; i++) metrics.push({ key, value: history.value[i], timestamp: history.timestamp[i], step: history.step[i] });
    return { metrics, next_page_token: end < history.length ? encodePageToken(end) : undefined };
  }

  /**
   * MLflow's chart sampling: up to `max_results` steps spread evenly over the steps the runs
   * logged (plus each run's first and last step), then every run's points at those steps.
   */
  async getMetricHistoryBulkInterval(input: {
    run_ids: string[];
    metric_key: string;
    start_step?: number;
    end_step?: number;
    max_results?: number;
  }): Promise<MetricPoint[]> {
    const limit = maxResults(input.max_results, 2500, 2500);
    if (input.run_ids.length === 0 || input.run_ids.length > 100) {
      throw invalidArgument(`GetMetricHistoryBulkInterval request must specify between 1 and 100 run_ids. Received ${input.run_ids.length} run_ids.`);
    }
    if ((input.start_step === undefined) !== (input.end_step === undefined)) {
      throw invalidArgument('If either start step or end step are specified, both must be specified.');
    }
    if (input.start_step !== undefined && input.end_step !== undefined && input.start_step > input.end_step) {
      throw invalidArgument(`end_step must be greater than start_step. Found start_step=${input.start_step} and end_step=${input.end_step}.`);
    }
    const histories = await Promise.all(input.run_ids.map(async (id) => ({ id, history: await this.getMetricHistoryColumns(id, input.metric_key) })));
    const perRun = histories.map(({ history }) => history.step);
    const all = [...new Set(perRun.flatMap((steps) => [...steps]))].sort((a, b) => a - b);
    const start = input.start_step ?? 0;
    const end = input.end_step ?? (all.at(-1) ?? 0);
    const chosen = new Set<number>();
    for (const steps of perRun) {
      if (steps.length === 0) continue;
      for (const s of [steps[0], steps[steps.length - 1]]) if (s >= start && s <= end) chosen.add(s);
    }
    const inRange = all.filter((s) => s >= start && s <= end);
    if (inRange.length <= limit) inRange.forEach((s) => chosen.add(s));
    else {
      const interval = inRange.length / limit;
      for (let i = 0; i < limit; i++) chosen.add(inRange[Math.floor(i * interval)]);
      chosen.add(inRange[inRange.length - 1]);
    }
    const out: MetricPoint[] = [];
    for (const { id, history } of histories) {
      for (let i = 0; i < history.length; i++) {
        if (chosen.has(history.step[i])) out.push({ key: input.metric_key, value: history.value[i], timestamp: history.timestamp[i], step: history.step[i], run_id: id });
      }
    }
    return out;
  }

  /** Whole histories of one metric for several runs (MLflow's get-history-bulk), at most `max_results` points. */
  async getMetricHistoryBulk(runIds: string[], key: string, max = 25_000): Promise<MetricPoint[]> {
    if (runIds.length === 0 || runIds.length > 100) {
      throw invalidArgument(`GetMetricHistoryBulk request must specify between 1 and 100 run_ids. Received ${runIds.length} run_ids.`);
    }
    const out: MetricPoint[] = [];
    for (const id of [...runIds].sort()) {
      const { metrics } = await this.getMetricHistory(id, key);
      for (const m of metrics) if (out.length < max) out.push({ ...m, run_id: id });
    }
    return out;
  }

  // ---- search ------------------------------------------------------------------------------

  async searchRuns(input: SearchRunsInput = {}): Promise<{ runs: Run[]; next_page_token?: string }> {
    const limit = maxResults(input.max_results, 1000, LIMITS.searchRunsMaxResults);
    const clauses = parseFilter(input.filter, RUNS);
    const order = parseOrderBy(input.order_by, RUNS);
    const offset = decodePageToken(input.page_token);
    const experimentIds = (input.experiment_ids ?? []).map(experimentPk).filter((id): id is number => id !== undefined);
    if (experimentIds.length === 0) return { runs: [] };
    const stages = viewStages(input.run_view_type);
    const { joins, orderBy } = runOrderSql(order);
    const where = [
      sql`r.experiment_id in (${sql.join(experimentIds)})`,
      sql`r.lifecycle_stage in (${sql.join(stages)})`,
      ...clauses.map((c) => runClauseSql(this.dialect, c)),
    ];
    const query = sql<RunTable>`select r.* from tracking_run r ${sql.join(joins, sql` `)} where ${sql.join(where, sql` and `)} order by ${sql.join(orderBy)} limit ${limit + 1} offset ${offset}`;
    const { rows } = await query.execute(this.db);
    const more = rows.length > limit;
    const runs = await this.loadRuns(more ? rows.slice(0, limit) : rows);
    return { runs, next_page_token: more ? encodePageToken(offset + limit) : undefined };
  }

  private async loadRuns(rows: RunTable[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const pks = rows.map((r) => Number(r.run_pk));
    const [params, tags, metrics, inputs, models] = await Promise.all([
      this.db.selectFrom('tracking_param').selectAll().where('run_pk', 'in', pks).orderBy('key').execute(),
      this.db.selectFrom('tracking_tag').selectAll().where('run_pk', 'in', pks).orderBy('key').execute(),
      this.db.selectFrom('tracking_latest_metric').selectAll().where('run_pk', 'in', pks).orderBy('key').execute(),
      this.db
        .selectFrom('tracking_run_input as i')
        .innerJoin('tracking_dataset as d', 'd.dataset_uuid', 'i.dataset_uuid')
        .select(['i.run_pk', 'i.tags', 'd.name', 'd.digest', 'd.source_type', 'd.source', 'd.schema', 'd.profile'])
        .where('i.run_pk', 'in', pks)
        .orderBy('d.name')
        .execute(),
      this.db.selectFrom('tracking_run_model').selectAll().where('run_pk', 'in', pks).orderBy('model_id').orderBy('step').execute(),
    ]);
    const byRun = <T extends { run_pk: number }>(items: T[]) => {
      const map = new Map<number, T[]>();
      for (const item of items) {
        const k = Number(item.run_pk);
        let list = map.get(k);
        if (!list) map.set(k, (list = []));
        list.push(item);
      }
      return map;
    };
    const p = byRun(params);
    const t = byRun(tags);
    const m = byRun(metrics);
    const d = byRun(inputs);
    const lm = byRun(models);
    return rows.map((r) => {
      const pk = Number(r.run_pk);
      const info: RunInfo = {
        run_id: r.run_id,
        run_uuid: r.run_id,
        run_name: r.run_name,
        experiment_id: String(r.experiment_id),
        user_id: r.user_id,
        status: r.status as RunStatus,
        start_time: Number(r.start_time),
        artifact_uri: r.artifact_uri,
        lifecycle_stage: r.lifecycle_stage as RunInfo['lifecycle_stage'],
      };
      if (r.end_time !== null && r.end_time !== undefined) info.end_time = Number(r.end_time);
      const linked = lm.get(pk) ?? [];
      const modelInputs = linked.filter((x) => x.direction === 'input').map((x) => ({ model_id: x.model_id }));
      const modelOutputs = linked.filter((x) => x.direction === 'output').map((x) => ({ model_id: x.model_id, step: Number(x.step) }));
      const run: Run = {
        info,
        data: {
          metrics: (m.get(pk) ?? []).map((row) => toMetric(row.key, row)),
          params: (p.get(pk) ?? []).map((row) => ({ key: row.key, value: row.value })),
          tags: (t.get(pk) ?? []).map((row) => ({ key: row.key, value: row.value })),
        },
        inputs: {
          dataset_inputs: (d.get(pk) ?? []).map((row) => {
            const dataset: DatasetInput['dataset'] = { name: row.name, digest: row.digest, source_type: row.source_type, source: row.source };
            if (row.schema !== null) dataset.schema = row.schema;
            if (row.profile !== null) dataset.profile = row.profile;
            return { tags: JSON.parse(row.tags) as KeyValue[], dataset };
          }),
        },
      };
      if (modelInputs.length) run.inputs.model_inputs = modelInputs;
      if (modelOutputs.length) run.outputs = { model_outputs: modelOutputs };
      return run;
    });
  }

  // ---- artifacts ---------------------------------------------------------------------------

  /** Where a run's artifacts live under the proxy root, or undefined when it points elsewhere (s3://...). */
  static proxyRoot(artifactUri: string): string | undefined {
    return artifactProxyRoot(artifactUri);
  }
}

function newer(step: number, ts: number, value: number, oStep: number, oTs: number, oValue: number): boolean {
  return step !== oStep ? step > oStep : ts !== oTs ? ts > oTs : value > oValue;
}

function toMetric(key: string, row: { step: number; timestamp: number; value: number; is_nan: number }): Metric {
  return { key, value: Number(row.is_nan) ? NaN : Number(row.value), timestamp: Number(row.timestamp), step: Number(row.step) };
}

/** Proto JSON sends absent strings as ''; MLflow stores the value as given. */
function stringValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/** A point as log-batch checked it: a run metric, and for MLflow 3 also its logged model's. */
type LoggedMetric = Metric & Partial<ModelMetric>;

/** Log-batch input checked and put in stored form: metrics with their defaults, params as text, tags deduplicated. */
function checkBatch(input: LogBatchInput, now: number): { metrics: LoggedMetric[]; params: KeyValue[]; tags: KeyValue[] } {
  const metricsIn = input.metrics ?? [];
  const paramsIn = input.params ?? [];
  const tagsIn = input.tags ?? [];
  checkBatchLimits(metricsIn.length, paramsIn.length, tagsIn.length);
  const metrics = metricsIn.map((m): LoggedMetric => {
    const key = checkKey('metric', m.key);
    const metric = { key, value: metricValue(key, m.value), timestamp: metricInteger(key, 'timestamp', m.timestamp, now), step: metricInteger(key, 'step', m.step, 0) };
    // MLflow's handler reads '' as unset, as proto JSON sends absent strings.
    if (!m.model_id) return metric;
    return {
      ...metric,
      model_id: m.model_id,
      dataset_name: m.dataset_name ? checkLength('Dataset name', LIMITS.datasetName, m.dataset_name) : undefined,
      dataset_digest: m.dataset_digest ? checkLength('Dataset digest', LIMITS.datasetDigest, m.dataset_digest) : undefined,
    };
  });
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const p of paramsIn) {
    checkKey('parameter', p.key);
    if (seen.has(p.key)) dupes.push(p.key);
    seen.add(p.key);
  }
  if (dupes.length) {
    throw invalidArgument(
      `Duplicate parameter keys have been submitted: ${JSON.stringify(dupes)}. Please ensure the request contains only one param value per param key.`,
    );
  }
  const params = paramsIn.map((p) => ({ key: p.key, value: truncateLong(stringValue(p.value), LIMITS.paramValueLength) }));
  const tags = dedupe(tagsIn).map((t) => checkRunTag(t.key, t.value));
  return { metrics, params, tags };
}

/** Last write wins within one request, as MLflow documents for tags. */
function dedupe(tags: KeyValueInput[]): KeyValueInput[] {
  const map = new Map<string, KeyValueInput>();
  for (const t of tags) map.set(t.key, t);
  return [...map.values()];
}

function checkRunTag(key: string, value: unknown): KeyValue {
  checkKey('tag', key);
  return { key, value: truncateLong(stringValue(value), LIMITS.tagValueLength) };
}

function checkExperimentTag(key: string, value: unknown): KeyValue {
  checkKey('tag', key);
  checkLength('Tag key', LIMITS.experimentTagKeyLength, key);
  return { key, value: checkLength('Tag value', LIMITS.experimentTagValueLength, stringValue(value)) };
}

function checkDatasetInput(input: DatasetInput): void {
  const d = input?.dataset;
  if (!d) throw invalidArgument("Missing value for required parameter 'datasets[].dataset'.");
  for (const field of ['name', 'digest', 'source_type', 'source'] as const) {
    if (typeof d[field] !== 'string' || d[field] === '') throw invalidArgument(`Missing value for required parameter 'dataset.${field}'.`);
  }
  checkLength('Dataset name', LIMITS.datasetName, d.name);
  checkLength('Dataset digest', LIMITS.datasetDigest, d.digest);
  checkLength('Dataset source', LIMITS.datasetSource, d.source);
  if (d.schema) checkLength('Dataset schema', LIMITS.datasetSchema, d.schema);
  if (d.profile) checkLength('Dataset profile', LIMITS.datasetProfile, d.profile);
  for (const t of input.tags ?? []) {
    checkLength('Input tag key', LIMITS.inputTagKey, t.key);
    checkLength('Input tag value', LIMITS.inputTagValue, stringValue(t.value));
  }
}
