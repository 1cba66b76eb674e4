/**
 * Quantile binning: each feature's values are cut into at most `max_bin` bins once, and every
 * row is stored as bin indices. A value x falls into the first bin whose cut is greater than x,
 * so "bin ≤ b" is exactly "x < cuts[b]", the test XGBoost applies at prediction time; the cuts
 * are float32 values taken from the data, so the written thresholds reproduce the training
 * partitions bit for bit.
 */
import { invalidArgument } from '../../core/errors.js';

export interface BinCuts {
  /**
   * Cut values of all features, feature after feature (float32). A categorical feature has one
   * bin per category seen in training, holding the category, and a last bin (value -1) that
   * takes the categories training never saw.
   */
  values: Float32Array;
  /** Where each feature's cuts start in `values`, plus the end. */
  offsets: Uint32Array;
  /** 1 for a categorical feature. */
  categorical: Uint8Array;
}

/** XGBoost reads a category as a float32 whole number below 2^24. */
const MAX_CATEGORY = 1 << 24;

/**
 * A feature matrix as global bin indices (feature f's bin b is offsets[f] + b), row-major (row r,
 * feature f at r·numFeature + f). Every missing value is `missing` (the total bin count), so a
 * histogram with one spare slot takes every cell without a branch.
 */
export interface BinnedMatrix {
  rows: number;
  numFeature: number;
  bins: Uint16Array | Uint32Array;
  missing: number;
}

/**
 * Sorts the first n values of `a` (no NaN) in place by an LSD radix sort on their bits, with
 * `tmp` as scratch: TypedArray#sort boxes every element, which made binning most of a small fit.
 */
function sortFloat32(a: Float32Array, tmp: Float32Array, n: number): void {
  let keys = new Uint32Array(a.buffer, a.byteOffset, n);
  let other = new Uint32Array(tmp.buffer, tmp.byteOffset, n);
  // Order-preserving keys: negative floats have every bit flipped, positive ones the sign bit.
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    keys[i] = k & 0x80000000 ? ~k >>> 0 : (k | 0x80000000) >>> 0;
  }
  const count = new Uint32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i] >>> shift) & 2047]++;
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      other[count[(k >>> shift) & 2047]++] = k;
    }
    [keys, other] = [other, keys];
  }
  // Three passes leave the keys in tmp; decoding writes them back to a.
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    other[i] = k & 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  }
}

/**
 * Cuts from the non-missing values of each feature of a row-major float32 matrix. A feature with
 * at most `maxBin` distinct values gets one bin per value; otherwise the cuts sit at equal-count
 * quantiles of its values.
 */
export function computeCuts(x: Float32Array, rows: number, numFeature: number, maxBin: number, categorical?: boolean[], featureNames?: string[]): BinCuts {
  const perFeature: Float32Array[] = [];
  const isCategorical = Uint8Array.from({ length: numFeature }, (_, f) => (categorical?.[f] ? 1 : 0));
  const column = new Float32Array(rows);
  const tmp = new Float32Array(rows);
  for (let f = 0; f < numFeature; f++) {
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * numFeature + f];
      if (v === v) column[n++] = v;
    }
    sortFloat32(column, tmp, n);
    const sorted = column;
    // The distinct values are kept only while they could be the cuts themselves (or are categories).
    const keep = isCategorical[f] ? Infinity : maxBin + 1;
    const distinct: number[] = [];
    for (let i = 0; i < n && distinct.length < keep; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
    const cuts: number[] = [];
    if (isCategorical[f]) {
      for (const c of distinct) {
        if (!(Number.isInteger(c) && c >= 0 && c < MAX_CATEGORY)) {
          throw invalidArgument(`categorical feature "${featureNames?.[f] ?? f}" holds ${c}; categories must be whole numbers from 0 to ${MAX_CATEGORY - 1}`);
        }
      }
      perFeature.push(Float32Array.from([...distinct, -1]));
      continue;
    }
    if (distinct.length <= maxBin) {
      for (let i = 1; i < distinct.length; i++) cuts.push(distinct[i]);
    } else {
      // Equal-count quantiles over the rows, each cut at the first distinct value that starts a
      // new bin; [i, j) is a run of one value, and the last run never ends a bin.
      let seen = 0;
      let next = 1;
      for (let i = 0, j = 1; cuts.length < maxBin - 1; i = j++) {
        while (j < n && sorted[j] === sorted[i]) j++;
        if (j >= n) break;
        seen += j - i;
        if (seen >= (next * n) / maxBin) {
          cuts.push(sorted[j]);
          while (next * n <= seen * maxBin) next++;
        }
      }
    }
    // The last bin's cut lies above every value: it is never a split threshold.
    const max = n > 0 ? sorted[n - 1] : 0;
    cuts.push(Math.fround(max + Math.abs(max) + 1e-5));
    perFeature.push(Float32Array.from(cuts));
  }
  const offsets = new Uint32Array(numFeature + 1);
  for (let f = 0; f < numFeature; f++) offsets[f + 1] = offsets[f] + perFeature[f].length;
  const values = new Float32Array(offsets[numFeature]);
  perFeature.forEach((c, f) => values.set(c, offsets[f]));
  return { values, offsets, categorical: isCategorical };
}

/**
 * The global bin of value v of a feature whose bins are values[lo, last]. A numeric value goes to
 * the first cut greater than it (values above every cut share the last bin); a category to the
 * bin where training saw it, or to the last bin, the one for categories training never saw.
 */
function binOf(values: Float32Array, lo: number, last: number, categorical: boolean, v: number, missing: number): number {
  if (v !== v) return missing;
  let hi = last;
  if (categorical) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo < last && values[lo] === v ? lo : last;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] > v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The global bin of every cell of a row-major float32 matrix under `cuts` (NaN → the missing index). */
export function binMatrix(x: Float32Array, rows: number, numFeature: number, cuts: BinCuts): BinnedMatrix {
  const { values, offsets, categorical } = cuts;
  const missing = offsets[numFeature];
  // Below 0x7ff0, no four 16-bit bins read as one float64 are a NaN, whose bits a copy may change
  // (the fit moves rows of bins as float64 words).
  const bins = missing < 0x7ff0 ? new Uint16Array(rows * numFeature) : new Uint32Array(rows * numFeature);
  for (let f = 0; f < numFeature; f++) {
    const lo = offsets[f];
    const last = offsets[f + 1] - 1;
    const isCategorical = categorical[f] === 1;
    for (let r = 0; r < rows; r++) {
      const i = r * numFeature + f;
      bins[i] = binOf(values, lo, last, isCategorical, x[i], missing);
    }
  }
  return { rows, numFeature, bins, missing };
}
