/**
 * MLflow REST API 2.0 for tracking, path for path and field for field, served under both
 * `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow` (the UI's copy). GET requests take query
 * parameters, others a JSON body; answers are MLflow's proto JSON (snake_case, int64 as
 * numbers, NaN and ±Infinity as the strings proto JSON uses).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { invalidArgument } from '../../core/errors.js';
import { LIMITS, VIEW_TYPES, decodePageToken, downsampleHistory, encodePageToken, type History, type RunStatus, type ViewType } from '../../tracking/index.js';
import { mlflowRpc, type MlflowRouteSpec } from './rpc.js';
import { artifactRoutes } from './artifacts.js';
import { loggedModelRoutes } from './logged-models.js';
import { required, runIdOf } from './params.js';
import { Double, installMlflowJson } from './fields.js';

const Str = Type.String();
const Int = Type.Integer();
const KV = Type.Object({ key: Str, value: Type.Optional(Str) });
const RunRef = { run_id: Type.Optional(Str), run_uuid: Type.Optional(Str) };

/** Proto enums arrive by name or by number. */
const VIEW_NUMBERS: Record<string, ViewType> = { '1': 'ACTIVE_ONLY', '2': 'DELETED_ONLY', '3': 'ALL' };
const STATUS_NUMBERS: Record<string, RunStatus> = { '1': 'RUNNING', '2': 'SCHEDULED', '3': 'FINISHED', '4': 'FAILED', '5': 'KILLED' };

function viewType(value: string | undefined): ViewType | undefined {
  if (value === undefined || value === '') return undefined;
  const v = VIEW_NUMBERS[value] ?? value;
  if (!(VIEW_TYPES as readonly string[]).includes(v)) throw invalidArgument(`Invalid view type '${value}'; use one of ${VIEW_TYPES.join(', ')}`);
  return v as ViewType;
}

/** JSON with NaN and ±Infinity written as proto JSON writes them. */
function protoJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : v,
  );
}

function send(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(protoJson(value));
}

const numberJson = (v: number) => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"');

/** Points from several runs, as get-history-bulk(-interval) answer them. */
function pointsJson(points: { key: string; value: number; timestamp: number; step: number; run_id?: string }[]): string {
  const parts = points.map(
    (p) => `{"key":${JSON.stringify(p.key)},"value":${numberJson(p.value)},"timestamp":${p.timestamp},"step":${p.step},"run_id":${JSON.stringify(p.run_id)}}`,
  );
  return `{"metrics":[${parts.join(',')}]}`;
}

/** One history's points as JSON objects, written by hand from its columns. */
function historyPoints(key: string, h: History, from: number, to: number): string {
  const head = `{"key":${JSON.stringify(key)},"value":`;
  const parts: string[] = new Array(Math.max(0, to - from));
  for (let i = from; i < to; i++) parts[i - from] = `${head}${numberJson(h.value[i])},"timestamp":${h.timestamp[i]},"step":${h.step[i]}}`;
  return parts.join(',');
}

/**
 * Rendered blocks of metric history. Writing 100,000 doubles as text is most of a get-history
 * answer's cost, and charts read the same histories again and again while a run grows by new
 * blocks; stored blocks never change, so each is rendered once.
 */
class BlockJsonCache {
  private readonly entries = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(id: number, render: () => string): Buffer {
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const bytes = Buffer.from(render());
    this.entries.set(id, bytes);
    this.bytes += bytes.length;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.length;
    }
    return bytes;
  }
}

const COMMA = Buffer.from(',');

export const trackingRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const tracking = platform.services.tracking;
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const rendered = new BlockJsonCache(64 * 1024 * 1024);
  installMlflowJson(app);

  const register = mlflowRpc(app, { tag: 'mlflow tracking', send });
  const rpc = <S extends TSchema>(spec: MlflowRouteSpec<S>, handler: (input: Static<S>, reply: FastifyReply) => Promise<unknown>) =>
    register(spec, (input, _request, reply) => handler(input, reply));

  // ---- experiments ---------------------------------------------------------------------------

  rpc(
    {
      method: 'POST',
      path: '/experiments/create',
      permission: 'edit',
      summary: 'Create an experiment',
      input: Type.Object({ name: Str, artifact_location: Type.Optional(Str), tags: Type.Optional(Type.Array(KV)) }),
    },
    async (b) => ({ experiment_id: await tracking.createExperiment({ name: b.name, artifact_location: b.artifact_location || undefined, tags: b.tags }) }),
  );

  rpc(
    { method: 'GET', path: '/experiments/get', permission: 'read', summary: 'Get an experiment', input: Type.Object({ experiment_id: Str }) },
    async (q) => ({ experiment: await tracking.getExperiment(q.experiment_id) }),
  );

  rpc(
    {
      method: 'GET',
      path: '/experiments/get-by-name',
      permission: 'read',
      summary: 'Get an experiment by name',
      input: Type.Object({ experiment_name: Str }),
    },
    async (q) => ({ experiment: await tracking.getExperimentByName(q.experiment_name) }),
  );

  const searchExperiments = Type.Object({
    max_results: Type.Optional(Int),
    page_token: Type.Optional(Str),
    filter: Type.Optional(Str),
    order_by: Type.Optional(Type.Array(Str)),
    view_type: Type.Optional(Str),
  });
  for (const method of ['POST', 'GET'] as const) {
    rpc(
      {
        method,
        path: '/experiments/search',
        permission: 'read',
        summary: 'Search experiments',
        input: searchExperiments,
      },
      async (b) => tracking.searchExperiments({ ...b, view_type: viewType(b.view_type) }),
    );
  }

  // MLflow 1.x's list call, which older clients (the npm `mlflow` package among them) still make.
  rpc(
    {
      method: 'GET',
      path: '/experiments/list',
      permission: 'read',
      summary: 'List experiments (MLflow 1.x; use search)',
      input: Type.Object({ view_type: Type.Optional(Str), max_results: Type.Optional(Int), page_token: Type.Optional(Str) }),
    },
    async (q) => tracking.searchExperiments({ view_type: viewType(q.view_type), max_results: q.max_results ?? LIMITS.searchExperimentsMaxResults, page_token: q.page_token }),
  );

  rpc(
    {
      method: 'POST',
      path: '/experiments/update',
      permission: 'edit',
      summary: 'Rename an experiment',
      input: Type.Object({ experiment_id: Str, new_name: Type.Optional(Str) }),
    },
    async (b) => {
      await tracking.updateExperiment(b.experiment_id, required(b.new_name, 'new_name'));
    },
  );

  for (const [path, fn, summary] of [
    ['/experiments/delete', (id: string) => tracking.deleteExperiment(id), 'Delete an experiment (and its runs)'],
    ['/experiments/restore', (id: string) => tracking.restoreExperiment(id), 'Restore a deleted experiment'],
  ] as const) {
    rpc({ method: 'POST', path, permission: 'manage', summary, input: Type.Object({ experiment_id: Str }) }, async (b) => {
      await fn(b.experiment_id);
    });
  }

  rpc(
    {
      method: 'POST',
      path: '/experiments/set-experiment-tag',
      permission: 'edit',
      summary: 'Set a tag on an experiment',
      input: Type.Object({ experiment_id: Str, key: Str, value: Type.Optional(Str) }),
    },
    async (b) => {
      await tracking.setExperimentTag(b.experiment_id, b.key, b.value ?? '');
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/experiments/delete-experiment-tag',
      permission: 'edit',
      summary: 'Delete a tag from an experiment',
      input: Type.Object({ experiment_id: Str, key: Str }),
    },
    async (b) => {
      await tracking.deleteExperimentTag(b.experiment_id, b.key);
    },
  );

  // ---- runs ----------------------------------------------------------------------------------

  rpc(
    {
      method: 'POST',
      path: '/runs/create',
      permission: 'edit',
      summary: 'Create a run',
      input: Type.Object({
          experiment_id: Type.Optional(Str),
          run_name: Type.Optional(Str),
          start_time: Type.Optional(Int),
          tags: Type.Optional(Type.Array(KV)),
          user_id: Type.Optional(Str),
        }),
    },
    async (b) => ({ run: await tracking.createRun(b) }),
  );

  rpc(
    { method: 'GET', path: '/runs/get', permission: 'read', summary: 'Get a run', input: Type.Object(RunRef) },
    async (q) => ({ run: await tracking.getRun(runIdOf(q)) }),
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/update',
      permission: 'edit',
      summary: 'Update a run (status, end time, name)',
      input: Type.Object({ ...RunRef, status: Type.Optional(Str), end_time: Type.Optional(Int), run_name: Type.Optional(Str) }),
    },
    async (b) => ({
      run_info: await tracking.updateRun(runIdOf(b), {
        status: b.status === undefined ? undefined : (STATUS_NUMBERS[b.status] ?? b.status),
        end_time: b.end_time,
        run_name: b.run_name,
      }),
    }),
  );

  for (const [path, fn, summary] of [
    ['/runs/delete', (id: string) => tracking.deleteRun(id), 'Delete a run'],
    ['/runs/restore', (id: string) => tracking.restoreRun(id), 'Restore a deleted run'],
  ] as const) {
    rpc({ method: 'POST', path, permission: 'manage', summary, input: Type.Object(RunRef) }, async (b) => {
      await fn(runIdOf(b));
    });
  }

  rpc(
    {
      method: 'POST',
      path: '/runs/search',
      permission: 'read',
      summary: 'Search runs with a filter and order',
      input: Type.Object({
          experiment_ids: Type.Optional(Type.Array(Str)),
          filter: Type.Optional(Str),
          run_view_type: Type.Optional(Str),
          max_results: Type.Optional(Int),
          order_by: Type.Optional(Type.Array(Str)),
          page_token: Type.Optional(Str),
        }),
    },
    async (b) => tracking.searchRuns({ ...b, run_view_type: viewType(b.run_view_type) }),
  );

  // ---- logging -------------------------------------------------------------------------------

  // MLflow 3 adds the logged model a point also belongs to and the dataset it was measured on.
  const ModelFields = { model_id: Type.Optional(Str), dataset_name: Type.Optional(Str), dataset_digest: Type.Optional(Str) };
  const Metric = Type.Object({ key: Str, value: Double, timestamp: Int, step: Type.Optional(Int), ...ModelFields });

  rpc(
    {
      method: 'POST',
      path: '/runs/log-metric',
      permission: 'edit',
      summary: 'Log one metric point',
      input: Type.Object({ ...RunRef, key: Str, value: Double, timestamp: Int, step: Type.Optional(Int), ...ModelFields }),
    },
    async (b) => {
      const { model_id, dataset_name, dataset_digest } = b;
      await tracking.logMetric(runIdOf(b), { key: b.key, value: required(b.value, 'value'), timestamp: b.timestamp, step: b.step, model_id, dataset_name, dataset_digest });
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/log-parameter',
      permission: 'edit',
      summary: 'Log a parameter (write-once)',
      input: Type.Object({ ...RunRef, key: Str, value: Type.Optional(Str) }),
    },
    async (b) => {
      await tracking.logParam(runIdOf(b), b.key, b.value ?? '');
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/set-tag',
      permission: 'edit',
      summary: 'Set a tag on a run',
      input: Type.Object({ ...RunRef, key: Str, value: Type.Optional(Str) }),
    },
    async (b) => {
      await tracking.setTag(runIdOf(b), b.key, b.value ?? '');
    },
  );

  rpc(
    { method: 'POST', path: '/runs/delete-tag', permission: 'edit', summary: 'Delete a tag from a run', input: Type.Object({ ...RunRef, key: Str }) },
    async (b) => {
      await tracking.deleteTag(runIdOf(b), b.key);
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/log-batch',
      permission: 'edit',
      summary: 'Log metrics, params and tags in one request',
      input: Type.Object({
          ...RunRef,
          metrics: Type.Optional(Type.Array(Metric)),
          params: Type.Optional(Type.Array(KV)),
          tags: Type.Optional(Type.Array(KV)),
        }),
      async onRequest(request) {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > LIMITS.batchRequestBytes) {
          throw invalidArgument(`Batched logging API requests must be at most ${LIMITS.batchRequestBytes} bytes, got a request of size ${length}.`);
        }
      },
    },
    async (b) => {
      await tracking.logBatch(runIdOf(b), { metrics: b.metrics, params: b.params, tags: b.tags });
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/log-inputs',
      permission: 'edit',
      summary: 'Log dataset and model inputs of a run',
      input: Type.Object({
          ...RunRef,
          // MLflow 2.x requires the list (an empty one is a no-op). MLflow 3 also takes `models`,
          // and its client omits an empty `datasets` when it logs only models.
          datasets: Type.Optional(Type.Array(
            Type.Object({
              tags: Type.Optional(Type.Array(KV)),
              dataset: Type.Object({
                name: Str,
                digest: Str,
                source_type: Str,
                source: Str,
                schema: Type.Optional(Str),
                profile: Type.Optional(Str),
              }),
            }),
          )),
          models: Type.Optional(Type.Array(Type.Object({ model_id: Str }))),
        }),
    },
    async (b) => {
      await tracking.logInputs(
        runIdOf(b),
        (b.models ? (b.datasets ?? []) : required(b.datasets, 'datasets')).map((d) => ({ tags: d.tags ?? [], dataset: d.dataset })),
        b.models ?? [],
      );
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/log-model',
      permission: 'edit',
      summary: "Record a logged model (MLmodel as JSON) on a run",
      input: Type.Object({ ...RunRef, model_json: Str }),
    },
    async (b) => {
      await tracking.logModel(runIdOf(b), b.model_json);
    },
  );

  // ---- metric history ------------------------------------------------------------------------

  rpc(
    {
      method: 'GET',
      path: '/metrics/get-history',
      permission: 'read',
      summary: 'All points of one metric of a run',
      input: Type.Object({
        ...RunRef,
        metric_key: Str,
        max_results: Type.Optional(Int),
        page_token: Type.Optional(Str),
        max_points: Type.Optional(Type.Integer({ minimum: 3, description: 'modelport: at most this many points, chosen by LTTB to keep the curve’s shape (for charts)' })),
      }),
    },
    async (q, reply) => {
      const runId = runIdOf(q);
      reply.type('application/json; charset=utf-8');
      if (q.max_points !== undefined) {
        if (q.max_results !== undefined || q.page_token) throw invalidArgument('max_points returns a whole downsampled history; it cannot be combined with max_results or page_token');
        const history = downsampleHistory(await tracking.getMetricHistoryColumns(runId, q.metric_key), q.max_points);
        return reply.send(`{"metrics":[${historyPoints(q.metric_key, history, 0, history.length)}]}`);
      }
      if (q.max_results === undefined && !q.page_token) {
        const blocks = await tracking.getMetricHistoryBlocks(runId, q.metric_key);
        if (blocks) {
          const parts: Buffer[] = [Buffer.from('{"metrics":[')];
          blocks.forEach((b, i) => {
            if (i > 0) parts.push(COMMA);
            parts.push(rendered.get(b.id, () => historyPoints(q.metric_key, b.history, 0, b.history.length)));
          });
          parts.push(Buffer.from(']}'));
          return reply.send(Buffer.concat(parts));
        }
      }
      const history = await tracking.getMetricHistoryColumns(runId, q.metric_key);
      const from = Math.min(decodePageToken(q.page_token), history.length);
      const to = q.max_results === undefined ? history.length : Math.min(history.length, from + Math.max(1, q.max_results));
      const next = to < history.length ? `,"next_page_token":${JSON.stringify(encodePageToken(to))}` : '';
      return reply.send(`{"metrics":[${historyPoints(q.metric_key, history, from, to)}]${next}}`);
    },
  );

  rpc(
    {
      method: 'GET',
      path: '/metrics/get-history-bulk-interval',
      permission: 'read',
      summary: 'Sampled histories of one metric over several runs (for charts)',
      input: Type.Object({
          run_ids: Type.Array(Str),
          metric_key: Str,
          start_step: Type.Optional(Int),
          end_step: Type.Optional(Int),
          max_results: Type.Optional(Int),
        }),
    },
    async (q, reply) => reply.type('application/json; charset=utf-8').send(pointsJson(await tracking.getMetricHistoryBulkInterval(q))),
  );

  rpc(
    {
      method: 'GET',
      path: '/metrics/get-history-bulk',
      permission: 'read',
      summary: 'Whole histories of one metric over several runs',
      input: Type.Object({ run_id: Type.Array(Str), metric_key: Str, max_results: Type.Optional(Int) }),
    },
    async (q, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .send(pointsJson(await tracking.getMetricHistoryBulk(q.run_id, q.metric_key, Math.min(q.max_results ?? 25_000, 25_000)))),
  );

  await app.register(artifactRoutes, { platform });
  await app.register(loggedModelRoutes, { platform });
};
