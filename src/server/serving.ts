/**
 * Deployments API (`/api/v1/deployments`): create, list, read, move (version or alias), tune
 * (batching, cache, rate limit) and delete. Field names are snake_case, as in the issue and
 * Triton's configuration.
 */
import { StreamSupervisor } from '../serving/stream/supervisor.js';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import { checkCodeModel } from './auth.js';
import { invalidArgument } from '../core/errors.js';
import type { Deployment, DeploymentConfigPatch, Revision, VariantInput } from '../serving/index.js';
import { actorOf } from './registry-actor.js';

const Batching = Type.Object({
  max_batch_size: Type.Optional(Type.Integer({ minimum: 1, description: 'rows per model call; 1 = batching off' })),
  max_queue_delay_us: Type.Optional(Type.Integer({ minimum: 0, description: 'how long a partial batch may wait for more rows' })),
  max_queue_size: Type.Optional(Type.Integer({ minimum: 1, description: 'requests waiting at most; more are refused with 429' })),
  timeout_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'per-request deadline; 0 = none' })),
});
const Cache = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  max_entries: Type.Optional(Type.Integer({ minimum: 1 })),
  max_bytes: Type.Optional(Type.Integer({ minimum: 1024 })),
  ttl_ms: Type.Optional(Type.Integer({ minimum: 0 })),
  shared: Type.Optional(Type.Boolean({ description: 'one cache in Redis for every replica (needs a Redis online store or queue)' })),
});
const RateLimit = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  requests_per_second: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  burst: Type.Optional(Type.Integer({ minimum: 1 })),
  key: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('address')])),
  shared: Type.Optional(Type.Boolean({ description: 'buckets in Redis: the limit holds across every replica together' })),
});
const Routing = Type.Object({
  header: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'request header holding the user id a variant is chosen by (default x-user-id)' })),
  input_field: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'input column whose first value is the key (before the header)' })),
  fallback: Type.Optional(Type.String({ minLength: 1, description: "variant answering while the chosen one's circuit breaker is open" })),
  breaker_failures: Type.Optional(Type.Integer({ minimum: 1, description: 'consecutive failures that open a variant breaker (default 5)' })),
  breaker_cooldown_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'open breaker waits this long before a trial request (default 30000)' })),
  timeouts_ms: Type.Optional(
    Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 3_600_000 }), {
      description: 'per variant name, how long it may take (ms); slower counts as its failure and the fallback answers (replaces the whole map)',
    }),
  ),
});
const VariantBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  model: Type.String({ minLength: 1 }),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  alias: Type.Optional(Type.String({ minLength: 1 })),
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'share of traffic; the live variants sum to 100' })),
  shadow: Type.Optional(Type.Boolean({ description: 'gets copies of requests off the request path; never answers the caller' })),
  mirror: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "a shadow's share of requests copied to it" })),
});
const Variants = Type.Array(VariantBody, { minItems: 1, maxItems: 16, description: 'replaces every variant' });
const StreamBody = Type.Object({
  from: Type.String({ minLength: 1, description: 'redis://HOST:PORT/STREAM the servers read events from' }),
  to: Type.String({ minLength: 1, description: 'redis://HOST:PORT/STREAM they write predictions to' }),
  group: Type.Optional(Type.String({ minLength: 1, description: 'consumer group (default modelport:DEPLOYMENT)' })),
  dead_letter: Type.Optional(Type.String({ minLength: 1, description: 'stream for malformed events, on the input Redis (default FROM:dead)' })),
  batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536, description: 'events per micro-batch (default 256)' })),
});
const Settings = {
  stream: Type.Optional(Type.Union([StreamBody, Type.Null()], { description: 'a stream consumer every server runs for this deployment; null removes it' })),
  routing: Type.Optional(Routing),
  batching: Type.Optional(Batching),
  cache: Type.Optional(Cache),
  rate_limit: Type.Optional(RateLimit),
  threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'onnxruntime intra-op threads per session' })),
  executor: Type.Optional(
    Type.Union([Type.Literal('auto'), Type.Literal('worker'), Type.Literal('event-loop')], {
      description: 'where onnx/js models compute: a worker thread, the event loop, or auto (micro-models on the loop)',
    }),
  ),
  onnx_engine: Type.Optional(
    Type.Union([Type.Literal('auto'), Type.Literal('onnxruntime')], {
      description: 'ONNX models: auto runs small batches of dense graphs in JavaScript when they agree with onnxruntime; onnxruntime always uses onnxruntime',
    }),
  ),
};
const Reason = Type.Optional(Type.String({ maxLength: 2000, description: 'why: recorded with the revision this change makes' }));
const CreateBody = Type.Object({
  reason: Reason,
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'defaults to the model name' })),
  model: Type.Optional(Type.String({ minLength: 1, description: 'one variant taking all traffic (or give variants)' })),
  variants: Type.Optional(Variants),
  version: Type.Optional(Type.Integer({ minimum: 1, description: 'pin this version (static)' })),
  alias: Type.Optional(Type.String({ minLength: 1, description: 'follow this alias (dynamic)' })),
  ...Settings,
});
const UpdateBody = Type.Object({
  reason: Reason,
  model: Type.Optional(Type.String({ minLength: 1 })),
  variants: Type.Optional(Variants),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  alias: Type.Optional(Type.String({ minLength: 1 })),
  ...Settings,
});

const VariantView = Type.Object({
  name: Type.String(),
  model: Type.String(),
  version: Type.Optional(Type.Integer()),
  alias: Type.Optional(Type.String()),
  weight: Type.Number(),
  shadow: Type.Optional(Type.Boolean()),
  mirror: Type.Optional(Type.Integer()),
  state: Type.String(),
  serving_version: Type.Optional(Type.Integer()),
  serving_since_ms: Type.Optional(Type.Number({ description: 'when the serving version began to answer on this replica' })),
  load_ms: Type.Optional(Type.Integer({ description: 'how long this replica took to resolve, fetch, load and warm the serving version once it acted on the change' })),
  runs_on: Type.Optional(Type.String({ description: 'worker | event-loop | tree-pool' })),
  engine: Type.Optional(Type.String({ description: 'ONNX models: js or onnxruntime, the engine of the serving version' })),
  loading_version: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String()),
});
const DeploymentView = Type.Object({
  name: Type.String(),
  state: Type.String({ description: 'pending | loading | ready | failed, as seen by the replica that answers' }),
  message: Type.Optional(Type.String()),
  variants: Type.Array(VariantView),
  batching: Type.Object({ max_batch_size: Type.Integer(), max_queue_delay_us: Type.Integer(), max_queue_size: Type.Integer(), timeout_ms: Type.Integer() }),
  cache: Type.Object({ enabled: Type.Boolean(), max_entries: Type.Integer(), max_bytes: Type.Integer(), ttl_ms: Type.Integer(), shared: Type.Boolean() }),
  rate_limit: Type.Object({ enabled: Type.Boolean(), requests_per_second: Type.Number(), burst: Type.Integer(), key: Type.String(), shared: Type.Boolean() }),
  routing: Type.Object({
    header: Type.String(),
    input_field: Type.Optional(Type.String()),
    fallback: Type.Optional(Type.String()),
    breaker_failures: Type.Integer(),
    breaker_cooldown_ms: Type.Integer(),
    timeouts_ms: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  }),
  threads: Type.Integer(),
  executor: Type.String(),
  onnx_engine: Type.String(),
  stream: Type.Optional(StreamBody),
  revision: Type.Integer(),
  created_ms: Type.Number(),
  updated_ms: Type.Number(),
  replicas: Type.Optional(
    Type.Array(
      Type.Object({
        replica: Type.String(),
        host: Type.String(),
        heartbeat_ms: Type.Number(),
        state: Type.String({ description: 'pending | loading | ready | failed, or absent when the replica does not hold it yet' }),
        revision: Type.Optional(Type.Integer()),
        message: Type.Optional(Type.String()),
        variants: Type.Array(
          Type.Object({
            name: Type.String(),
            state: Type.String(),
            serving_version: Type.Optional(Type.Integer()),
            serving_since_ms: Type.Optional(Type.Number()),
            load_ms: Type.Optional(Type.Integer()),
            loading_version: Type.Optional(Type.Integer()),
          }),
        ),
      }),
      { description: 'every live replica (by its heartbeat) and what it serves; only on GET of one deployment' },
    ),
  ),
});
export type DeploymentJson = Static<typeof DeploymentView>;

function view(d: Deployment): DeploymentJson {
  return {
    name: d.name,
    state: d.status.state,
    message: d.status.message,
    variants: d.variants.map((v) => {
      const s = d.status.variants.find((x) => x.name === v.name);
      return {
        name: v.name,
        model: v.model,
        version: v.version,
        alias: v.alias,
        weight: v.weight,
        shadow: v.shadow,
        mirror: v.mirror,
        state: s?.state ?? 'pending',
        serving_version: s?.servingVersion,
        serving_since_ms: s?.servingSinceMs,
        load_ms: s?.loadMs,
        runs_on: s?.runsOn,
        engine: s?.engine,
        loading_version: s?.loadingVersion,
        message: s?.message,
      };
    }),
    batching: {
      max_batch_size: d.batching.maxBatchSize,
      max_queue_delay_us: d.batching.maxQueueDelayUs,
      max_queue_size: d.batching.maxQueueSize,
      timeout_ms: d.batching.timeoutMs,
    },
    cache: { enabled: d.cache.enabled, max_entries: d.cache.maxEntries, max_bytes: d.cache.maxBytes, ttl_ms: d.cache.ttlMs, shared: d.cache.shared ?? false },
    rate_limit: { enabled: d.rateLimit.enabled, requests_per_second: d.rateLimit.requestsPerSecond, burst: d.rateLimit.burst, key: d.rateLimit.key, shared: d.rateLimit.shared ?? false },
    routing: {
      header: d.routing.header,
      input_field: d.routing.inputField,
      fallback: d.routing.fallback,
      breaker_failures: d.routing.breakerFailures,
      breaker_cooldown_ms: d.routing.breakerCooldownMs,
      timeouts_ms: d.routing.timeoutsMs,
    },
    threads: d.threads,
    executor: d.executor,
    onnx_engine: d.onnxEngine ?? 'auto',
    stream: d.stream && { from: d.stream.from, to: d.stream.to, group: d.stream.group, dead_letter: d.stream.deadLetter, batch_size: d.stream.batchSize },
    revision: d.revision,
    created_ms: d.createdMs,
    updated_ms: d.updatedMs,
  };
}

const RevisionView = Type.Object({
  revision: Type.Integer(),
  actor: Type.String(),
  reason: Type.String(),
  created_ms: Type.Number(),
  variants: Type.Array(Type.Object({ name: Type.String(), model: Type.String(), version: Type.Optional(Type.Integer()), alias: Type.Optional(Type.String()), weight: Type.Number(), shadow: Type.Optional(Type.Boolean()), mirror: Type.Optional(Type.Integer()) })),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'batching, cache, rate_limit, routing, threads, executor, onnx_engine as they were' }),
});
export type RevisionJson = Static<typeof RevisionView>;

function revisionView(r: Revision): RevisionJson {
  const d = view({ ...r.spec, createdMs: 0, updatedMs: 0, revision: r.revision, status: { state: 'pending', variants: [] } });
  return {
    revision: r.revision,
    actor: r.actor,
    reason: r.reason,
    created_ms: r.createdMs,
    variants: r.spec.variants.map((v) => ({ name: v.name, model: v.model, version: v.version, alias: v.alias, weight: v.weight, shadow: v.shadow, mirror: v.mirror })),
    settings: { batching: d.batching, cache: d.cache, rate_limit: d.rate_limit, routing: d.routing, threads: d.threads, executor: d.executor, onnx_engine: d.onnx_engine },
  };
}

type SettingsJson = Static<typeof UpdateBody>;

function patchOf(body: SettingsJson): DeploymentConfigPatch {
  const b = body.batching;
  const c = body.cache;
  const r = body.rate_limit;
  const g = body.routing;
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    batching: b && drop({ maxBatchSize: b.max_batch_size, maxQueueDelayUs: b.max_queue_delay_us, maxQueueSize: b.max_queue_size, timeoutMs: b.timeout_ms }),
    cache: c && drop({ enabled: c.enabled, maxEntries: c.max_entries, maxBytes: c.max_bytes, ttlMs: c.ttl_ms, shared: c.shared }),
    rateLimit: r && drop({ enabled: r.enabled, requestsPerSecond: r.requests_per_second, burst: r.burst, key: r.key, shared: r.shared }),
    routing: g && drop({ header: g.header, inputField: g.input_field, fallback: g.fallback, breakerFailures: g.breaker_failures, breakerCooldownMs: g.breaker_cooldown_ms, timeoutsMs: g.timeouts_ms }),
    threads: body.threads,
    executor: body.executor,
    onnxEngine: body.onnx_engine,
    stream: body.stream && { from: body.stream.from, to: body.stream.to, group: body.stream.group, deadLetter: body.stream.dead_letter, batchSize: body.stream.batch_size },
  };
}

function variantOf(v: Static<typeof VariantBody>, i: number): VariantInput {
  if (v.weight === undefined && !v.shadow) throw invalidArgument(`variants[${i}].weight is required (the share of traffic, 0..100)`);
  return { name: v.name, model: v.model, version: v.version, alias: v.alias, weight: v.weight ?? 0, shadow: v.shadow, mirror: v.mirror };
}

const TAGS = ['deployments'];
const NamePath = Type.Object({ name: Type.String() });

export const servingRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.services.serving;
  // Only a listening server consumes streams: an embedded CLI's app answers one command.
  const streams = new StreamSupervisor(serving, serving.metrics.registry, platform.clock);
  app.addHook('onListen', async () => streams.start());
  app.addHook('onClose', async () => streams.close());

  app.get('/api/v1/deployments', {
    config: { permission: 'read' },
    schema: { summary: 'List deployments', tags: TAGS, response: { 200: Type.Object({ deployments: Type.Array(DeploymentView) }) } },
  }, async () => ({ deployments: (await serving.list()).map(view) }));

  app.post('/api/v1/deployments', {
    config: { permission: 'manage' },
    schema: { summary: 'Deploy a registered model version or alias', tags: TAGS, body: CreateBody, response: { 201: DeploymentView } },
  }, async (request, reply) => {
    const { name, model, version, alias, variants } = request.body;
    await checkCodeModel(platform, request, model, { version, alias });
    for (const v of variants ?? []) await checkCodeModel(platform, request, v.model, { version: v.version, alias: v.alias });
    const change = { actor: actorOf(request).user, reason: request.body.reason };
    const created = await serving.create({ name, model, version, alias, variants: variants?.map(variantOf), config: patchOf(request.body) }, change);
    return reply.status(201).send(view(created));
  });

  app.get('/api/v1/deployments/:name', {
    config: { permission: 'read' },
    schema: { summary: 'A deployment and its status on the answering replica', tags: TAGS, params: NamePath, response: { 200: DeploymentView } },
  }, async (request) => {
    const d = await serving.get(request.params.name);
    const replicas = await serving.replicaStates(d.name);
    return {
      ...view(d),
      replicas: replicas.map((r) => ({
        replica: r.replica,
        host: r.host,
        heartbeat_ms: r.heartbeatMs,
        state: r.state,
        revision: r.revision,
        message: r.message,
        variants: r.variants.map((v) => ({ name: v.name, state: v.state, serving_version: v.servingVersion, serving_since_ms: v.servingSinceMs, load_ms: v.loadMs, loading_version: v.loadingVersion })),
      })),
    };
  });

  app.patch('/api/v1/deployments/:name', {
    config: { permission: 'manage' },
    schema: { summary: 'Move a deployment to another version or alias, or change its settings', tags: TAGS, params: NamePath, body: UpdateBody, response: { 200: DeploymentView } },
  }, async (request) => {
    const { model, version, alias, variants } = request.body;
    if (version !== undefined || alias !== undefined) await checkCodeModel(platform, request, model ?? (await serving.get(request.params.name)).variants[0]?.model, { version, alias });
    for (const v of variants ?? []) await checkCodeModel(platform, request, v.model, { version: v.version, alias: v.alias });
    const change = { actor: actorOf(request).user, reason: request.body.reason };
    return view(await serving.update(request.params.name, { model, version, alias, variants: variants?.map(variantOf), config: patchOf(request.body) }, change));
  });

  app.get('/api/v1/deployments/:name/revisions', {
    config: { permission: 'read' },
    schema: {
      summary: 'Every change of a deployment, newest first, with who made it and why',
      tags: TAGS,
      params: NamePath,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      response: { 200: Type.Object({ revisions: Type.Array(RevisionView) }) },
    },
  }, async (request) => ({ revisions: (await serving.revisions(request.params.name, request.query.limit)).map(revisionView) }));

  app.post('/api/v1/deployments/:name/rollback', {
    config: { permission: 'manage' },
    schema: {
      summary: 'Restore the previous (or a named) revision as a new revision',
      tags: TAGS,
      params: NamePath,
      body: Type.Object({ to: Type.Optional(Type.Integer({ minimum: 1, description: 'revision to restore (default: the previous one)' })), reason: Reason }),
      response: { 200: DeploymentView },
    },
  }, async (request) => view(await serving.rollback(request.params.name, { to: request.body.to, actor: actorOf(request).user, reason: request.body.reason })));

  app.delete('/api/v1/deployments/:name', {
    config: { permission: 'manage' },
    schema: { summary: 'Delete a deployment (its models are unloaded)', tags: TAGS, params: NamePath, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await serving.delete(request.params.name);
    return reply.status(204).send(null);
  });
};
