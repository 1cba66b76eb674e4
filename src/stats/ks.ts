import { invalidArgument } from '../core/errors.js';
import { kolmogornSf } from './kolmogorov.js';
import { sortedFinite } from './sample.js';

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsResult {
  /** sup |F_ref − F_cur|; on the exact path rounded to a multiple of 1/lcm(n1, n2) as SciPy does. */
  statistic: number;
  pvalue: number;
  /** The observation where the ECDF difference is largest (SciPy's `statistic_location`). */
  statisticLocation: number;
  /** +1 when the reference ECDF lies above the current one there, −1 below. */
  statisticSign: 1 | -1;
  /** The p-value path actually taken. */
  method: 'exact' | 'asymp';
}

/** SciPy's `MAX_AUTO_N`: with method 'auto', samples this large or smaller get the exact p-value. */
const MAX_AUTO_N = 10000;
const INT32_MAX = 2147483647;

export interface EcdfComparison {
  /** Largest positive difference F_a − F_b, its location, and whether that location is in `a`. */
  maxDiff: number;
  maxLocation: number;
  /** Most negative difference F_a − F_b (≤ 0 unless the samples never cross) and its location. */
  minDiff: number;
  minLocation: number;
  /** ∫ |F_a − F_b| dx, the 1-D Wasserstein-1 distance. */
  wasserstein: number;
}

/**
 * One merge pass over two ascending samples: the KS extremes and the Wasserstein distance
 * together. Ties of the extreme value are broken as `np.argmax` over SciPy's concatenated
 * (a, b) array does: the first location present in `a`, else the first in `b`.
 */
export function compareSortedSamples(a: Float64Array, b: Float64Array): EcdfComparison {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = -Infinity;
  let maxLocation = Number.NaN;
  let maxInA = false;
  let minDiff = Infinity;
  let minLocation = Number.NaN;
  let minInA = false;
  let w = 0;
  let wc = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    const i0 = i;
    while (i < n1 && a[i] === x) i++;
    while (j < n2 && b[j] === x) j++;
    const inA = i > i0;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff || (diff === maxDiff && inA && !maxInA)) {
      maxDiff = diff;
      maxLocation = x;
      maxInA = inA;
    }
    if (diff < minDiff || (diff === minDiff && inA && !minInA)) {
      minDiff = diff;
      minLocation = x;
      minInA = inA;
    }
    if (i < n1 || j < n2) {
      const next = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
      const term = Math.abs(diff) * (next - x);
      const t = w + term;
      wc += Math.abs(w) >= Math.abs(term) ? w - t + term : term - t + w;
      w = t;
    }
  }
  return { maxDiff, maxLocation, minDiff, minLocation, wasserstein: w + wc };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** NumPy rounds halves to even; `d·lcm` is an integer up to rounding, but keep the same rule. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** P(D ≥ h/n) for two samples of equal size n: an alternating sum evaluated Horner-style. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm, by the
 * Hodges "inside" recursion rewritten (Viehmann 2021) to carry 1 − p directly, so tiny
 * p-values keep their relative precision. One sliding column of the path-count table.
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj && j < lenA; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const shift = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + shift] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const end = Math.min(curlen + (lastlen - curlen), lenA);
      for (let jj = curlen; jj < end; jj++) A[jj] = 1;
    }
  }
  return A[maxj - minj - 1];
}

/**
 * Exact two-sided p-value; `null` when the computation is unusable (SciPy then falls back to
 * the asymptotic distribution). Returns the statistic rounded to the lattice as well.
 */
function exactPValue(n1: number, n2: number, g: number, d: number): { d: number; p: number | null } {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const dRounded = h / lcm;
  if (h === 0) return { d: dRounded, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  return { d: dRounded, p: Number.isFinite(p) && p >= 0 && p <= 1 ? p : null };
}

/** Asymptotic two-sided p-value: the one-sample distribution at the effective size n·m/(n+m). */
function asymptoticPValue(n1: number, n2: number, d: number): number {
  const en = (n1 * n2) / (n1 + n2);
  return kolmogornSf(roundHalfEven(en), d);
}

/**
 * Two-sample two-sided Kolmogorov–Smirnov test on ascending, NaN-free samples, following
 * `scipy.stats.ks_2samp(a, b)` (method 'auto': exact p-value when both samples have at most
 * 10,000 values, else the asymptotic distribution).
 */
export function ks2SampSorted(a: Float64Array, b: Float64Array, method: KsMethod = 'auto', cmp?: EcdfComparison): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw invalidArgument('ks2Samp: both samples must be non-empty');
  const c = cmp ?? compareSortedSamples(a, b);
  const minS = Math.min(Math.max(-c.minDiff, 0), 1);
  const maxS = c.maxDiff;
  let d: number;
  let location: number;
  let sign: 1 | -1;
  if (minS > maxS) {
    d = minS;
    location = c.minLocation;
    sign = -1;
  } else {
    d = maxS;
    location = c.maxLocation;
    sign = 1;
  }
  const g = gcd(n1, n2);
  let mode: 'exact' | 'asymp' =
    method === 'auto' ? (Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymp') : method;
  if (method === 'exact' && n1 / g >= INT32_MAX / (n2 / g)) mode = 'asymp';
  let p = Number.NaN;
  if (mode === 'exact') {
    const r = exactPValue(n1, n2, g, d);
    d = r.d;
    if (r.p === null) mode = 'asymp';
    else p = r.p;
  }
  if (mode === 'asymp') p = asymptoticPValue(n1, n2, d);
  return { statistic: d, pvalue: Math.min(Math.max(p, 0), 1), statisticLocation: location, statisticSign: sign, method: mode };
}

/** `ks2SampSorted` for samples in any order (sorted copies are made; NaN is rejected). */
export function ks2Samp(a: Float64Array, b: Float64Array, method: KsMethod = 'auto'): KsResult {
  return ks2SampSorted(sortedFinite(a, 'ks2Samp'), sortedFinite(b, 'ks2Samp'), method);
}
