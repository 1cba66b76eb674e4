/**
 * Every drift statistic of one column, computed from its non-missing values: each sample is
 * sorted once, and KS, Wasserstein, the histogram and the distinct counts all read the
 * sorted arrays.
 */
import {
  EMPTY_BIN_SHARE,
  chiSquareDrift,
  compareSortedSamples,
  countDistinctSorted,
  countDistinctUnionSorted,
  histogramSorted,
  jensenShannon,
  ks2SampSorted,
  meanVariance,
  proportions,
  psi,
  sturgesEdges,
  twoProportionZTest,
  welchTTest,
  MIN_NORM_STD,
} from '../../stats/index.js';
import type { ColumnStats, Distribution, SideSummary } from './types.js';

/** Up to this many distinct reference values a numerical column is compared value by value (Evidently). */
const MAX_VALUES_FOR_PER_VALUE_BINS = 20;

export interface ColumnAnalysis {
  stats: ColumnStats;
  distribution: Distribution;
  referenceCount: number;
  distinctUnion: number;
  reference: Omit<SideSummary, 'rows' | 'missing' | 'missingShare'>;
  current: Omit<SideSummary, 'rows' | 'missing' | 'missingShare'>;
  notes: string[];
}

/** PSI and both Jensen–Shannon variants over one pair of count vectors. */
function divergences(refCounts: Float64Array, curCounts: Float64Array, nRef: number, nCur: number) {
  const rp = proportions(refCounts, nRef, EMPTY_BIN_SHARE);
  const cp = proportions(curCounts, nCur, EMPTY_BIN_SHARE);
  return {
    psi: psi(rp, cp),
    jensenShannon: jensenShannon(rp, cp),
    jensenShannonBase2: jensenShannon(proportions(refCounts, nRef), proportions(curCounts, nCur), 2),
  };
}

/**
 * Chi-square (current counts against reference shares) and Evidently's z-test (share of the
 * first key against the rest) over the same cells. One cell only: the two samples are the
 * same constant, which the z-test calls p = 1 and chi-square cannot test.
 */
function cellTests(refCounts: Float64Array, curCounts: Float64Array, nRef: number, nCur: number) {
  if (refCounts.length < 2) return { zTest: { statistic: 0, pvalue: 1 } };
  const chi = chiSquareDrift(refCounts, curCounts);
  return {
    chiSquare: { statistic: chi.statistic, pvalue: chi.pvalue, dof: chi.dof },
    zTest: twoProportionZTest(nRef - refCounts[0], nRef, nCur - curCounts[0], nCur),
  };
}

/** Counts of each distinct value of the union of two ascending samples. */
function perValueCounts(a: Float64Array, b: Float64Array) {
  const values: number[] = [];
  const ra: number[] = [];
  const rb: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    const i0 = i;
    const j0 = j;
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    values.push(x);
    ra.push(i - i0);
    rb.push(j - j0);
  }
  return { values, reference: Float64Array.from(ra), current: Float64Array.from(rb) };
}

const describeValue = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));

/** All statistics of a numerical column; inputs are the finite non-missing values. */
export function analyzeNumerical(reference: Float64Array, current: Float64Array): ColumnAnalysis {
  const sa = new Float64Array(reference).sort();
  const sb = new Float64Array(current).sort();
  const nRef = sa.length;
  const nCur = sb.length;
  const cmp = compareSortedSamples(sa, sb);
  const ks = ks2SampSorted(sa, sb, 'auto', cmp);
  const refMv = meanVariance(sa);
  const curMv = meanVariance(sb);
  const refStd = Math.sqrt(refMv.variance);
  const distinctRef = countDistinctSorted(sa);
  const distinctCur = countDistinctSorted(sb);
  const distinctUnion = countDistinctUnionSorted(sa, sb);
  const notes: string[] = [];

  let distribution: Distribution;
  let refCounts: Float64Array;
  let curCounts: Float64Array;
  if (distinctRef > MAX_VALUES_FOR_PER_VALUE_BINS) {
    const edges = sturgesEdges(Math.min(sa[0], sb[0]), Math.max(sa[nRef - 1], sb[nCur - 1]), nRef + nCur);
    refCounts = histogramSorted(sa, edges);
    curCounts = histogramSorted(sb, edges);
    distribution = { kind: 'bins', edges: Array.from(edges), reference: Array.from(refCounts), current: Array.from(curCounts) };
  } else {
    const pv = perValueCounts(sa, sb);
    refCounts = pv.reference;
    curCounts = pv.current;
    distribution = { kind: 'values', values: pv.values.map(describeValue), reference: Array.from(refCounts), current: Array.from(curCounts) };
  }

  let tTest: ColumnStats['tTest'];
  if (nRef >= 2 && nCur >= 2) {
    try {
      tTest = welchTTest(sa, sb);
    } catch {
      notes.push('t-test undefined: both samples are constant with different values');
    }
  }
  if (distinctRef === 1) notes.push(`reference is constant (${describeValue(sa[0])})`);
  if (distinctCur === 1) notes.push(`current is constant (${describeValue(sb[0])})`);
  if (refStd < MIN_NORM_STD) notes.push(`reference std ${refStd.toPrecision(3)} < ${MIN_NORM_STD}: Wasserstein normed by ${MIN_NORM_STD}`);

  const stats: ColumnStats = {
    ks: { statistic: ks.statistic, pvalue: ks.pvalue, location: ks.statisticLocation, sign: ks.statisticSign, method: ks.method },
    wasserstein: cmp.wasserstein,
    wassersteinNormed: cmp.wasserstein / Math.max(refStd, MIN_NORM_STD),
    tTest,
    ...cellTests(refCounts, curCounts, nRef, nCur),
    ...divergences(refCounts, curCounts, nRef, nCur),
  };
  const side = (s: Float64Array, mv: { mean: number; variance: number }, distinct: number) => ({
    distinct,
    mean: mv.mean,
    std: Math.sqrt(mv.variance),
    min: s[0],
    max: s[s.length - 1],
  });
  return {
    stats,
    distribution,
    referenceCount: nRef,
    distinctUnion,
    reference: side(sa, refMv, distinctRef),
    current: side(sb, curMv, distinctCur),
    notes,
  };
}

function countValues(values: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

const quoteList = (xs: string[], max = 5) =>
  xs.slice(0, max).map((x) => JSON.stringify(x)).join(', ') + (xs.length > max ? `, … (${xs.length} in all)` : '');

/** All statistics of a categorical column; inputs are the non-missing values. */
export function analyzeCategorical(reference: readonly string[], current: readonly string[]): ColumnAnalysis {
  const rc = countValues(reference);
  const cc = countValues(current);
  const keys = [...new Set([...rc.keys(), ...cc.keys()])].sort();
  const refCounts = Float64Array.from(keys, (k) => rc.get(k) ?? 0);
  const curCounts = Float64Array.from(keys, (k) => cc.get(k) ?? 0);
  const nRef = reference.length;
  const nCur = current.length;
  const notes: string[] = [];
  const onlyCurrent = keys.filter((k) => !rc.has(k));
  const onlyReference = keys.filter((k) => !cc.has(k));
  if (onlyCurrent.length > 0) notes.push(`categories only in current: ${quoteList(onlyCurrent)}`);
  if (onlyReference.length > 0) notes.push(`categories only in reference: ${quoteList(onlyReference)}`);
  if (rc.size === 1) notes.push(`reference is constant (${JSON.stringify(keys.find((k) => rc.has(k)))})`);
  const stats: ColumnStats = {
    ...cellTests(refCounts, curCounts, nRef, nCur),
    ...divergences(refCounts, curCounts, nRef, nCur),
  };
  return {
    stats,
    distribution: { kind: 'values', values: keys, reference: Array.from(refCounts), current: Array.from(curCounts) },
    referenceCount: nRef,
    distinctUnion: keys.length,
    reference: { distinct: rc.size },
    current: { distinct: cc.size },
    notes,
  };
}
