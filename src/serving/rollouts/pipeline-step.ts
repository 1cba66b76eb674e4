/**
 * The pipelines' built-in `rollout` step: starts a canary rollout of the version an upstream
 * `model.register` step made (or `with.version`). The step ends once the canary takes its first
 * share; the rollout service judges the steps that follow on live metrics.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import type { BuiltinStep, StepContext } from '../../pipelines/context.js';
import { num, str, versionFrom } from '../../pipelines/builtins.js';
import type { RolloutService } from './service.js';
import type { Gates } from './types.js';

const GATE_FIELDS: Record<string, keyof Gates> = {
  maxErrorRateIncrease: 'maxErrorRateIncrease',
  maxP99Ratio: 'maxP99Ratio',
  p99SlackMs: 'p99SlackMs',
  metric: 'metric',
  maxMetricDrop: 'maxMetricDrop',
  minFeedback: 'minFeedback',
};

function gatesOf(ctx: StepContext): Partial<Gates> | undefined {
  const given = ctx.with.gates;
  if (given === undefined) return undefined;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidArgument(`step ${ctx.step}: with.gates must be an object`);
  const gates: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const field = GATE_FIELDS[key];
    if (!field) throw invalidArgument(`step ${ctx.step}: with.gates.${key} is not a gate (${Object.keys(GATE_FIELDS).join(', ')})`);
    gates[field] = field === 'metric' ? String(value) : Number(value);
  }
  return gates as Partial<Gates>;
}

function stepsOf(ctx: StepContext): number[] | undefined {
  const v = ctx.with.steps;
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? v.split(',').map(Number) : Array.isArray(v) ? v.map(Number) : undefined;
  if (!list) throw invalidArgument(`step ${ctx.step}: with.steps must be a list of canary weights, e.g. [10, 50, 100]`);
  return list;
}

export function rolloutStep(rollouts: RolloutService): BuiltinStep {
  return {
    description: 'starts a canary rollout of the registered version (with: deployment, model, version, steps, minStepSeconds, minRequests, gates, moveAlias)',
    outputs: () => ['rollout.json'],
    async run(ctx) {
      const deployment = str(ctx, 'deployment');
      const version = Number(await versionFrom(ctx, 'version'));
      const r = await rollouts.begin(deployment, {
        model: ctx.with.model === undefined ? undefined : str(ctx, 'model'),
        version,
        steps: stepsOf(ctx),
        minStepSeconds: ctx.with.minStepSeconds === undefined ? undefined : num(ctx, 'minStepSeconds', 0),
        minRequests: ctx.with.minRequests === undefined ? undefined : num(ctx, 'minRequests', 0),
        gates: gatesOf(ctx),
        moveAlias: ctx.with.moveAlias === undefined ? undefined : str(ctx, 'moveAlias'),
        actor: `pipeline ${ctx.pipeline} (run ${ctx.runId})`,
      });
      await writeFile(join(ctx.outputDir, 'rollout.json'), JSON.stringify({ id: r.id, deployment, model: r.model, version, steps: r.steps }));
      ctx.log(`rollout ${r.id}: ${r.model} version ${version} is the canary of ${deployment} at ${r.steps[0]}% (steps ${r.steps.join(' → ')}%)`);
    },
  };
}
