import { invalidArgument } from '../core/errors.js';
import { EMPTY_BIN_SHARE } from './divergence.js';
import { meanVariance } from './sample.js';
import { gammainc, normalCdf, tCdf } from './special.js';

export interface TestResult {
  statistic: number;
  pvalue: number;
}

export interface ChiSquareResult extends TestResult {
  dof: number;
  expected: Float64Array;
}

/**
 * Upper tail of the chi-squared distribution through the regularised upper incomplete gamma
 * function, so p-values far below 1e-16 keep their digits (1 − cdf would round them to 0).
 */
export function chiSquareSf(x: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return gammainc(x / 2, dof / 2, true, true);
}

/** Pearson's goodness-of-fit test, as `scipy.stats.chisquare(observed, expected)` (dof = k − 1). */
export function chiSquareTest(observed: Float64Array, expected: Float64Array): ChiSquareResult {
  const k = observed.length;
  if (k < 2 || expected.length !== k) {
    throw invalidArgument(`chiSquareTest: need at least 2 categories and matching lengths (got ${k} and ${expected.length})`);
  }
  let so = 0;
  let se = 0;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    if (!(expected[i] > 0)) throw invalidArgument(`chiSquareTest: expected count ${i} must be positive`);
    so += observed[i];
    se += expected[i];
    const d = observed[i] - expected[i];
    stat += (d * d) / expected[i];
  }
  if (Math.abs(so - se) > 1e-8 * Math.max(Math.abs(so), Math.abs(se))) {
    throw invalidArgument(`chiSquareTest: observed and expected totals differ (${so} vs ${se})`);
  }
  return { statistic: stat, pvalue: chiSquareSf(stat, k - 1), dof: k - 1, expected: Float64Array.from(expected) };
}

/**
 * Drift form of the chi-squared test (Evidently's `chisquare`): current counts against the
 * reference shares scaled to the current total. Categories never seen in the reference get
 * share 0.0001 (renormalised) instead of an expected count of 0, which would make the
 * statistic infinite.
 */
export function chiSquareDrift(referenceCounts: Float64Array, currentCounts: Float64Array): ChiSquareResult {
  const k = referenceCounts.length;
  if (currentCounts.length !== k) throw invalidArgument('chiSquareDrift: count vectors differ in length');
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < k; i++) {
    nRef += referenceCounts[i];
    nCur += currentCounts[i];
  }
  if (!(nRef > 0 && nCur > 0)) throw invalidArgument('chiSquareDrift: both samples must be non-empty');
  const q = new Float64Array(k);
  let sq = 0;
  for (let i = 0; i < k; i++) {
    const share = referenceCounts[i] / nRef;
    q[i] = share === 0 ? EMPTY_BIN_SHARE : share;
    sq += q[i];
  }
  const expected = new Float64Array(k);
  for (let i = 0; i < k; i++) expected[i] = (nCur * q[i]) / sq;
  return chiSquareTest(currentCounts, expected);
}

/**
 * Pearson's chi-squared test of homogeneity on the 2 × k table (reference, current) × category,
 * as `scipy.stats.chi2_contingency(table, correction=False)`; categories empty on both sides
 * carry no information and are skipped.
 */
export function chiSquareHomogeneity(referenceCounts: Float64Array, currentCounts: Float64Array): ChiSquareResult {
  const k = referenceCounts.length;
  if (currentCounts.length !== k) throw invalidArgument('chiSquareHomogeneity: count vectors differ in length');
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < k; i++) {
    nRef += referenceCounts[i];
    nCur += currentCounts[i];
  }
  const n = nRef + nCur;
  if (!(nRef > 0 && nCur > 0)) throw invalidArgument('chiSquareHomogeneity: both samples must be non-empty');
  let stat = 0;
  let used = 0;
  const expected = new Float64Array(2 * k);
  for (let i = 0; i < k; i++) {
    const col = referenceCounts[i] + currentCounts[i];
    if (col === 0) continue;
    used++;
    const eRef = (nRef * col) / n;
    const eCur = (nCur * col) / n;
    expected[i] = eRef;
    expected[k + i] = eCur;
    stat += (referenceCounts[i] - eRef) ** 2 / eRef + (currentCounts[i] - eCur) ** 2 / eCur;
  }
  const dof = used - 1;
  return { statistic: stat, pvalue: dof > 0 ? chiSquareSf(stat, dof) : 1, dof, expected };
}

/** Two-sided p-value of a standard normal statistic, 2·Φ(−|z|) (no cancellation in the tail). */
function normalTwoSided(z: number): number {
  return Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
}

/**
 * Two-proportion z-test with the pooled standard error: successes x1 of n1 against x2 of n2.
 * Equal pooled proportion 0 or 1 (both samples identical and constant) gives z = 0, p = 1.
 */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number): TestResult {
  if (!(n1 > 0 && n2 > 0)) throw invalidArgument('twoProportionZTest: sample sizes must be positive');
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pvalue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: z, pvalue: normalTwoSided(z) };
}

export interface WelchResult extends TestResult {
  df: number;
}

/**
 * Welch's unequal-variance t-test, two-sided, as `scipy.stats.ttest_ind(a, b, equal_var=False)`.
 * Two constant samples give NaN in SciPy; here they give t = 0, p = 1 when the means agree and
 * an error when they differ (the test is undefined, not "no drift").
 */
export function welchTTest(a: Float64Array, b: Float64Array): WelchResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 < 2 || n2 < 2) throw invalidArgument(`welchTTest: each sample needs at least 2 values (got ${n1} and ${n2})`);
  const ma = meanVariance(a);
  const mb = meanVariance(b);
  return welchFromMoments(ma.mean, (ma.variance * n1) / (n1 - 1), n1, mb.mean, (mb.variance * n2) / (n2 - 1), n2);
}

/** Welch's test from each sample's mean, sample variance (n − 1 denominator) and size. */
export function welchFromMoments(mean1: number, var1: number, n1: number, mean2: number, var2: number, n2: number): WelchResult {
  if (n1 < 2 || n2 < 2) throw invalidArgument(`welchTTest: each sample needs at least 2 values (got ${n1} and ${n2})`);
  const v1 = var1 / n1;
  const v2 = var2 / n2;
  const se2 = v1 + v2;
  if (se2 === 0) {
    if (mean1 === mean2) return { statistic: 0, pvalue: 1, df: n1 + n2 - 2 };
    throw invalidArgument('welchTTest: both samples are constant with different values');
  }
  const t = (mean1 - mean2) / Math.sqrt(se2);
  const df = (se2 * se2) / ((v1 * v1) / (n1 - 1) + (v2 * v2) / (n2 - 1));
  return { statistic: t, pvalue: Math.min(1, 2 * tCdf(-Math.abs(t), df)), df };
}
