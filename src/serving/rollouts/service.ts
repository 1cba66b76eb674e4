/**
 * Canary rollouts. A rollout adds a `canary` variant next to the deployment's primary and moves
 * traffic to it step by step (10, 25, 50, 100 by default). Each step lasts at least a minimum
 * time and a minimum number of canary requests, and its gates compare canary with primary over
 * the step: error rate, p99 latency and, once enough feedback has arrived, a model metric.
 * All gates pass: next step; the last step promotes the canary to primary. A gate fails: the
 * canary is removed, the reason is kept on the rollout, and an alert (with its webhooks) goes
 * out.
 *
 * The state lives in the store, so a controller on any replica, or after a restart, continues
 * where the rollout was. Time comes from the clock, so tests drive steps with a ManualClock and
 * `tick()`. One replica judges at a time (the `leader` port, a lease in the store); request
 * counts, errors and latencies are summed over every replica's heartbeat
 * (ServingService.clusterWindows), and a step's counts begin again when the controller restarts.
 */
import type { Clock } from '../../core/clock.js';
import type { Singleton } from '../../core/singleton.js';
import { failedPrecondition, invalidArgument, notFound } from '../../core/errors.js';
import { timeOrderedId } from '../../core/ids.js';
import type { MetadataStore } from '../../storage/metadata.js';
import type { ServingService, VariantInput } from '../service.js';
import type { Deployment } from '../types.js';
import type { VariantWindowView } from '../variant-stats.js';
import type { OutcomeSource, RolloutNotifier } from './ports.js';
import { isActive, RolloutStore } from './store.js';
import { CANARY, DEFAULT_GATES, DEFAULT_STEPS, type Evaluation, type Gates, type GateResult, type Rollout } from './types.js';

export interface StartRolloutInput {
  /** Registered model of the canary (default: the primary's). */
  model?: string;
  version?: number;
  alias?: string;
  steps?: number[];
  minStepSeconds?: number;
  minRequests?: number;
  gates?: Partial<Gates>;
  moveAlias?: string;
  actor?: string;
}

export interface RolloutPorts {
  outcomes?: OutcomeSource;
  notifier?: RolloutNotifier;
  /** Points a registry alias at a version (for `moveAlias` on promotion). */
  setAlias?(model: string, alias: string, version: number): Promise<void>;
  /** Whether this replica is the one that judges rollouts now (default: always). */
  leader?: Singleton;
}

/** Metrics where smaller is better: a drop of quality is a rise of these. */
const LOWER_IS_BETTER = new Set(['mae', 'rmse', 'mape', 'log_loss', 'ece']);

export function checkSteps(steps: readonly number[]): number[] {
  if (steps.length === 0) throw invalidArgument('steps: give at least one canary weight');
  steps.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1 || w > 100) throw invalidArgument(`steps[${i}]: ${w} must be a whole percentage in 1..100`);
    if (i > 0 && w <= steps[i - 1]) throw invalidArgument(`steps: ${steps.join(',')} must increase (step ${i + 1} is ${w} after ${steps[i - 1]})`);
  });
  return steps[steps.length - 1] === 100 ? [...steps] : [...steps, 100];
}

function checkGates(g: Gates): Gates {
  const within = (v: number, field: string, min: number, max: number) => {
    if (!(Number.isFinite(v) && v >= min && v <= max)) throw invalidArgument(`gates.${field}: ${v} must be in ${min}..${max}`);
  };
  within(g.maxErrorRateIncrease, 'max_error_rate_increase', 0, 1);
  within(g.maxP99Ratio, 'max_p99_ratio', 1, 1000);
  within(g.p99SlackMs, 'p99_slack_ms', 0, 3_600_000);
  within(g.maxMetricDrop, 'max_metric_drop', 0, 1e9);
  within(g.minFeedback, 'min_feedback', 1, 1e9);
  if (g.metric !== undefined && !/^[a-z0-9_]{1,32}$/.test(g.metric)) throw invalidArgument(`gates.metric: "${g.metric}" is not a metric name (accuracy, roc_auc, f1, mae, ...)`);
  return g;
}

export class RolloutService {
  private readonly store: RolloutStore;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    metadata: MetadataStore,
    private readonly serving: ServingService,
    private readonly clock: Clock,
    private readonly ports: RolloutPorts = {},
  ) {
    this.store = new RolloutStore(metadata);
  }

  /** Judges the running rollouts every `periodMs` of real time (a server calls this once listening). */
  start(periodMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ticking ??= this.tick()
        .catch(() => undefined)
        .finally(() => (this.ticking = undefined));
    }, periodMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Starts a canary rollout of `deployment`: the canary takes the first step's share at once. */
  async begin(deployment: string, input: StartRolloutInput): Promise<Rollout> {
    const d = await this.serving.get(deployment);
    const steps = checkSteps(input.steps ?? DEFAULT_STEPS);
    const gates = checkGates({ ...DEFAULT_GATES, ...input.gates });
    const minStepSeconds = input.minStepSeconds ?? 300;
    const minRequests = input.minRequests ?? 100;
    if (!(Number.isFinite(minStepSeconds) && minStepSeconds >= 0)) throw invalidArgument(`min_step_seconds: ${minStepSeconds} must be >= 0`);
    if (!(Number.isInteger(minRequests) && minRequests >= 1)) throw invalidArgument(`min_requests: ${minRequests} must be a whole number >= 1`);
    if ((input.version === undefined) === (input.alias === undefined)) throw invalidArgument('version, alias: give the canary version or the alias to follow (one of them)');
    const existing = await this.store.latest(deployment);
    if (existing && isActive(existing.state)) throw failedPrecondition(`deployment "${deployment}" already has a rollout ${existing.state} (${existing.id}); abort or promote it first`);
    const live = d.variants.filter((v) => !v.shadow);
    if (live.length !== 1) throw failedPrecondition(`deployment "${deployment}" has ${live.length} variants taking traffic; a rollout starts from one (roll back or PATCH variants first)`);
    const primary = live[0];
    if (primary.name === CANARY) throw failedPrecondition(`deployment "${deployment}": its variant is named "${CANARY}"; rename it first`);
    const model = input.model ?? primary.model;
    const now = this.clock.now();
    const rollout: Rollout = {
      id: timeOrderedId(),
      deployment,
      model,
      version: input.version,
      alias: input.alias,
      steps,
      minStepMs: minStepSeconds * 1000,
      minRequests,
      gates,
      moveAlias: input.moveAlias,
      state: 'running',
      step: 0,
      stepStartedMs: now,
      primary: { name: primary.name, model: primary.model, version: primary.version, alias: primary.alias },
      events: [{ atMs: now, what: `started by ${input.actor ?? 'anonymous'}: canary ${this.canaryRef({ model, version: input.version, alias: input.alias })} at ${steps[0]}%` }],
      createdMs: now,
      updatedMs: now,
      seq: 0,
    };
    const others = this.shadows(d);
    const moved = await this.serving.setVariants(deployment, [...this.split(rollout, steps[0]), ...others], d.revision, {
      actor: input.actor ?? 'anonymous',
      reason: `rollout ${rollout.id}: canary at ${steps[0]}%`,
    });
    const canary = moved.status.variants.find((v) => v.name === CANARY);
    if (canary?.state === 'failed') {
      await this.serving.setVariants(deployment, [this.primaryOnly(rollout), ...others], moved.revision, { actor: 'rollout', reason: `rollout ${rollout.id}: canary failed to load` });
      throw failedPrecondition(`version: the canary ${this.canaryRef(rollout)} failed to load: ${canary.message ?? 'unknown reason'}`);
    }
    await this.store.create(rollout);
    this.serving.resetWindows(deployment);
    return rollout;
  }

  private canaryRef(r: { model: string; version?: number; alias?: string }): string {
    return r.alias !== undefined ? `${r.model}@${r.alias}` : `${r.model} version ${r.version}`;
  }

  private split(r: Rollout, weight: number): VariantInput[] {
    const p = r.primary;
    const canary: VariantInput = { name: CANARY, model: r.model, version: r.version, alias: r.alias, weight };
    return weight >= 100 ? [canary] : [{ name: p.name, model: p.model, version: p.version, alias: p.alias, weight: 100 - weight }, canary];
  }

  private primaryOnly(r: Rollout): VariantInput {
    const p = r.primary;
    return { name: p.name, model: p.model, version: p.version, alias: p.alias, weight: 100 };
  }

  /** The current (or last) rollout of a deployment, undefined when it never had one. */
  async latest(deployment: string): Promise<Rollout | undefined> {
    const r = await this.store.latest(deployment);
    if (!r) await this.serving.get(deployment);
    return r;
  }

  async status(deployment: string): Promise<Rollout> {
    const r = await this.latest(deployment);
    if (!r) throw notFound(`deployment "${deployment}" has no rollout`);
    return r;
  }

  /** Every rollout of a deployment, newest first (an unknown deployment is NotFound, one without rollouts an empty list). */
  async list(deployment: string, limit = 20): Promise<Rollout[]> {
    await this.serving.get(deployment);
    return this.store.list(deployment, limit);
  }

  private async active(deployment: string): Promise<Rollout> {
    const r = await this.status(deployment);
    if (!isActive(r.state)) throw failedPrecondition(`the last rollout of deployment "${deployment}" has ended (${r.state}${r.reason ? `: ${r.reason}` : ''})`);
    return r;
  }

  async pause(deployment: string, actor = 'anonymous'): Promise<Rollout> {
    const r = await this.active(deployment);
    if (r.state === 'paused') return r;
    return this.saveOrConflict({ ...r, state: 'paused' }, `paused by ${actor} at ${r.steps[r.step]}%`);
  }

  /** Resumes a paused rollout; the step's time and counts begin again. */
  async resume(deployment: string, actor = 'anonymous'): Promise<Rollout> {
    const r = await this.active(deployment);
    if (r.state === 'running') return r;
    this.serving.resetWindows(deployment);
    return this.saveOrConflict({ ...r, state: 'running', stepStartedMs: this.clock.now() }, `resumed by ${actor} at ${r.steps[r.step]}%`);
  }

  async abort(deployment: string, actor = 'anonymous'): Promise<Rollout> {
    const r = await this.active(deployment);
    return this.end(r, 'aborted', `aborted by ${actor}`);
  }

  /** Promotes the canary now, skipping the remaining steps and gates. */
  async promote(deployment: string, actor = 'anonymous'): Promise<Rollout> {
    const r = await this.active(deployment);
    return this.finish(r, `promoted by ${actor} at ${r.steps[r.step]}%`);
  }

  private async saveOrConflict(r: Rollout, what: string): Promise<Rollout> {
    const now = this.clock.now();
    const next = { ...r, updatedMs: now, events: [...r.events, { atMs: now, what }] };
    if (!(await this.store.save(next))) throw failedPrecondition(`rollout ${r.id} changed meanwhile; read its status again`);
    return next;
  }

  /** One round of judging every running rollout, when this replica leads. */
  async tick(): Promise<void> {
    if (this.ports.leader && !(await this.ports.leader.lead())) return;
    for (const r of await this.store.active()) {
      if (r.state !== 'running') continue;
      try {
        await this.judge(r);
      } catch {
        // A rollout whose judging fails (store busy, a change made meanwhile) is judged again next round.
      }
    }
  }

  private async judge(r: Rollout): Promise<void> {
    const d = await this.serving.get(r.deployment).catch(() => undefined);
    if (!d) {
      await this.saveEnded(r, 'aborted', 'the deployment was deleted');
      return;
    }
    const weight = r.steps[r.step];
    const canary = d.variants.find((v) => v.name === CANARY);
    // A step is two writes, the deployment's weights then the rollout: a process stopped between
    // them left the weights moved on and the rollout behind, which is finished here.
    if (canary && canary.weight === r.steps[r.step + 1]) {
      await this.saveStep(r, r.last, weight, canary.weight);
      return;
    }
    if (!canary && this.promotedIn(d, r)) {
      await this.finish(r, `every gate passed at ${weight}%: promoted`, d);
      return;
    }
    if (!canary || canary.weight !== weight) {
      await this.saveEnded(r, 'aborted', `the deployment was changed outside the rollout (revision ${d.revision})`);
      return;
    }
    const evaluation = await this.evaluate(r);
    const failed = evaluation.gates.filter((g) => !g.passed);
    if (failed.length > 0) {
      await this.end({ ...r, last: evaluation }, 'rolled_back', `gate failed at ${weight}%: ${failed.map((g) => g.detail).join('; ')}`);
      return;
    }
    if (evaluation.waiting !== undefined) {
      await this.store.save({ ...r, last: evaluation });
      return;
    }
    const next = r.step + 1;
    if (r.steps[next] === 100 || next >= r.steps.length) {
      await this.finish({ ...r, last: evaluation }, `every gate passed at ${weight}%: promoted`);
      return;
    }
    await this.serving.setVariants(r.deployment, [...this.split(r, r.steps[next]), ...this.shadows(d)], d.revision, {
      actor: 'rollout',
      reason: `rollout ${r.id}: gates passed at ${weight}%, canary to ${r.steps[next]}%`,
    });
    await this.saveStep(r, evaluation, weight, r.steps[next]);
  }

  /** The rollout at its next step, whose weights the deployment has. */
  private async saveStep(r: Rollout, evaluation: Evaluation | undefined, weight: number, nextWeight: number): Promise<void> {
    this.serving.resetWindows(r.deployment);
    const now = this.clock.now();
    await this.store.save({
      ...r,
      step: r.step + 1,
      stepStartedMs: now,
      ...(evaluation ? { last: evaluation } : {}),
      updatedMs: now,
      events: [...r.events, { atMs: now, what: `gates passed at ${weight}%; canary to ${nextWeight}%` }],
    });
  }

  /** Whether the deployment serves the rollout's canary as its primary alone (shadows aside): finish's first write. */
  private promotedIn(d: Deployment, r: Rollout): boolean {
    const serving = d.variants.filter((v) => !v.shadow);
    const only = serving[0];
    return serving.length === 1 && only.name === r.primary.name && only.weight === 100 && only.model === r.model && only.version === r.version && only.alias === r.alias;
  }

  private shadows(d: Deployment): VariantInput[] {
    return d.variants.filter((v) => v.shadow).map((v) => ({ name: v.name, model: v.model, version: v.version, alias: v.alias, weight: 0, shadow: true, mirror: v.mirror }));
  }

  /** The gates of the current step, from every replica's windows and the feedback since the step began. */
  private async evaluate(r: Rollout): Promise<Evaluation> {
    const now = this.clock.now();
    const windows = await this.serving.clusterWindows(r.deployment);
    const none: VariantWindowView = { variant: '', requests: 0, errors: 0, errorRate: 0 };
    const c = windows.find((w) => w.variant === CANARY) ?? none;
    const p = windows.find((w) => w.variant === r.primary.name) ?? none;
    const evaluation: Evaluation = {
      atMs: now,
      step: r.step,
      canary: { requests: c.requests, errors: c.errors, errorRate: c.errorRate, p99Ms: c.p99Ms },
      primary: { requests: p.requests, errors: p.errors, errorRate: p.errorRate, p99Ms: p.p99Ms },
      gates: [],
    };
    const g = r.gates;
    // An open breaker sends the canary's users to the primary: the canary would never reach its request count.
    const tripped = this.serving.breakerStates().some((b) => b.deployment === r.deployment && b.variant === CANARY && b.state !== 'closed');
    if (c.requests < r.minRequests && !tripped) {
      evaluation.waiting = `${c.requests} of ${r.minRequests} canary requests`;
      return evaluation;
    }
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
    evaluation.gates.push({
      gate: 'error_rate',
      passed: !tripped && c.errorRate - p.errorRate <= g.maxErrorRateIncrease,
      detail:
        `error rate ${pct(c.errorRate)} (canary, ${c.errors}/${c.requests}) vs ${pct(p.errorRate)} (primary, ${p.errors}/${p.requests}), at most ${pct(g.maxErrorRateIncrease)} more allowed` +
        (tripped ? "; the canary's circuit breaker is open" : ''),
    });
    if (c.p99Ms !== undefined && p.p99Ms !== undefined) {
      const limit = Math.max(p.p99Ms * g.maxP99Ratio, p.p99Ms + g.p99SlackMs);
      evaluation.gates.push({ gate: 'p99_latency', passed: c.p99Ms <= limit, detail: `p99 ${c.p99Ms.toFixed(2)} ms (canary) vs ${p.p99Ms.toFixed(2)} ms (primary), at most ${limit.toFixed(2)} ms allowed` });
    }
    if (g.metric !== undefined && this.ports.outcomes) {
      const by = await this.ports.outcomes.metric(r.deployment, g.metric, r.stepStartedMs, now + 1);
      const cm = by.find((m) => m.variant === CANARY);
      const pm = by.find((m) => m.variant === r.primary.name);
      evaluation.canary.feedback = cm?.count ?? 0;
      evaluation.primary.feedback = pm?.count ?? 0;
      evaluation.canary.metric = cm?.value;
      evaluation.primary.metric = pm?.value;
      if (cm?.value !== undefined && pm?.value !== undefined && cm.count >= g.minFeedback && pm.count >= g.minFeedback) {
        const lower = LOWER_IS_BETTER.has(g.metric);
        const passed = lower ? cm.value <= pm.value + g.maxMetricDrop : cm.value >= pm.value - g.maxMetricDrop;
        evaluation.gates.push({
          gate: 'metric',
          passed,
          detail: `${g.metric} ${cm.value.toFixed(4)} (canary, ${cm.count} labels) vs ${pm.value.toFixed(4)} (primary, ${pm.count} labels), ${lower ? 'a rise' : 'a drop'} of at most ${g.maxMetricDrop} allowed`,
        });
      }
    }
    const waited = now - r.stepStartedMs;
    if (waited < r.minStepMs) evaluation.waiting = `${Math.floor(waited / 1000)} of ${Math.ceil(r.minStepMs / 1000)} s of the step`;
    return evaluation;
  }

  /**
   * The canary becomes the primary at 100% (and the alias moves, if asked). `promotedAlready`: the
   * deployment that already serves it so (see judge), which is left as it is.
   */
  private async finish(r: Rollout, what: string, promotedAlready?: Deployment): Promise<Rollout> {
    const p = r.primary;
    let after = promotedAlready;
    if (!after) {
      const d = await this.serving.get(r.deployment);
      const promoted: VariantInput = { name: p.name, model: r.model, version: r.version, alias: r.alias, weight: 100 };
      after = await this.serving.setVariants(r.deployment, [promoted, ...this.shadows(d)], d.revision, { actor: 'rollout', reason: `rollout ${r.id}: ${what}` });
    }
    let note = what;
    if (r.moveAlias && this.ports.setAlias) {
      const version = after.status.variants.find((v) => v.name === p.name)?.servingVersion ?? r.version;
      if (version !== undefined) {
        await this.ports.setAlias(r.model, r.moveAlias, version);
        note += `; alias ${r.moveAlias} now names version ${version}`;
      }
    }
    this.serving.resetWindows(r.deployment);
    return this.saveEnded(r, 'promoted', undefined, note);
  }

  /** Removes the canary; a rollback also raises an alert. */
  private async end(r: Rollout, state: 'rolled_back' | 'aborted', reason: string): Promise<Rollout> {
    const d = await this.serving.get(r.deployment);
    if (d.variants.some((v) => v.name === CANARY)) {
      await this.serving.setVariants(r.deployment, [this.primaryOnly(r), ...this.shadows(d)], d.revision, { actor: 'rollout', reason: `rollout ${r.id}: ${reason}` });
    }
    this.serving.resetWindows(r.deployment);
    const ended = await this.saveEnded(r, state, reason);
    if (state === 'rolled_back' && this.ports.notifier) {
      await this.ports.notifier.rolledBack({
        deployment: r.deployment,
        rolloutId: r.id,
        message: `${r.deployment}: canary ${this.canaryRef(r)} rolled back: ${reason}`,
        details: { rollout: r.id, reason, evaluation: r.last },
      });
    }
    return ended;
  }

  private async saveEnded(r: Rollout, state: Rollout['state'], reason: string | undefined, what = reason ?? state): Promise<Rollout> {
    const now = this.clock.now();
    const ended: Rollout = { ...r, state, reason, updatedMs: now, events: [...r.events, { atMs: now, what: state === 'rolled_back' ? `rolled back: ${what}` : what }] };
    if (!(await this.store.save(ended))) throw failedPrecondition(`rollout ${r.id} changed meanwhile; read its status again`);
    return ended;
  }
}
