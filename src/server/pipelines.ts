/**
 * REST API for pipelines under /api/v1/pipelines: saved pipelines, runs (live step states,
 * logs, outputs, cancel, resume), schedules and event triggers. A definition carries shell
 * commands the server will run, so submitting one is for admins; running a saved pipeline is
 * an edit.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../platform.js';
import type { PipelineSpec } from '../pipelines/index.js';
import type { TriggerInput } from '../pipelines/triggers.js';
import type { RunStatus } from '../pipelines/tables.js';
import { runGate, tableFromColumns } from '../pipelines/gate.js';

const Str = Type.String();
const Opt = Type.Optional;
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'pipeline name' });
const Params = Type.Record(Str, Type.Union([Str, Type.Number(), Type.Boolean()]), { description: 'parameter values' });
const ParamDefaults = Type.Record(Str, Type.Union([Str, Type.Number(), Type.Boolean(), Type.Null()]));
const Definition = Type.Unknown({ description: 'a pipeline definition: {name, params, steps, concurrency, dir}' });
const RunOptions = {
  params: Opt(Params),
  queue: Opt(Type.String({ description: 'local (default) or redis://HOST:PORT?name=QUEUE' })),
  parallelism: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })),
};

const StepSchema = Type.Object({
  name: Str,
  needs: Type.Array(Str),
  status: Str,
  attempts: Type.Integer(),
  cached: Type.Boolean(),
  outputsSha: Opt(Str),
  metrics: Type.Record(Str, Type.Number()),
  error: Opt(Str),
  trackingRunId: Opt(Str),
  ranOn: Opt(Str),
  startedAt: Opt(Type.Number()),
  endedAt: Opt(Type.Number()),
});
const RunSchema = Type.Object({
  id: Str,
  pipeline: Str,
  status: Str,
  trigger: Str,
  queue: Str,
  params: Params,
  trackingRunId: Opt(Str),
  error: Opt(Str),
  createdAt: Type.Number(),
  startedAt: Opt(Type.Number()),
  endedAt: Opt(Type.Number()),
  progress: Type.Object({ done: Type.Integer(), total: Type.Integer() }),
  steps: Type.Array(StepSchema),
});
const PipelineSchema = Type.Object({
  name: Str,
  description: Str,
  params: ParamDefaults,
  steps: Type.Array(Type.Object({ name: Str, needs: Type.Array(Str), kind: Str })),
  concurrency: Str,
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});
const ScheduleSchema = Type.Object({ id: Str, pipeline: Str, cron: Str, timezone: Str, params: Type.Record(Str, Type.Unknown()), nextAt: Type.Number() });
const TriggerSchema = Type.Object({ id: Str, pipeline: Str, kind: Str, config: Type.Record(Str, Type.Unknown()), params: Type.Record(Str, Type.Unknown()), cursor: Type.Number() });
const TriggerBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('dataset'), Type.Literal('alert'), Type.Literal('feedback')]),
    dataset: Opt(Str),
    versionParam: Opt(Str),
    deployment: Opt(Str),
    alertKind: Opt(Type.Union([Type.Literal('drift'), Type.Literal('performance'), Type.Literal('concept_drift')])),
    every: Opt(Type.Integer({ minimum: 1 })),
    params: Opt(Params),
  },
  { additionalProperties: false },
);
const MetricSchema = Type.Union([Type.Object({ name: Str, computed: Type.Literal(true), value: Type.Number() }), Type.Object({ name: Str, computed: Type.Literal(false), reason: Str })]);
const EvaluationSchema = Type.Object({ model: Str, version: Str, rows: Type.Integer(), task: Opt(Str), metrics: Type.Array(MetricSchema), nonFiniteOutputs: Type.Integer(), latencyMs: Opt(Type.Number()) });
const GateReportSchema = Type.Object({
  passed: Type.Boolean(),
  metric: Str,
  minDelta: Type.Number(),
  candidate: EvaluationSchema,
  champion: Opt(EvaluationSchema),
  delta: Opt(Type.Number()),
  checks: Type.Array(Type.Object({ name: Str, passed: Type.Boolean(), detail: Str })),
});
const GateBody = Type.Object(
  {
    model: Str,
    candidate: Type.Union([Str, Type.Integer()]),
    against: Opt(Str),
    metric: Str,
    minDelta: Opt(Type.Number()),
    maxLatencyMs: Opt(Type.Number({ minimum: 0 })),
    label: Str,
    // Cells are checked by tableFromColumns: a union here would let the validator's type coercion turn 0 into null.
    columns: Type.Record(Str, Type.Array(Type.Unknown()), { description: 'the holdout: column name → values (numbers, text or null), one per row' }),
  },
  { additionalProperties: false },
);
const NameParams = Type.Object({ name: Name });
const IdParams = Type.Object({ id: Str });
const StepParams = Type.Object({ id: Str, step: Str });
const RunStatusQuery = Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)));

export const pipelineRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const pipelines = platform.services.pipelines;
  const tags = ['pipelines'];
  // A listening server evaluates schedules and triggers and takes over runs whose driver died.
  app.addHook('onListen', async () => pipelines.triggers.start(platform.config.triggerTickMs));

  app.post(
    '/api/v1/pipelines/gate',
    { config: { permission: 'read' }, schema: { summary: 'Champion/challenger gate: score both versions on the holdout sent and compare (changes nothing)', tags, body: GateBody, response: { 200: GateReportSchema } } },
    async (request) => {
      const { columns, ...options } = request.body;
      return runGate(platform.services.registry, tableFromColumns(columns), options);
    },
  );

  app.get('/api/v1/pipelines', { config: { permission: 'read' }, schema: { summary: 'List saved pipelines', tags, response: { 200: Type.Object({ pipelines: Type.Array(PipelineSchema) }) } } }, async () => ({
    pipelines: await pipelines.listPipelines(),
  }));

  app.put(
    '/api/v1/pipelines/:name',
    { config: { permission: 'admin' }, schema: { summary: 'Save a pipeline definition (it may hold shell commands)', tags, params: NameParams, body: Type.Object({ definition: Definition }, { additionalProperties: false }), response: { 200: PipelineSchema } } },
    async (request) => {
      const spec = request.body.definition as PipelineSpec;
      return pipelines.savePipeline({ ...(spec && typeof spec === 'object' ? spec : {}), name: spec?.name ?? request.params.name } as PipelineSpec, request.params.name);
    },
  );

  app.get('/api/v1/pipelines/:name', { config: { permission: 'read' }, schema: { summary: 'A saved pipeline', tags, params: NameParams, response: { 200: PipelineSchema } } }, async (request) =>
    pipelines.getPipeline(request.params.name),
  );

  app.delete('/api/v1/pipelines/:name', { config: { permission: 'manage' }, schema: { summary: 'Delete a saved pipeline with its schedules and triggers', tags, params: NameParams } }, async (request, reply) => {
    await pipelines.deletePipeline(request.params.name);
    return reply.status(204).send();
  });

  app.post(
    '/api/v1/pipelines/:name/runs',
    { config: { permission: 'edit' }, schema: { summary: 'Run a saved pipeline now', tags, params: NameParams, body: Type.Object(RunOptions, { additionalProperties: false }), response: { 201: RunSchema } } },
    async (request, reply) => reply.status(201).send(await pipelines.startRun({ pipeline: request.params.name, trigger: 'api', ...request.body })),
  );

  app.post(
    '/api/v1/pipelines/runs',
    { config: { permission: 'admin' }, schema: { summary: 'Run a pipeline definition (it may hold shell commands)', tags, body: Type.Object({ definition: Definition, ...RunOptions }, { additionalProperties: false }), response: { 201: RunSchema } } },
    async (request, reply) => {
      const { definition, ...options } = request.body;
      return reply.status(201).send(await pipelines.startRun({ spec: definition as PipelineSpec, trigger: 'manual', ...options }));
    },
  );

  app.get(
    '/api/v1/pipelines/runs',
    {
      config: { permission: 'read' },
      schema: { summary: 'Runs, newest first', tags, querystring: Type.Object({ pipeline: Opt(Str), status: Opt(RunStatusQuery), limit: Opt(Type.Integer({ minimum: 1, maximum: 1000 })) }), response: { 200: Type.Object({ runs: Type.Array(RunSchema) }) } },
    },
    async (request) => ({ runs: await pipelines.listRuns({ ...request.query, status: request.query.status as RunStatus | undefined }) }),
  );

  app.get('/api/v1/pipelines/runs/:id', { config: { permission: 'read' }, schema: { summary: 'A run with its steps’ live states', tags, params: IdParams, response: { 200: RunSchema } } }, async (request) =>
    pipelines.getRun(request.params.id),
  );

  app.post('/api/v1/pipelines/runs/:id/cancel', { config: { permission: 'edit' }, schema: { summary: 'Cancel a run: running steps are killed', tags, params: IdParams, response: { 200: RunSchema } } }, async (request) =>
    pipelines.cancel(request.params.id),
  );

  app.post('/api/v1/pipelines/runs/:id/resume', { config: { permission: 'edit' }, schema: { summary: 'Continue a run whose driver died, after its last completed step', tags, params: IdParams, response: { 200: RunSchema } } }, async (request) =>
    pipelines.resume(request.params.id),
  );

  app.get(
    '/api/v1/pipelines/runs/:id/steps/:step/logs',
    { config: { permission: 'read' }, schema: { summary: "A step's captured stdout or stderr", tags, params: StepParams, querystring: Type.Object({ stream: Opt(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])) }), response: { 200: Type.String() } } },
    async (request, reply) => reply.type('text/plain; charset=utf-8').send((await pipelines.stepLog(request.params.id, request.params.step, request.query.stream ?? 'stdout')).toString('utf8')),
  );

  app.get(
    '/api/v1/pipelines/runs/:id/steps/:step/outputs',
    { config: { permission: 'read' }, schema: { summary: "A step's output files (content-addressed)", tags, params: StepParams, response: { 200: Type.Object({ sha256: Str, files: Type.Array(Type.Object({ path: Str, sha256: Str, size: Type.Integer() })) }) } } },
    async (request) => pipelines.stepOutputs(request.params.id, request.params.step),
  );

  app.post(
    '/api/v1/pipelines/:name/schedules',
    {
      config: { permission: 'manage' },
      schema: { summary: 'Run a saved pipeline on a 5-field cron schedule in a time zone', tags, params: NameParams, body: Type.Object({ cron: Str, timezone: Opt(Str), params: Opt(Params) }, { additionalProperties: false }), response: { 201: ScheduleSchema } },
    },
    async (request, reply) => reply.status(201).send(await pipelines.triggers.addSchedule(request.params.name, request.body)),
  );

  app.get(
    '/api/v1/pipelines/schedules',
    { config: { permission: 'read' }, schema: { summary: 'Schedules', tags, querystring: Type.Object({ pipeline: Opt(Str) }), response: { 200: Type.Object({ schedules: Type.Array(ScheduleSchema) }) } } },
    async (request) => ({ schedules: await pipelines.triggers.listSchedules(request.query.pipeline) }),
  );

  app.delete('/api/v1/pipelines/schedules/:id', { config: { permission: 'manage' }, schema: { summary: 'Delete a schedule', tags, params: IdParams } }, async (request, reply) => {
    await pipelines.triggers.deleteSchedule(request.params.id);
    return reply.status(204).send();
  });

  app.post(
    '/api/v1/pipelines/:name/triggers',
    { config: { permission: 'manage' }, schema: { summary: 'Run a saved pipeline on a new dataset version, a monitor alert or a number of feedback labels', tags, params: NameParams, body: TriggerBody, response: { 201: TriggerSchema } } },
    async (request, reply) => reply.status(201).send(await pipelines.triggers.addTrigger(request.params.name, request.body as TriggerInput)),
  );

  app.get(
    '/api/v1/pipelines/triggers',
    { config: { permission: 'read' }, schema: { summary: 'Event triggers', tags, querystring: Type.Object({ pipeline: Opt(Str) }), response: { 200: Type.Object({ triggers: Type.Array(TriggerSchema) }) } } },
    async (request) => ({ triggers: await pipelines.triggers.listTriggers(request.query.pipeline) }),
  );

  app.delete('/api/v1/pipelines/triggers/:id', { config: { permission: 'manage' }, schema: { summary: 'Delete a trigger', tags, params: IdParams } }, async (request, reply) => {
    await pipelines.triggers.deleteTrigger(request.params.id);
    return reply.status(204).send();
  });
};
