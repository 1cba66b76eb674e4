/**
 * MLflow 3 logged models: a model logged to an experiment in its own right (id `m-<hex>`), with
 * params, tags, a status that goes PENDING → READY (or UPLOAD_FAILED) once its files are
 * uploaded, and an artifact location under the experiment's (`<experiment>/models/<id>/artifacts`)
 * that MLflow 3's client uploads to through the artifact proxy. Registered versions point at one
 * with a `models:/m-<hex>` source, and the model lists them in its `mlflow.modelVersions` tag.
 * Metrics logged to a run with a `model_id` are the model's metrics too, each point with its run
 * and dataset. Search filters and orders in memory: an experiment holds few logged models next to
 * its runs.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { isPostgres } from '../storage/metadata.js';
import type { Clock } from '../core/clock.js';
import { invalidArgument, notFound } from '../core/errors.js';
import { groupBy } from '../core/group.js';
import type { TrackingTables } from './schema.js';
import { parseFilter, type Clause, type Dictionary } from './search.js';
import { decodePageToken, encodePageToken, experimentPk } from './service.js';
import { checkKey, checkLength, LIMITS, storedMetricValue } from './validation.js';
import type { Experiment, Metric } from './types.js';

export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

export interface KeyValue {
  key: string;
  value: string;
}

/** MLflow's LoggedModel message, as its proto JSON has it. */
export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: LoggedModelStatus;
    status_message?: string;
    model_type?: string;
    source_run_id?: string;
    tags: KeyValue[];
  };
  data: { params: KeyValue[]; metrics: ModelMetricView[] };
}

/** A run's metric point that also belongs to a logged model (log-metric / log-batch with `model_id`). */
export interface ModelMetric extends Metric {
  model_id: string;
  dataset_name?: string;
  dataset_digest?: string;
}

/** MLflow's Metric message as a logged model lists it, fields in proto order, unset ones left out. */
export interface ModelMetricView {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  dataset_name?: string;
  dataset_digest?: string;
  model_id: string;
  run_id: string;
}

/** The tag in which MLflow's server lists the versions registered from a logged model. */
export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';

export interface DatasetFilter {
  /** Required; typed optional because MLflow's store, not the parser, refuses its absence. */
  dataset_name?: string;
  dataset_digest?: string;
}

export interface CreateLoggedModelInput {
  experiment_id: string;
  name?: string;
  model_type?: string;
  source_run_id?: string;
  params?: KeyValue[];
  tags?: KeyValue[];
}

export interface SearchLoggedModelsInput {
  experiment_ids: string[];
  filter?: string;
  /** Only models with metrics on one of these datasets; metric clauses count only those points. */
  datasets?: DatasetFilter[];
  /** `metrics.<key>` orders by the model's latest point of that metric, on the dataset named here if any. */
  order_by?: { field_name: string; ascending?: boolean; dataset_name?: string; dataset_digest?: string }[];
  max_results?: number;
  page_token?: string;
}

const LOGGED_MODELS: Dictionary = {
  subject: 'logged models',
  entities: ['attribute', 'metric', 'param', 'tag'],
  stringAttributes: new Map([['model_id', 'model_id'], ['name', 'name'], ['model_type', 'model_type'], ['status', 'status'], ['source_run_id', 'source_run_id']]),
  numericAttributes: new Map([['creation_timestamp', 'creation_ms'], ['creation_time', 'creation_ms'], ['last_updated_timestamp', 'updated_ms']]),
  orderAttributes: new Map(),
};
/** The columns MLflow's store orders by: its column names and their short aliases. */
const ORDER_FIELDS: Record<string, 'name' | 'model_id' | 'experiment_id' | 'status' | 'model_type' | 'source_run_id' | 'creation_ms' | 'updated_ms'> = {
  name: 'name',
  model_id: 'model_id',
  experiment_id: 'experiment_id',
  status: 'status',
  model_type: 'model_type',
  source_run_id: 'source_run_id',
  creation_timestamp_ms: 'creation_ms',
  creation_timestamp: 'creation_ms',
  creation_time: 'creation_ms',
  last_updated_timestamp_ms: 'updated_ms',
  last_updated_timestamp: 'updated_ms',
};

type Row = TrackingTables['tracking_logged_model'];
type MetricRow = TrackingTables['tracking_logged_model_metric'];
interface Loaded {
  row: Row;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: MetricRow[];
}
type OrderValue = string | number | null;
/** What `attach` loads: params and tags or not, and every metric point or those of some keys or datasets. */
interface Needs {
  params: boolean;
  tags: boolean;
  metrics: 'all' | { keys: string[]; datasets: string[] };
}
const EVERYTHING: Needs = { params: true, tags: true, metrics: 'all' };

function likeRegex(pattern: string, flags: string): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, flags);
}

function matches(value: string | number | null | undefined, c: Clause): boolean {
  switch (c.comparator) {
    case 'IS NULL':
      return value == null;
    case 'IS NOT NULL':
      return value != null;
    case 'IN':
      return value != null && (c.value as string[]).includes(String(value));
    case 'NOT IN':
      return value != null && !(c.value as string[]).includes(String(value));
  }
  if (value == null) return false;
  const want = c.value as string | number;
  switch (c.comparator) {
    case '=':
      return value === want;
    case '!=':
      return value !== want;
    case 'LIKE':
      return likeRegex(String(want), '').test(String(value));
    case 'ILIKE':
      return likeRegex(String(want), 'i').test(String(value));
    case '<':
      return value < want;
    case '<=':
      return value <= want;
    case '>':
      return value > want;
    default:
      return value >= want;
  }
}

export class LoggedModels {
  constructor(
    private readonly db: Kysely<TrackingTables>,
    private readonly clock: Clock,
    private readonly experiments: { get(id: string): Promise<Experiment> },
  ) {}

  async create(input: CreateLoggedModelInput): Promise<LoggedModel> {
    const experiment = await this.experiments.get(input.experiment_id);
    if (experiment.lifecycle_stage !== 'active') {
      throw invalidArgument(`The experiment ${experiment.experiment_id} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`);
    }
    const name = input.name ?? '';
    if (/[/:.%"']/.test(name)) throw invalidArgument(`Invalid model name '${name}': names may not contain '/', ':', '.', '%', '"' or "'".`, { field: 'name' });
    const params = checked('params', input.params ?? [], LIMITS.paramValueLength);
    const tags = checked('tags', input.tags ?? [], LIMITS.tagValueLength);
    const model_id = `m-${randomUUID().replace(/-/g, '')}`;
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tracking_logged_model')
        .values({
          model_id,
          experiment_id: Number(experiment.experiment_id),
          name: name || model_id,
          artifact_location: `${experiment.artifact_location.replace(/\/+$/, '')}/models/${model_id}/artifacts`,
          status: 'LOGGED_MODEL_PENDING',
          status_message: null,
          model_type: input.model_type ?? null,
          source_run_id: input.source_run_id ?? null,
          creation_ms: now,
          updated_ms: now,
          lifecycle_stage: 'active',
        })
        .execute();
      if (params.length) await trx.insertInto('tracking_logged_model_param').values(params.map((p) => ({ model_id, ...p }))).execute();
      if (tags.length) await trx.insertInto('tracking_logged_model_tag').values(tags.map((t) => ({ model_id, ...t }))).execute();
    });
    return this.get(model_id);
  }

  async get(modelId: string): Promise<LoggedModel> {
    return view(await this.load(modelId));
  }

  /** The logged model's artifact location, for registry sources `models:/m-<hex>`. */
  async artifactLocation(modelId: string): Promise<string> {
    return this.requireActive(modelId);
  }

  async finalize(modelId: string, status: string): Promise<LoggedModel> {
    if (status !== 'LOGGED_MODEL_READY' && status !== 'LOGGED_MODEL_UPLOAD_FAILED') {
      throw invalidArgument(`Invalid model status '${status}': finalize with LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.`, { field: 'status' });
    }
    await this.requireActive(modelId);
    await this.db.updateTable('tracking_logged_model').set({ status, updated_ms: this.clock.now() }).where('model_id', '=', modelId).execute();
    return this.get(modelId);
  }

  async setTags(modelId: string, tags: KeyValue[]): Promise<void> {
    await this.requireActive(modelId);
    const rows = checked('tags', tags, LIMITS.tagValueLength);
    await this.db.transaction().execute((trx) => this.upsertTags(trx, modelId, rows));
  }

  async deleteTag(modelId: string, key: string): Promise<void> {
    await this.requireActive(modelId);
    const gone = await this.db.deleteFrom('tracking_logged_model_tag').where('model_id', '=', modelId).where('key', '=', key).executeTakeFirst();
    if (!gone.numDeletedRows) throw notFound(`No tag with key '${key}' found for model with ID '${modelId}'.`);
  }

  /** Params are write-once, as a run's: the same value again is fine, another value is refused. */
  async logParams(modelId: string, params: KeyValue[]): Promise<void> {
    await this.requireActive(modelId);
    const rows = checked('params', params, LIMITS.paramValueLength);
    await this.db.transaction().execute(async (trx) => {
      for (const p of rows) {
        const had = await trx.selectFrom('tracking_logged_model_param').select('value').where('model_id', '=', modelId).where('key', '=', p.key).executeTakeFirst();
        if (had && had.value !== p.value) {
          throw invalidArgument(`Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${had.value}' for model ID='${modelId}'. Attempted logging new value '${p.value}'.`);
        }
        if (!had) await trx.insertInto('tracking_logged_model_param').values({ model_id: modelId, ...p }).execute();
      }
    });
  }

  /** Refuses points for a model that does not exist or is deleted, before log-batch writes anything. */
  async requireExisting(trx: Transaction<TrackingTables>, modelIds: string[]): Promise<void> {
    const wanted = [...new Set(modelIds)];
    const found = await trx.selectFrom('tracking_logged_model').select('model_id').where('model_id', 'in', wanted).where('lifecycle_stage', '=', 'active').execute();
    const have = new Set(found.map((r) => r.model_id));
    const missing = wanted.find((id) => !have.has(id));
    if (missing) throw notFound(notFoundMessage(missing));
  }

  /**
   * A log-batch's model points, in its transaction. A point whose MLflow key (model, name,
   * timestamp, step, run) is already held keeps its first value, as MLflow's store keeps it.
   */
  async insertMetrics(trx: Transaction<TrackingTables>, runId: string, metrics: ModelMetric[]): Promise<void> {
    await trx
      .insertInto('tracking_logged_model_metric')
      .values(
        metrics.map((m) => ({
          model_id: m.model_id,
          key: m.key,
          timestamp: m.timestamp,
          step: m.step,
          value: storedMetricValue(m.value),
          run_id: runId,
          dataset_name: m.dataset_name ?? null,
          dataset_digest: m.dataset_digest ?? null,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * MLflow's server lists each version registered with a `model_id` in the model's
   * `mlflow.modelVersions` tag, written as Python's json.dumps writes it; MLflow 3's clients read
   * the model's registrations from there.
   *
   * The version is already committed when this runs (its caller checked the model with
   * `requireActive` first), so nothing here refuses: a tag value someone set by hand that is not
   * a JSON list counts as empty, a model deleted since the check still gets the entry, and when
   * the list outgrows a tag value the oldest entries give way to the newest. The read and the
   * write share one transaction holding the model row, so concurrent registrations all land.
   */
  async recordVersion(modelId: string, name: string, version: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // SQLite's transactions take the write lock when they begin; PostgreSQL's need the row lock.
      let lock = trx.selectFrom('tracking_logged_model').select('model_id').where('model_id', '=', modelId);
      if (isPostgres(this.db)) lock = lock.forUpdate();
      if (!(await lock.executeTakeFirst())) throw notFound(notFoundMessage(modelId));
      const had = await trx
        .selectFrom('tracking_logged_model_tag')
        .select('value')
        .where('model_id', '=', modelId)
        .where('key', '=', MODEL_VERSIONS_TAG)
        .executeTakeFirst();
      const list = registrations(had?.value);
      if (!list.some((v) => v?.name === name && v?.version === version)) list.push({ name, version });
      let value = pythonJson(list);
      while (value.length > LIMITS.tagValueLength && list.length > 1) {
        list.shift();
        value = pythonJson(list);
      }
      await this.upsertTags(trx, modelId, [{ key: MODEL_VERSIONS_TAG, value }]);
    });
  }

  async delete(modelId: string): Promise<void> {
    await this.requireActive(modelId);
    await this.db.updateTable('tracking_logged_model').set({ lifecycle_stage: 'deleted', updated_ms: this.clock.now() }).where('model_id', '=', modelId).execute();
  }

  async search(input: SearchLoggedModelsInput): Promise<{ models: LoggedModel[]; next_page_token?: string }> {
    if (!input.experiment_ids?.length) throw invalidArgument('experiment_ids must contain at least one experiment id.', { field: 'experiment_ids' });
    const clauses = parseFilter(input.filter, LOGGED_MODELS);
    const datasets = input.datasets ?? [];
    if (datasets.some((d) => !d.dataset_name)) throw invalidArgument('`dataset_name` in the `datasets` clause must be specified.', { field: 'datasets' });
    const onDatasets = (p: MetricRow) =>
      datasets.length === 0 || datasets.some((d) => p.dataset_name === d.dataset_name && (d.dataset_digest === undefined || p.dataset_digest === d.dataset_digest));
    const order = (input.order_by ?? []).map((o) => {
      const ascending = o.ascending !== false;
      const field = ORDER_FIELDS[o.field_name];
      if (field) return { ascending, creation: field === 'creation_ms', value: (m: Loaded) => columnValue(m.row, field) };
      if (!o.field_name.includes('.')) throw invalidArgument(`Invalid order by field name: ${o.field_name}`, { field: 'order_by' });
      if (!o.field_name.startsWith('metrics.')) throw invalidArgument(`Invalid order by field name: ${o.field_name}. Only metrics are supported.`, { field: 'order_by' });
      const key = o.field_name.slice('metrics.'.length);
      return { ascending, creation: false, metric: key, value: (m: Loaded) => latestValue(m.metrics, key, o) };
    });
    const max = input.max_results ?? 100;
    if (!Number.isSafeInteger(max) || max < 1 || max > 1000) throw invalidArgument(`max_results must be between 1 and 1000, got ${max}.`, { field: 'max_results' });
    const ids = input.experiment_ids.map((id) => experimentPk(id) ?? -1);
    const rows = await this.db.selectFrom('tracking_logged_model').selectAll().where('experiment_id', 'in', ids).where('lifecycle_stage', '=', 'active').execute();
    // Without a metric clause, `datasets` alone keeps the models with any point on them.
    const anyOnDatasets = datasets.length > 0 && !clauses.some((c) => c.type === 'metric');
    // Filter and order read only the metrics, params and tags they name; the page gets the rest.
    const loaded = await this.attach(rows, {
      params: clauses.some((c) => c.type === 'param'),
      tags: clauses.some((c) => c.type === 'tag'),
      metrics: {
        keys: [...new Set([...clauses.filter((c) => c.type === 'metric').map((c) => c.key), ...order.flatMap((o) => (o.metric === undefined ? [] : [o.metric]))])],
        datasets: anyOnDatasets ? datasets.map((d) => d.dataset_name!) : [],
      },
    });
    const kept = loaded.filter((m) =>
      (!anyOnDatasets || m.metrics.some(onDatasets)) &&
      clauses.every((c) => {
        // A metric clause holds when any point of the metric does (on the datasets), as MLflow's join does.
        if (c.type === 'metric') return m.metrics.some((p) => p.key === c.key && onDatasets(p) && matches(Number(p.value), c));
        if (c.type === 'param') return matches(m.params.get(c.key), c);
        if (c.type === 'tag') return matches(m.tags.get(c.key), c);
        const column = LOGGED_MODELS.stringAttributes.get(c.key) ?? LOGGED_MODELS.numericAttributes.get(c.key);
        const value = m.row[column as keyof Row];
        return matches(value == null ? null : typeof value === 'string' ? value : Number(value), c);
      }),
    );
    // MLflow's store puts nulls last, then adds newest first unless the order names the creation
    // time; the id breaks what ties remain.
    const keys = order.some((k) => k.creation) ? order : [...order, { ascending: false, creation: true, value: (m: Loaded) => columnValue(m.row, 'creation_ms') }];
    const values = new Map(kept.map((m) => [m, keys.map((k) => k.value(m))]));
    kept.sort((a, b) => {
      const va = values.get(a)!;
      const vb = values.get(b)!;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const x = va[i];
        const y = vb[i];
        if (x === y) continue;
        if (x == null || y == null) return x == null ? 1 : -1;
        return (x < y ? -1 : 1) * (k.ascending ? 1 : -1);
      }
      return a.row.model_id < b.row.model_id ? -1 : a.row.model_id > b.row.model_id ? 1 : 0;
    });
    const from = decodePageToken(input.page_token);
    const page = (await this.attach(kept.slice(from, from + max).map((m) => m.row))).map(view);
    const next = from + max < kept.length ? encodePageToken(from + max) : undefined;
    return next ? { models: page, next_page_token: next } : { models: page };
  }

  private async load(modelId: string): Promise<Loaded> {
    const row = await this.db.selectFrom('tracking_logged_model').selectAll().where('model_id', '=', modelId).executeTakeFirst();
    if (!row || row.lifecycle_stage !== 'active') throw notFound(notFoundMessage(modelId));
    return (await this.attach([row]))[0];
  }

  /** The experiments of those of the models that are active: whose grants cover writes naming them. */
  async experimentsOf(modelIds: string[]): Promise<string[]> {
    const wanted = [...new Set(modelIds)];
    const rows = await this.db.selectFrom('tracking_logged_model').select('experiment_id').distinct().where('model_id', 'in', wanted).where('lifecycle_stage', '=', 'active').execute();
    return rows.map((r) => String(r.experiment_id));
  }

  /**
   * The model's artifact location, or RESOURCE_DOES_NOT_EXIST: what writes check, without its
   * params and tags, and what a registration naming the model checks before it creates anything.
   */
  async requireActive(modelId: string): Promise<string> {
    const row = await this.db
      .selectFrom('tracking_logged_model')
      .select('artifact_location')
      .where('model_id', '=', modelId)
      .where('lifecycle_stage', '=', 'active')
      .executeTakeFirst();
    if (!row) throw notFound(notFoundMessage(modelId));
    return row.artifact_location;
  }

  private async upsertTags(trx: Transaction<TrackingTables>, modelId: string, tags: KeyValue[]): Promise<void> {
    for (const t of tags) {
      await trx.insertInto('tracking_logged_model_tag').values({ model_id: modelId, ...t }).onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value: t.value })).execute();
    }
    await trx.updateTable('tracking_logged_model').set({ updated_ms: this.clock.now() }).where('model_id', '=', modelId).execute();
  }

  /**
   * Params, tags and metric points of many models (all of them unless `need` narrows them to
   * what a search's filter and order read): up to three queries, each grouped by model in one pass.
   */
  private async attach(rows: Row[], need: Needs = EVERYTHING): Promise<Loaded[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.model_id);
    const pairs = (table: 'tracking_logged_model_param' | 'tracking_logged_model_tag', wanted: boolean) =>
      wanted ? this.db.selectFrom(table).selectAll().where('model_id', 'in', ids).execute() : [];
    const { keys, datasets } = need.metrics === 'all' ? { keys: [], datasets: [] } : need.metrics;
    const points =
      need.metrics !== 'all' && keys.length === 0 && datasets.length === 0
        ? []
        : this.db
            .selectFrom('tracking_logged_model_metric')
            .selectAll()
            .where('model_id', 'in', ids)
            .$if(need.metrics !== 'all', (q) =>
              q.where((eb) => eb.or([...(keys.length ? [eb('key', 'in', keys)] : []), ...(datasets.length ? [eb('dataset_name', 'in', datasets)] : [])])),
            )
            .orderBy('timestamp')
            .orderBy('step')
            .orderBy('key')
            .orderBy('run_id')
            .execute();
    const [params, tags, metrics] = await Promise.all([pairs('tracking_logged_model_param', need.params), pairs('tracking_logged_model_tag', need.tags), points]);
    const p = byModel(params);
    const t = byModel(tags);
    const m = groupBy(metrics, (x) => x.model_id);
    return rows.map((row) => ({ row, params: p.get(row.model_id) ?? new Map(), tags: t.get(row.model_id) ?? new Map(), metrics: m.get(row.model_id) ?? [] }));
  }
}

const notFoundMessage = (modelId: string) => `Logged model with ID '${modelId}' not found.`;

function columnValue(row: Row, field: (typeof ORDER_FIELDS)[string]): OrderValue {
  const v = row[field];
  if (v == null) return null;
  return field === 'creation_ms' || field === 'updated_ms' || field === 'experiment_id' ? Number(v) : String(v);
}

/**
 * The value of a model's latest point of a metric (latest timestamp, then step), on the order's
 * dataset when it names one, or null: the value MLflow's store ranks the model by.
 */
function latestValue(points: MetricRow[], key: string, on: { dataset_name?: string; dataset_digest?: string }): OrderValue {
  let best: MetricRow | undefined;
  for (const p of points) {
    if (p.key !== key || (on.dataset_name && p.dataset_name !== on.dataset_name) || (on.dataset_digest && p.dataset_digest !== on.dataset_digest)) continue;
    if (!best || Number(p.timestamp) > Number(best.timestamp) || (Number(p.timestamp) === Number(best.timestamp) && Number(p.step) > Number(best.step))) best = p;
  }
  return best ? Number(best.value) : null;
}

/** An entry of the `mlflow.modelVersions` list: typed loosely, as a hand-set value may hold anything. */
type Registration = { name?: unknown; version?: unknown } | null;

/** The entries of a `mlflow.modelVersions` tag value; anything but a JSON list reads as none. */
function registrations(value: string | undefined): Registration[] {
  if (value === undefined) return [];
  try {
    const list: unknown = JSON.parse(value);
    return Array.isArray(list) ? (list as Registration[]) : [];
  } catch {
    return [];
  }
}

/** JSON as Python's json.dumps writes it: ', ' and ': ' separators, everything past ASCII escaped. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return JSON.stringify(value);
}

function metricView(p: MetricRow): ModelMetricView {
  return {
    key: p.key,
    value: Number(p.value),
    timestamp: Number(p.timestamp),
    step: Number(p.step),
    ...(p.dataset_name ? { dataset_name: p.dataset_name } : {}),
    ...(p.dataset_digest ? { dataset_digest: p.dataset_digest } : {}),
    model_id: p.model_id,
    run_id: p.run_id,
  };
}

/** Each model's key/value pairs, from rows of many models. */
function byModel(list: { model_id: string; key: string; value: string }[]): Map<string, Map<string, string>> {
  return new Map([...groupBy(list, (x) => x.model_id)].map(([id, rows]) => [id, new Map(rows.map((x) => [x.key, x.value]))]));
}

function checked(field: 'params' | 'tags', list: KeyValue[], valueLimit: number): KeyValue[] {
  const seen = new Set<string>();
  return list.map((kv) => {
    const key = checkKey(field === 'params' ? 'parameter' : 'tag', kv.key);
    if (seen.has(key)) throw invalidArgument(`Duplicate ${field} key '${key}' in one request.`, { field });
    seen.add(key);
    return { key, value: checkLength(`${field === 'params' ? 'Param' : 'Tag'} value`, valueLimit, kv.value ?? '') };
  });
}

function view(m: Loaded): LoggedModel {
  const r = m.row;
  const info: LoggedModel['info'] = {
    model_id: r.model_id,
    experiment_id: String(r.experiment_id),
    name: r.name,
    creation_timestamp_ms: Number(r.creation_ms),
    last_updated_timestamp_ms: Number(r.updated_ms),
    artifact_uri: r.artifact_location,
    status: r.status as LoggedModelStatus,
    tags: [...m.tags].map(([key, value]) => ({ key, value })),
  };
  if (r.status_message) info.status_message = r.status_message;
  if (r.model_type) info.model_type = r.model_type;
  if (r.source_run_id) info.source_run_id = r.source_run_id;
  return { info, data: { params: [...m.params].map(([key, value]) => ({ key, value })), metrics: m.metrics.map(metricView) } };
}
