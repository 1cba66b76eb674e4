/**
 * Rollouts API: start a canary rollout of a deployment, read its state and last gate
 * evaluation, pause, resume, abort or promote it (the controller judges running rollouts once
 * a second while the server listens), list its earlier rollouts; and the A/B analysis of a deployment's variants.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import type { Rollout } from '../serving/rollouts/types.js';
import type { AbAnalysis, AbGroup } from '../serving/ab.js';
import { actorOf } from './registry-actor.js';
import { AbView, RolloutView, type AbJson, type RolloutJson } from './rollout-views.js';

const StartBody = Type.Object({
  model: Type.Optional(Type.String({ minLength: 1, description: "registered model of the canary (default: the primary's)" })),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  alias: Type.Optional(Type.String({ minLength: 1 })),
  steps: Type.Optional(Type.Array(Type.Integer(), { minItems: 1, maxItems: 20, description: 'canary weights per step, increasing, to 100 (default 10,25,50,100)' })),
  min_step_seconds: Type.Optional(Type.Number({ minimum: 0, description: 'each step lasts at least this long (default 300)' })),
  min_requests: Type.Optional(Type.Integer({ minimum: 1, description: 'canary requests per step at least (default 100)' })),
  gates: Type.Optional(
    Type.Object({
      max_error_rate_increase: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      max_p99_ratio: Type.Optional(Type.Number({ minimum: 1 })),
      p99_slack_ms: Type.Optional(Type.Number({ minimum: 0 })),
      metric: Type.Optional(Type.String({ description: 'accuracy, roc_auc, f1, mae, ... compared once both variants have min_feedback labels' })),
      max_metric_drop: Type.Optional(Type.Number({ minimum: 0 })),
      min_feedback: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
  move_alias: Type.Optional(Type.String({ minLength: 1, description: "on promotion, point this alias at the canary's version" })),
});

type SideIn = NonNullable<Rollout['last']>['canary'];
const side = (s: SideIn) => ({ requests: s.requests, errors: s.errors, error_rate: s.errorRate, p99_ms: s.p99Ms, metric: s.metric, feedback: s.feedback });

function view(r: Rollout): RolloutJson {
  const g = r.gates;
  return {
    id: r.id,
    deployment: r.deployment,
    state: r.state,
    canary: { model: r.model, version: r.version, alias: r.alias },
    primary: r.primary,
    steps: r.steps,
    step: r.step,
    weight: r.steps[r.step],
    step_started_ms: r.stepStartedMs,
    min_step_seconds: r.minStepMs / 1000,
    min_requests: r.minRequests,
    gates: { max_error_rate_increase: g.maxErrorRateIncrease, max_p99_ratio: g.maxP99Ratio, p99_slack_ms: g.p99SlackMs, metric: g.metric, max_metric_drop: g.maxMetricDrop, min_feedback: g.minFeedback },
    move_alias: r.moveAlias,
    reason: r.reason,
    last: r.last && { at_ms: r.last.atMs, step: r.last.step, canary: side(r.last.canary), primary: side(r.last.primary), gates: r.last.gates, waiting: r.last.waiting },
    events: r.events.map((e) => ({ at_ms: e.atMs, what: e.what })),
    created_ms: r.createdMs,
    updated_ms: r.updatedMs,
  };
}

function groupView(g: AbGroup) {
  return {
    arms: g.arms,
    comparisons: g.comparisons.map((c) => ({
      variant: c.variant,
      control: c.control,
      test: c.fixed.test,
      diff: c.fixed.diff,
      relative: c.fixed.relative,
      statistic: c.fixed.statistic,
      df: c.fixed.df,
      p_value: c.fixed.pValue,
      ci: c.fixed.ci,
      sequential_p_value: c.sequentialPValue,
      significant: c.significant,
    })),
  };
}

function abView(a: AbAnalysis): AbJson {
  return {
    deployment: a.deployment,
    kind: a.kind,
    alpha: a.alpha,
    from_ms: a.from,
    to_ms: a.to,
    sample_size: a.sampleSize && { mde: a.sampleSize.mde, per_arm: a.sampleSize.perArm },
    ...groupView(a),
    segments: a.segments?.map((s) => ({ segment: s.segment, ...groupView(s) })),
  };
}

const TAGS = ['rollouts'];
const NamePath = Type.Object({ name: Type.String() });
const ACTIONS = ['pause', 'resume', 'abort', 'promote'] as const;

export const rolloutRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const rollouts = platform.services.rollouts;
  app.addHook('onListen', async () => rollouts.start());

  app.post('/api/v1/deployments/:name/rollout', {
    config: { permission: 'manage' },
    schema: { summary: 'Start a canary rollout: the canary takes the first step at once', tags: TAGS, params: NamePath, body: StartBody, response: { 201: RolloutView } },
  }, async (request, reply) => {
    const b = request.body;
    const g = b.gates;
    const gates = g && Object.fromEntries(
      Object.entries({ maxErrorRateIncrease: g.max_error_rate_increase, maxP99Ratio: g.max_p99_ratio, p99SlackMs: g.p99_slack_ms, metric: g.metric, maxMetricDrop: g.max_metric_drop, minFeedback: g.min_feedback }).filter(([, v]) => v !== undefined),
    );
    const r = await rollouts.begin(request.params.name, {
      model: b.model,
      version: b.version,
      alias: b.alias,
      steps: b.steps,
      minStepSeconds: b.min_step_seconds,
      minRequests: b.min_requests,
      gates,
      moveAlias: b.move_alias,
      actor: actorOf(request).user,
    });
    return reply.status(201).send(view(r));
  });

  app.get('/api/v1/deployments/:name/rollout', {
    config: { permission: 'read' },
    schema: {
      summary: 'The current (or last) rollout of a deployment, with its last gate evaluation; null when it never had one',
      tags: TAGS,
      params: NamePath,
      response: { 200: Type.Object({ rollout: Type.Union([RolloutView, Type.Null()]) }) },
    },
  }, async (request) => {
    const r = await rollouts.latest(request.params.name);
    return { rollout: r ? view(r) : null };
  });

  app.get('/api/v1/deployments/:name/rollouts', {
    config: { permission: 'read' },
    schema: {
      summary: "A deployment's rollouts, newest first: the running one and every promoted, rolled-back or aborted one before it",
      tags: TAGS,
      params: NamePath,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'newest rollouts to list (default 20)' })) }),
      response: { 200: Type.Object({ rollouts: Type.Array(RolloutView) }) },
    },
  }, async (request) => ({ rollouts: (await rollouts.list(request.params.name, request.query.limit)).map(view) }));

  app.get('/api/v1/deployments/:name/ab', {
    config: { permission: 'read' },
    schema: {
      summary: "A/B analysis of the deployment's variants from feedback outcomes",
      tags: TAGS,
      params: NamePath,
      querystring: Type.Object({
        control: Type.Optional(Type.String({ description: 'variant the others are compared with (default: the first)' })),
        segment: Type.Optional(Type.String({ description: 'logged input field to split the analysis by' })),
        alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 0.5 })),
        mde: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'relative lift the sample size is computed for (default 0.1)' })),
        from: Type.Optional(Type.Number({ description: 'epoch ms (default: 30 days before to)' })),
        to: Type.Optional(Type.Number({ description: 'epoch ms (default: now)' })),
      }),
      response: { 200: AbView },
    },
  }, async (request) => abView(await platform.services.ab.analyze(request.params.name, request.query)));

  app.get('/api/v1/deployments/:name/shadow', {
    config: { permission: 'read' },
    schema: {
      summary: "How each shadow variant's answers compare with the answering variant's (on the answering replica)",
      tags: TAGS,
      params: NamePath,
      response: {
        200: Type.Object({
          shadows: Type.Array(
            Type.Object({
              variant: Type.String(),
              requests: Type.Integer(),
              failures: Type.Integer(),
              rows: Type.Integer(),
              agreement: Type.Optional(Type.Number()),
              mean_abs_diff: Type.Optional(Type.Number()),
              confusion: Type.Record(Type.String(), Type.Integer(), { description: '"answered class → shadow class": rows' }),
            }),
          ),
        }),
      },
    },
  }, async (request) => {
    await platform.services.serving.get(request.params.name);
    const shadows = platform.services.serving.shadowComparisons(request.params.name);
    return { shadows: shadows.map((v) => ({ variant: v.variant, requests: v.requests, failures: v.failures, rows: v.rows, agreement: v.agreement, mean_abs_diff: v.meanAbsDiff, confusion: v.confusion })) };
  });

  for (const action of ACTIONS) {
    app.post(`/api/v1/deployments/:name/rollout/${action}`, {
      config: { permission: 'manage' },
      schema: { summary: `${action[0].toUpperCase()}${action.slice(1)} the running rollout`, tags: TAGS, params: NamePath, response: { 200: RolloutView } },
    }, async (request) => view(await rollouts[action](request.params.name, actorOf(request).user)));
  }
};
