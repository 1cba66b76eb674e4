/**
 * A/B analysis of a deployment's variants from feedback outcomes: a conversion (a 0/1 label)
 * or a reward (a numeric value) per request. Each variant is compared with the control
 * (the first variant taking traffic, unless named): the fixed-horizon test with its confidence
 * interval, and an always-valid sequential p-value fed the outcomes in the order their
 * predictions were made and checked after every 100, so reading the analysis every hour does
 * not inflate false positives. Optionally per segment (a logged input field).
 */
import { DAY_MS, type Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { groupBy } from '../core/group.js';
import { meanDifference, MixtureSprt, proportionDifference, sampleSizePerArm, type Difference } from '../stats/ab.js';
import type { OutcomeSource, VariantOutcome } from './rollouts/ports.js';
import type { ServingService } from './service.js';

export type OutcomeKind = 'conversion' | 'reward';

export interface AbQuery {
  /** The variant the others are compared with. */
  control?: string;
  /** Logged input field whose value splits the analysis into segments. */
  segment?: string;
  alpha?: number;
  /** Relative lift over the control's rate the sample size is computed for (default 0.1). */
  mde?: number;
  from?: number;
  to?: number;
}

export interface ArmSummary {
  variant: string;
  n: number;
  /** Conversion rate or mean reward. */
  mean: number;
  variance: number;
}

export interface Comparison {
  variant: string;
  control: string;
  /** Fixed-horizon test: two-proportion z (conversion) or Welch's t (reward). */
  fixed: Difference & { test: 'two_proportion_z' | 'welch_t'; df?: number };
  /** Always-valid p-value of the mixture SPRT. */
  sequentialPValue: number;
  significant: boolean;
}

export interface AbGroup {
  arms: ArmSummary[];
  comparisons: Comparison[];
}

export interface AbAnalysis extends AbGroup {
  deployment: string;
  /** 'none' while no prediction in the window has an outcome: arms and comparisons are empty. */
  kind: OutcomeKind | 'none';
  alpha: number;
  from: number;
  to: number;
  /** Users per arm needed to detect `mde` (relative) over the control's rate, for conversions. */
  sampleSize?: { mde: number; perArm: number };
  segments?: ({ segment: string } & AbGroup)[];
}

const CHECK_EVERY = 100;

function conversionOf(o: VariantOutcome): number | undefined {
  if (o.label === '1' || o.label === 'true') return 1;
  if (o.label === '0' || o.label === 'false') return 0;
  if (o.value === 0 || o.value === 1) return o.value;
  return undefined;
}

export class AbAnalyzer {
  constructor(
    private readonly serving: ServingService,
    private readonly outcomes: OutcomeSource,
    private readonly clock: Clock,
  ) {}

  async analyze(deployment: string, query: AbQuery = {}): Promise<AbAnalysis> {
    const d = await this.serving.get(deployment);
    const alpha = query.alpha ?? 0.05;
    if (!(alpha > 0 && alpha < 0.5)) throw invalidArgument(`alpha: ${alpha} must be in (0, 0.5)`);
    const mde = query.mde ?? 0.1;
    if (!(mde > 0 && mde < 10)) throw invalidArgument(`mde: ${mde} must be a relative lift in (0, 10)`);
    const to = query.to ?? this.clock.now() + 1;
    const from = query.from ?? to - 30 * DAY_MS;
    if (!(to > from)) throw invalidArgument(`from, to: ${from} must be before ${to}`);
    const control = query.control ?? d.variants.find((v) => !v.shadow)?.name;
    if (!control || !d.variants.some((v) => v.name === control)) {
      throw invalidArgument(`control: deployment "${deployment}" has no variant "${query.control}" (it has ${d.variants.map((v) => v.name).join(', ')})`);
    }
    const outcomes = (await this.outcomes.outcomes(deployment, from, to)).sort((a, b) => a.timeMs - b.timeMs);
    if (outcomes.length === 0) return { deployment, kind: 'none', alpha, from, to, arms: [], comparisons: [] };
    const conversions = outcomes.map(conversionOf);
    const kind: OutcomeKind = conversions.every((c) => c !== undefined) ? 'conversion' : 'reward';
    const ys = kind === 'conversion' ? (conversions as number[]) : outcomes.map((o) => o.value ?? Number.NaN);
    const bad = ys.findIndex((y) => !Number.isFinite(y));
    if (bad >= 0) throw failedPrecondition(`feedback for request ${outcomes[bad].requestId} is neither a 0/1 conversion nor a numeric reward (label "${outcomes[bad].label}")`);
    const rows = outcomes.map((o, i) => ({ variant: o.variant, y: ys[i], inputs: o.inputs }));
    const analysis: AbAnalysis = { deployment, kind, alpha, from, to, ...this.group(rows, control, kind, alpha) };
    const base = analysis.arms.find((a) => a.variant === control);
    if (kind === 'conversion' && base && base.mean > 0 && base.mean * (1 + mde) < 1) {
      analysis.sampleSize = { mde, perArm: sampleSizePerArm(base.mean, base.mean * mde, alpha, 0.8) };
    }
    if (query.segment !== undefined) {
      const field = query.segment;
      if (!rows.some((r) => field in r.inputs)) throw invalidArgument(`segment: no logged input of deployment "${deployment}" has a field "${field}"`);
      analysis.segments = [...groupBy(rows, (r) => String(r.inputs[field] ?? ''))].map(([segment, inSegment]) => ({ segment, ...this.group(inSegment, control, kind, alpha) }));
    }
    return analysis;
  }

  private group(rows: { variant: string; y: number }[], control: string, kind: OutcomeKind, alpha: number): AbGroup {
    const arms: ArmSummary[] = [...groupBy(rows, (r) => r.variant)].map(([variant, rs]) => {
      const n = rs.length;
      const mean = rs.reduce((s, r) => s + r.y, 0) / n;
      const variance = n > 1 ? rs.reduce((s, r) => s + (r.y - mean) ** 2, 0) / (n - 1) : 0;
      return { variant, n, mean, variance };
    });
    const a = arms.find((x) => x.variant === control);
    const comparisons: Comparison[] = [];
    for (const b of arms) {
      if (!a || b.variant === control || a.n < 2 || b.n < 2) continue;
      const fixed =
        kind === 'conversion'
          ? { test: 'two_proportion_z' as const, ...proportionDifference(Math.round(a.mean * a.n), a.n, Math.round(b.mean * b.n), b.n, alpha) }
          : { test: 'welch_t' as const, ...meanDifference(a, b, alpha) };
      const seq = new MixtureSprt(alpha);
      let seen = 0;
      for (const r of rows) {
        if (r.variant !== control && r.variant !== b.variant) continue;
        seq.add(r.variant === control ? 0 : 1, r.y);
        if (++seen % CHECK_EVERY === 0) seq.check();
      }
      const sequentialPValue = seq.check();
      comparisons.push({ variant: b.variant, control, fixed, sequentialPValue, significant: sequentialPValue < alpha });
    }
    return { arms, comparisons };
  }
}
