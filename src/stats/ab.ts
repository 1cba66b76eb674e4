/**
 * Statistics of A/B experiments: the difference between two variants' conversion rates (a
 * two-proportion z-test) or mean rewards (Welch's t-test) with confidence intervals, an
 * always-valid sequential test that may be checked as often as one likes (a mixture sequential
 * probability ratio test), and the sample size a fixed-horizon test needs.
 */
import { invalidArgument } from '../core/errors.js';
import { normalCdf, tCdf } from './special.js';
import { twoProportionZTest, welchFromMoments } from './tests.js';

/** The x with cdf(x) = p for an increasing cdf, by bisection (60 halvings reach double precision here). */
function invert(cdf: (x: number) => number, p: number, lo: number, hi: number): number {
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw invalidArgument(`normalQuantile: p ${p} must be in (0, 1)`);
  return invert((x) => normalCdf(x, 0, 1), p, -40, 40);
}

export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw invalidArgument(`tQuantile: p ${p} must be in (0, 1) and df ${df} positive`);
  return invert((x) => tCdf(x, df), p, -1e6, 1e6);
}

export interface Difference {
  /** B − A. */
  diff: number;
  /** (B − A) / A, when A is not 0. */
  relative?: number;
  statistic: number;
  pValue: number;
  /** Two-sided (1 − alpha) confidence interval of B − A. */
  ci: [number, number];
}

/** Conversions xA of nA against xB of nB: pooled z-test, unpooled (Wald) interval. */
export function proportionDifference(xA: number, nA: number, xB: number, nB: number, alpha = 0.05): Difference {
  const test = twoProportionZTest(xB, nB, xA, nA);
  const pA = xA / nA;
  const pB = xB / nB;
  const half = normalQuantile(1 - alpha / 2) * Math.sqrt((pA * (1 - pA)) / nA + (pB * (1 - pB)) / nB);
  const diff = pB - pA;
  return { diff, relative: pA > 0 ? diff / pA : undefined, statistic: test.statistic, pValue: test.pvalue, ci: [diff - half, diff + half] };
}

export interface Moments {
  n: number;
  mean: number;
  /** Sample variance (n − 1 in the denominator). */
  variance: number;
}

/** Mean rewards: Welch's t-test and its interval with the Welch–Satterthwaite degrees of freedom. */
export function meanDifference(a: Moments, b: Moments, alpha = 0.05): Difference & { df: number } {
  const test = welchFromMoments(b.mean, b.variance, b.n, a.mean, a.variance, a.n);
  const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
  const diff = b.mean - a.mean;
  const half = se === 0 ? 0 : tQuantile(1 - alpha / 2, test.df) * se;
  return { diff, relative: a.mean !== 0 ? diff / a.mean : undefined, statistic: test.statistic, pValue: test.pvalue, df: test.df, ci: [diff - half, diff + half] };
}

/**
 * An always-valid test of "B − A = 0" (mSPRT, Johari et al., "Always Valid Inference", 2017):
 * the likelihood ratio of a normal mixture over the difference, N(0, τ²), against no
 * difference, with the difference estimated as normal from the running means. Its p-value is
 * the running minimum of 1 / ratio over every check, so it may be read after every batch of
 * outcomes without inflating false positives. τ² is set so that the test is most sensitive
 * near `horizon` observations per arm (Howard et al.'s choice, as GrowthBook uses).
 */
export class MixtureSprt {
  private readonly sums = [
    { n: 0, sum: 0, squares: 0 },
    { n: 0, sum: 0, squares: 0 },
  ];
  private minP = 1;

  constructor(
    private readonly alpha = 0.05,
    private readonly horizon = 10_000,
  ) {
    if (!(alpha > 0 && alpha < 1)) throw invalidArgument(`alpha: ${alpha} must be in (0, 1)`);
    if (!(horizon >= 1)) throw invalidArgument(`horizon: ${horizon} must be >= 1`);
  }

  /** One outcome of arm 0 (A) or 1 (B). */
  add(arm: 0 | 1, y: number): void {
    const s = this.sums[arm];
    s.n++;
    s.sum += y;
    s.squares += y * y;
  }

  /** Folds the evidence so far into the always-valid p-value and returns it. */
  check(): number {
    const [a, b] = this.sums;
    if (a.n < 2 || b.n < 2) return this.minP;
    const varOf = (s: { n: number; sum: number; squares: number }) => Math.max(0, (s.squares - (s.sum * s.sum) / s.n) / (s.n - 1));
    const va = varOf(a);
    const vb = varOf(b);
    const s2 = va / a.n + vb / b.n;
    if (s2 === 0) return this.minP;
    const diff = b.sum / b.n - a.sum / a.n;
    const l = -2 * Math.log(this.alpha);
    const tau2 = ((va + vb) * (l + Math.log(l + 1))) / this.horizon;
    const logRatio = 0.5 * Math.log(s2 / (s2 + tau2)) + (diff * diff * tau2) / (2 * s2 * (s2 + tau2));
    this.minP = Math.min(this.minP, Math.min(1, Math.exp(-logRatio)));
    return this.minP;
  }

  get pValue(): number {
    return this.minP;
  }
}

/**
 * Users per arm a two-sided two-proportion test needs to detect `mde` (absolute: B − A) on a
 * `baseline` rate with the given alpha and power.
 */
export function sampleSizePerArm(baseline: number, mde: number, alpha = 0.05, power = 0.8): number {
  if (!(baseline > 0 && baseline < 1)) throw invalidArgument(`baseline: ${baseline} must be a rate in (0, 1)`);
  const target = baseline + mde;
  if (!(mde !== 0 && target > 0 && target < 1)) throw invalidArgument(`mde: ${mde} must be non-zero and keep baseline + mde in (0, 1)`);
  if (!(alpha > 0 && alpha < 1)) throw invalidArgument(`alpha: ${alpha} must be in (0, 1)`);
  if (!(power > 0 && power < 1)) throw invalidArgument(`power: ${power} must be in (0, 1)`);
  const mean = (baseline + target) / 2;
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  const n = (za * Math.sqrt(2 * mean * (1 - mean)) + zb * Math.sqrt(baseline * (1 - baseline) + target * (1 - target))) ** 2 / (mde * mde);
  return Math.ceil(n);
}
