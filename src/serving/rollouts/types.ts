/** A canary rollout as stored and shown. */

export type RolloutState = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';

export interface Gates {
  /** The canary's error rate may exceed the primary's by at most this much (absolute, 0..1). */
  maxErrorRateIncrease: number;
  /** The canary's p99 latency may be at most this multiple of the primary's ... */
  maxP99Ratio: number;
  /** ... or this many milliseconds above it, whichever is more lenient. */
  p99SlackMs: number;
  /** Model metric compared once both variants have `minFeedback` labelled predictions in the step. */
  metric?: string;
  /** How far the canary's metric may fall below the primary's (for error metrics such as mae: rise above). */
  maxMetricDrop: number;
  minFeedback: number;
}

export interface RolloutSpec {
  deployment: string;
  model: string;
  version?: number;
  alias?: string;
  /** Canary weights per step, increasing, ending at 100. */
  steps: number[];
  minStepMs: number;
  minRequests: number;
  gates: Gates;
  /** On promotion, also point this registry alias at the canary's version. */
  moveAlias?: string;
}

export interface GateResult {
  gate: 'error_rate' | 'p99_latency' | 'metric';
  passed: boolean;
  /** What was compared, in words. */
  detail: string;
}

export interface Evaluation {
  atMs: number;
  step: number;
  canary: { requests: number; errors: number; errorRate: number; p99Ms?: number; metric?: number; feedback?: number };
  primary: { requests: number; errors: number; errorRate: number; p99Ms?: number; metric?: number; feedback?: number };
  gates: GateResult[];
  /** Why the step is still waiting, if it is. */
  waiting?: string;
}

export interface RolloutEvent {
  atMs: number;
  what: string;
}

export interface Rollout extends RolloutSpec {
  id: string;
  state: RolloutState;
  /** Index into `steps`. */
  step: number;
  stepStartedMs: number;
  /** The deployment's variant that serves while the canary is judged (name, version or alias). */
  primary: { name: string; model: string; version?: number; alias?: string };
  /** Why it ended (rolled back, aborted). */
  reason?: string;
  last?: Evaluation;
  events: RolloutEvent[];
  createdMs: number;
  updatedMs: number;
  seq: number;
}

export const CANARY = 'canary';

export const DEFAULT_GATES: Gates = { maxErrorRateIncrease: 0.02, maxP99Ratio: 1.5, p99SlackMs: 5, maxMetricDrop: 0.02, minFeedback: 100 };
export const DEFAULT_STEPS = [10, 25, 50, 100];
