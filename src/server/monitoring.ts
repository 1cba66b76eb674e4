/**
 * Monitoring API: the prediction log (/api/v1/predictions), feedback (/api/v1/feedback),
 * performance over time (/api/v1/performance), monitors and their checks (/api/v1/monitors,
 * /api/v1/monitoring/checks/:id[/report]) and alerts (/api/v1/alerts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../platform.js';
import { DAY_MS } from '../core/clock.js';
import { invalidArgument } from '../core/errors.js';
import {
  CheckSchema,
  MonitorInputSchema,
  MonitorPatchSchema,
  MonitorSchema,
  MonitorKindSchema,
} from '../monitoring/monitors/schema.js';
import type { FeedbackItem } from '../monitoring/feedback/feedback.js';
import type { MetricResult } from '../stats/metrics.js';

const Str = Type.String();
const Opt = Type.Optional;

const TimeParam = Type.String({ description: 'ISO 8601 time or epoch milliseconds' });

function parseTime(v: string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw invalidArgument(`${field}: "${v}" is neither an ISO time nor epoch milliseconds`);
  return ms;
}

const PredictionSchema = Type.Object({
  requestId: Str,
  row: Type.Integer(),
  deployment: Str,
  model: Str,
  version: Type.Integer(),
  variant: Str,
  timeMs: Type.Number(),
  latencyMs: Type.Number(),
  inputs: Type.Record(Str, Type.Unknown()),
  outputs: Type.Record(Str, Type.Unknown()),
});

const FeedbackItemSchema = Type.Object(
  {
    request_id: Opt(Type.Unknown({ description: 'the x-request-id of the prediction request' })),
    row: Opt(Type.Unknown({ description: 'row of a multi-row request (default 0)' })),
    label: Opt(Type.Unknown({ description: 'class label (classification)' })),
    value: Opt(Type.Unknown({ description: 'numeric target (regression)' })),
  },
  { description: 'Malformed items are reported one by one in `invalid`; they do not fail the batch.' },
);
const FeedbackBody = Type.Union([Type.Object({ items: Type.Array(FeedbackItemSchema, { maxItems: 10_000 }) }), FeedbackItemSchema]);
const Problem = Type.Object({ index: Type.Integer(), request_id: Opt(Str), row: Opt(Type.Integer()), reason: Str });
const FeedbackReply = Type.Object({
  accepted: Type.Integer(),
  replaced: Type.Integer(),
  unknown: Type.Array(Problem),
  invalid: Type.Array(Problem),
  detections: Type.Integer({ description: 'concept-drift detections this batch caused' }),
});

const Metric = Type.Object({ name: Str, computed: Type.Boolean(), value: Opt(Type.Number()), reason: Opt(Str) });
const PerformanceReply = Type.Object({
  deployment: Str,
  windows: Type.Array(Type.Object({ start: Type.Number(), end: Type.Number(), task: Opt(Str), rows: Type.Integer(), metrics: Type.Array(Metric) })),
});
const PerformanceQuery = Type.Object({
  deployment: Str,
  from: Opt(TimeParam),
  to: Opt(TimeParam),
  windowSeconds: Opt(Type.Integer({ minimum: 1 })),
  task: Opt(Type.Union([Type.Literal('classification'), Type.Literal('regression')])),
  predictionColumn: Opt(Str),
  scoreColumn: Opt(Str),
  positiveLabel: Opt(Str),
  negativeLabel: Opt(Str),
  threshold: Opt(Type.Number({ minimum: 0, maximum: 1 })),
  classes: Opt(Type.String({ description: 'comma-separated class names for probability vectors' })),
});

const AlertSchema = Type.Object({
  id: Str,
  dedupKey: Str,
  monitorId: Opt(Str),
  deployment: Str,
  kind: Str,
  state: Str,
  severity: Str,
  message: Str,
  details: Type.Record(Str, Type.Unknown()),
  checkId: Opt(Str),
  checkUrl: Opt(Str),
  reportUrl: Opt(Str),
  occurrences: Type.Integer(),
  startedAt: Type.Number(),
  updatedAt: Type.Number(),
  resolvedAt: Opt(Type.Number()),
});
const DeliverySchema = Type.Object({
  id: Str,
  alertId: Str,
  event: Str,
  url: Str,
  status: Str,
  attempts: Type.Integer(),
  nextAttemptAt: Opt(Type.Number()),
  responseStatus: Opt(Type.Integer()),
  error: Opt(Str),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});

const IdParams = Type.Object({ id: Str });

/** Metrics as JSON: a value when computed, a reason when not (never NaN). */
function metricJson(m: MetricResult) {
  return m.computed ? { name: m.name, computed: true, value: m.value } : { name: m.name, computed: false, reason: m.reason };
}

export const monitoringRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const monitoring = platform.services.monitoring;
  const tags = ['monitoring'];

  app.post('/api/v1/feedback', {
    config: { permission: 'edit' },
    schema: {
      summary: 'Ground truth for logged predictions, joined by request id; unknown ids and malformed items are reported, not fatal',
      tags,
      body: FeedbackBody,
      response: { 200: FeedbackReply },
    },
  }, async (request) => {
    const body = request.body as { items?: unknown[] } & Record<string, unknown>;
    const items = (Array.isArray(body.items) ? body.items : [body]) as FeedbackItem[];
    return monitoring.submitFeedback(items);
  });

  app.get('/api/v1/predictions', {
    config: { permission: 'read' },
    schema: {
      summary: 'Logged predictions, newest first (live=true: the in-memory ring, including rows not yet written)',
      tags,
      querystring: Type.Object({
        deployment: Opt(Str),
        from: Opt(TimeParam),
        to: Opt(TimeParam),
        limit: Opt(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })),
        live: Opt(Type.Boolean()),
      }),
      response: { 200: Type.Object({ predictions: Type.Array(PredictionSchema) }) },
    },
  }, async (request) => {
    const q = request.query;
    if (q.live) return { predictions: monitoring.log.recent({ deployment: q.deployment, limit: q.limit }) };
    return { predictions: await monitoring.log.list({ deployment: q.deployment, from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to'), limit: q.limit }) };
  });

  app.get('/api/v1/predictions/:requestId', {
    config: { permission: 'read' },
    schema: { summary: 'The logged rows of one request', tags, params: Type.Object({ requestId: Str }), response: { 200: Type.Object({ predictions: Type.Array(PredictionSchema) }) } },
  }, async (request) => ({ predictions: await monitoring.log.get(request.params.requestId) }));

  app.get('/api/v1/monitoring/logging', {
    config: { permission: 'read' },
    schema: {
      summary: 'Prediction-log sampling rates and counters of this replica',
      tags,
      response: {
        200: Type.Object({
          sampleRate: Type.Number(),
          deployments: Type.Record(Str, Type.Number()),
          stats: Type.Object({
            offered: Type.Integer(),
            sampled: Type.Integer(),
            dropped: Type.Integer(),
            written: Type.Integer(),
            queued: Type.Integer(),
            writeErrors: Type.Integer(),
            lastError: Opt(Str),
          }),
        }),
      },
    },
  }, async () => {
    const rates = monitoring.log.sampleRates();
    return { sampleRate: rates.default, deployments: rates.deployments, stats: monitoring.log.stats() };
  });

  app.put('/api/v1/monitoring/logging/:deployment', {
    config: { permission: 'manage' },
    schema: {
      summary: "Sets a deployment's prediction-log sampling rate (0..1) and how many days its logged predictions and feedback are kept (0: forever; 'default': the server's default), shared by every replica",
      tags,
      params: Type.Object({ deployment: Str }),
      body: Type.Object(
        { sampleRate: Opt(Type.Number({ minimum: 0, maximum: 1 })), retentionDays: Opt(Type.Union([Type.Number({ minimum: 0 }), Type.Literal('default')])) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ deployment: Str, sampleRate: Opt(Type.Number()), retentionDays: Opt(Type.Union([Type.Number(), Type.Literal('default')])) }) },
    },
  }, async (request) => {
    const { sampleRate, retentionDays } = request.body;
    if (sampleRate === undefined && retentionDays === undefined) throw invalidArgument('give sampleRate, retentionDays or both');
    if (sampleRate !== undefined) await monitoring.log.setSampleRate(request.params.deployment, sampleRate);
    if (retentionDays !== undefined) await monitoring.log.setRetention(request.params.deployment, retentionDays === 'default' ? null : Math.round(retentionDays * DAY_MS));
    return { deployment: request.params.deployment, sampleRate, retentionDays };
  });

  app.get('/api/v1/monitoring/retention', {
    config: { permission: 'read' },
    schema: {
      summary: "How many days logged predictions and feedback are kept: the server's default and each deployment's own (0: forever)",
      tags,
      response: { 200: Type.Object({ defaultDays: Type.Number(), deployments: Type.Record(Str, Type.Number()) }) },
    },
  }, async () => {
    const r = await monitoring.log.retentions();
    return { defaultDays: r.default / DAY_MS, deployments: Object.fromEntries(Object.entries(r.deployments).map(([d, ms]) => [d, ms / DAY_MS])) };
  });

  const SubjectBody = Type.Object({ subjectKey: Type.String({ minLength: 1, description: 'the key requests were routed by (user id), or a value a PII column hashes' }) }, { additionalProperties: false });

  // POST, not GET: reading a person's data is itself recorded in the audit log.
  app.post('/api/v1/privacy/export', {
    config: { permission: 'admin' },
    schema: {
      summary: "Everything the prediction log and feedback hold about one person (data-subject access); audited",
      tags,
      body: SubjectBody,
      response: {
        200: Type.Object({
          subjectKey: Str,
          predictions: Type.Array(PredictionSchema),
          feedback: Type.Array(Type.Object({ requestId: Str, row: Type.Integer(), deployment: Str, label: Type.Union([Str, Type.Null()]), value: Type.Union([Type.Number(), Type.Null()]), receivedMs: Type.Number() })),
        }),
      },
    },
  }, async (request) => monitoring.exportSubject(request.body.subjectKey));

  app.post('/api/v1/privacy/erase', {
    config: { permission: 'admin' },
    schema: {
      summary: "Deletes everything the prediction log and feedback hold about one person (data-subject erasure); audited",
      tags,
      body: SubjectBody,
      response: { 200: Type.Object({ subjectKey: Str, requests: Type.Integer(), rows: Type.Integer(), feedback: Type.Integer() }) },
    },
  }, async (request) => monitoring.eraseSubject(request.body.subjectKey));

  app.get('/api/v1/performance', {
    config: { permission: 'read' },
    schema: {
      summary: "A deployment's model quality over time windows, from labelled predictions (by prediction time)",
      tags,
      querystring: PerformanceQuery,
      response: { 200: PerformanceReply },
    },
  }, async (request) => {
    const q = request.query;
    const windows = await monitoring.performance({
      deployment: q.deployment,
      from: parseTime(q.from, 'from'),
      to: parseTime(q.to, 'to'),
      windowMs: q.windowSeconds === undefined ? undefined : q.windowSeconds * 1000,
      task: q.task,
      predictionColumn: q.predictionColumn,
      scoreColumn: q.scoreColumn,
      positiveLabel: q.positiveLabel,
      negativeLabel: q.negativeLabel,
      threshold: q.threshold,
      classes: q.classes?.split(',').map((c) => c.trim()),
    });
    return { deployment: q.deployment, windows: windows.map((w) => ({ ...w, metrics: w.metrics.map(metricJson) })) };
  });

  app.get('/api/v1/monitors', {
    config: { permission: 'read' },
    schema: {
      summary: 'Monitors, optionally of one deployment or kind',
      tags,
      querystring: Type.Object({ deployment: Opt(Str), kind: Opt(MonitorKindSchema) }),
      response: { 200: Type.Object({ monitors: Type.Array(MonitorSchema) }) },
    },
  }, async (request) => ({ monitors: await monitoring.monitors.list(request.query) }));

  app.post('/api/v1/monitors', {
    config: { permission: 'manage' },
    schema: { summary: 'Creates a drift, performance or concept-drift monitor for a deployment', tags, body: MonitorInputSchema, response: { 201: MonitorSchema } },
  }, async (request, reply) => reply.status(201).send(await monitoring.monitors.create(request.body)));

  app.get('/api/v1/monitors/:id', {
    config: { permission: 'read' },
    schema: { summary: 'A monitor by id or name', tags, params: IdParams, response: { 200: MonitorSchema } },
  }, async (request) => monitoring.monitors.get(request.params.id));

  app.patch('/api/v1/monitors/:id', {
    config: { permission: 'manage' },
    schema: { summary: "Changes a monitor's schedule, drift reference and thresholds, bounds, detector, webhooks or enabled flag", tags, params: IdParams, body: MonitorPatchSchema, response: { 200: MonitorSchema } },
  }, async (request) => monitoring.monitors.update(request.params.id, request.body));

  app.delete('/api/v1/monitors/:id', {
    config: { permission: 'manage' },
    schema: { summary: 'Deletes a monitor and its checks (its firing alert is resolved)', tags, params: IdParams, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await monitoring.monitors.delete(request.params.id);
    return reply.status(204).send(null);
  });

  app.post('/api/v1/monitors/:id/run', {
    config: { permission: 'edit' },
    schema: { summary: 'Runs a check now, outside its schedule', tags, params: IdParams, response: { 200: CheckSchema } },
  }, async (request) => monitoring.monitors.run(request.params.id));

  app.get('/api/v1/monitors/:id/checks', {
    config: { permission: 'read' },
    schema: {
      summary: "A monitor's checks, newest first",
      tags,
      params: IdParams,
      querystring: Type.Object({ limit: Opt(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })) }),
      response: { 200: Type.Object({ checks: Type.Array(CheckSchema) }) },
    },
  }, async (request) => ({ checks: await monitoring.monitors.checks(request.params.id, request.query.limit) }));

  app.get('/api/v1/monitoring/checks/:id', {
    config: { permission: 'read' },
    schema: { summary: 'One check', tags, params: IdParams, response: { 200: CheckSchema } },
  }, async (request) => monitoring.monitors.getCheck(request.params.id));

  app.get('/api/v1/monitoring/checks/:id/report', {
    config: { permission: 'read' },
    schema: { summary: "A drift check's self-contained HTML report", tags, params: IdParams, produces: ['text/html'] },
  }, async (request, reply) => reply.type('text/html; charset=utf-8').send(await monitoring.monitors.report(request.params.id)));

  app.get('/api/v1/alerts', {
    config: { permission: 'read' },
    schema: {
      summary: 'Alerts, newest first',
      tags,
      querystring: Type.Object({
        state: Opt(Type.Union([Type.Literal('firing'), Type.Literal('resolved')])),
        deployment: Opt(Str),
        monitor: Opt(Type.String({ description: 'monitor id' })),
        kind: Opt(Type.Union([Type.Literal('drift'), Type.Literal('performance'), Type.Literal('concept_drift'), Type.Literal('rollout')])),
        limit: Opt(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      }),
      response: { 200: Type.Object({ alerts: Type.Array(AlertSchema) }) },
    },
  }, async (request) => {
    const q = request.query;
    return { alerts: await monitoring.alerts.list({ state: q.state, deployment: q.deployment, monitorId: q.monitor, kind: q.kind, limit: q.limit }) };
  });

  app.get('/api/v1/alerts/:id', {
    config: { permission: 'read' },
    schema: { summary: 'One alert', tags, params: IdParams, response: { 200: AlertSchema } },
  }, async (request) => monitoring.alerts.get(request.params.id));

  app.post('/api/v1/alerts/:id/resolve', {
    config: { permission: 'edit' },
    schema: { summary: 'Resolves a firing alert by hand (notifies its webhooks)', tags, params: IdParams, response: { 200: AlertSchema } },
  }, async (request) => monitoring.resolveAlert(request.params.id));

  app.get('/api/v1/alerts/:id/deliveries', {
    config: { permission: 'read' },
    schema: { summary: "An alert's webhook deliveries", tags, params: IdParams, response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }) } },
  }, async (request) => {
    await monitoring.alerts.get(request.params.id);
    return { deliveries: await monitoring.webhooks.list(request.params.id) };
  });
};
