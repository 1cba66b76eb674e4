import { invalidArgument } from '../core/errors.js';

/**
 * An ascending copy of `x`. Typed-array sort is native and numeric, and it puts NaN last, so
 * one look at each end tells whether the sample held a non-finite value.
 */
export function sortedFinite(x: Float64Array, who: string): Float64Array {
  const s = new Float64Array(x).sort();
  if (s.length > 0 && !(Number.isFinite(s[0]) && Number.isFinite(s[s.length - 1]))) {
    throw invalidArgument(`${who}: samples must be finite numbers (found NaN or ±Infinity)`);
  }
  return s;
}

/** Mean and population variance (ddof = 0), two passes as NumPy does (no cancellation). */
export function meanVariance(x: Float64Array): { mean: number; variance: number } {
  const n = x.length;
  if (n === 0) return { mean: Number.NaN, variance: Number.NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    ss += d * d;
  }
  return { mean, variance: ss / n };
}

/** Number of distinct values of an ascending sample. */
export function countDistinctSorted(s: Float64Array): number {
  let k = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) k++;
  return k;
}

/** Number of distinct values in the union of two ascending samples. */
export function countDistinctUnionSorted(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    k++;
  }
  return k;
}
