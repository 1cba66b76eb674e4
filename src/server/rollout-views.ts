/**
 * The JSON the rollouts API answers with: a rollout with its last gate evaluation, and an A/B
 * analysis. Only TypeBox here, so the web UI (ui/src/api/serving.ts) types its reads with these.
 */
import { Type, type Static } from '@sinclair/typebox';

const Side = Type.Object({
  requests: Type.Integer(),
  errors: Type.Integer(),
  error_rate: Type.Number(),
  p99_ms: Type.Optional(Type.Number()),
  metric: Type.Optional(Type.Number()),
  feedback: Type.Optional(Type.Integer()),
});
export const RolloutView = Type.Object({
  id: Type.String(),
  deployment: Type.String(),
  state: Type.String({ description: 'running | paused | promoted | rolled_back | aborted' }),
  canary: Type.Object({ model: Type.String(), version: Type.Optional(Type.Integer()), alias: Type.Optional(Type.String()) }),
  primary: Type.Object({ name: Type.String(), model: Type.String(), version: Type.Optional(Type.Integer()), alias: Type.Optional(Type.String()) }),
  steps: Type.Array(Type.Integer()),
  step: Type.Integer(),
  weight: Type.Integer({ description: "the canary's share now" }),
  step_started_ms: Type.Number(),
  min_step_seconds: Type.Number(),
  min_requests: Type.Integer(),
  gates: Type.Object({
    max_error_rate_increase: Type.Number(),
    max_p99_ratio: Type.Number(),
    p99_slack_ms: Type.Number(),
    metric: Type.Optional(Type.String()),
    max_metric_drop: Type.Number(),
    min_feedback: Type.Integer(),
  }),
  move_alias: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  last: Type.Optional(
    Type.Object({
      at_ms: Type.Number(),
      step: Type.Integer(),
      canary: Side,
      primary: Side,
      gates: Type.Array(Type.Object({ gate: Type.String(), passed: Type.Boolean(), detail: Type.String() })),
      waiting: Type.Optional(Type.String()),
    }),
  ),
  events: Type.Array(Type.Object({ at_ms: Type.Number(), what: Type.String() })),
  created_ms: Type.Number(),
  updated_ms: Type.Number(),
});
export type RolloutJson = Static<typeof RolloutView>;

const Interval = Type.Tuple([Type.Number(), Type.Number()]);
const Group = {
  arms: Type.Array(Type.Object({ variant: Type.String(), n: Type.Integer(), mean: Type.Number({ description: 'conversion rate or mean reward' }), variance: Type.Number() })),
  comparisons: Type.Array(
    Type.Object({
      variant: Type.String(),
      control: Type.String(),
      test: Type.String({ description: 'two_proportion_z | welch_t' }),
      diff: Type.Number({ description: 'variant − control' }),
      relative: Type.Optional(Type.Number()),
      statistic: Type.Number(),
      df: Type.Optional(Type.Number()),
      p_value: Type.Number({ description: 'fixed-horizon: valid when read once, at the planned sample size' }),
      ci: Interval,
      sequential_p_value: Type.Number({ description: 'always valid: may be read at any time' }),
      significant: Type.Boolean({ description: 'sequential p-value below alpha' }),
    }),
  ),
};
export const AbView = Type.Object({
  deployment: Type.String(),
  kind: Type.String({ description: 'conversion (0/1 labels) | reward (values) | none (no outcomes yet: no arms, no comparisons)' }),
  alpha: Type.Number(),
  from_ms: Type.Number(),
  to_ms: Type.Number(),
  sample_size: Type.Optional(Type.Object({ mde: Type.Number(), per_arm: Type.Integer() })),
  ...Group,
  segments: Type.Optional(Type.Array(Type.Object({ segment: Type.String(), ...Group }))),
});
export type AbJson = Static<typeof AbView>;
