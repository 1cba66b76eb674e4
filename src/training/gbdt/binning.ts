/**
 * Quantile binning: each feature's values are cut into at most `max_bin` bins once, and every
 * row is stored as bin indices. A value x falls into the first bin whose cut is greater than x,
 * so "bin ≤ b" is exactly "x < cuts[b]", the test XGBoost applies at prediction time; the cuts
 * are float32 values taken from the data, so the written thresholds reproduce the training
 * partitions bit for bit.
 */
import { invalidArgument } from '../../core/errors.js';
import { FloatSort } from './kernels.js';
import { SketchSpace, sketchCuts } from './sketch.js';

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

/** Features whose values one pass over the matrix gathers: a pass per feature read the whole matrix each time. */
const GATHER = 4;

/**
 * Cuts from the non-missing values of each feature of a row-major float32 matrix, the ones
 * XGBoost's `hist` takes from the same matrix: a feature with at most `maxBin` distinct values
 * gets one bin per value, others approximate quantiles (see sketch.ts), weighted by `weights`
 * (sample and class weights) as XGBoost weighs its sketch.
 */
export function computeCuts(x: Float32Array, rows: number, numFeature: number, maxBin: number, categorical?: boolean[], featureNames?: string[], weights?: ArrayLike<number>): BinCuts {
  const isCategorical = categoricalFlags(numFeature, categorical);
  // Unit weights take the unweighted path, which sorts instead of ordering pairs.
  const weighted = weights && Array.prototype.some.call(weights, (w: number) => w !== 1) ? Float32Array.from(weights) : undefined;
  return joinCuts(featureCuts(x, rows, numFeature, maxBin, isCategorical, featureNames, weighted), isCategorical);
}

/** 1 for each categorical feature. */
function categoricalFlags(numFeature: number, categorical?: boolean[]): Uint8Array {
  return Uint8Array.from({ length: numFeature }, (_, f) => (categorical?.[f] ? 1 : 0));
}

/** The cuts of every feature (see computeCuts), one array each. */
function featureCuts(x: Float32Array, rows: number, numFeature: number, maxBin: number, isCategorical: Uint8Array, featureNames?: string[], weights?: Float32Array): Float32Array[] {
  const perFeature: Float32Array[] = [];
  const columns = Array.from({ length: Math.min(GATHER, numFeature) }, () => new Float32Array(rows));
  const counts = new Int32Array(GATHER);
  const sorter = new FloatSort(rows);
  const space = new SketchSpace();
  const columnWeights = weights ? new Float32Array(rows) : undefined;
  for (let first = 0; first < numFeature; first += GATHER) {
    const group = Math.min(GATHER, numFeature - first);
    gatherColumns(x, rows, numFeature, first, group, columns, counts);
    for (let j = 0; j < group; j++) {
      const f = first + j;
      const name = featureNames?.[f] ?? String(f);
      if (columnWeights && isCategorical[f] !== 1) perFeature.push(weightedCuts(x, rows, numFeature, f, weights!, columns[j], columnWeights, sorter, space, counts[j], maxBin));
      else perFeature.push(cutsOfColumn(columns[j], sorter, space, counts[j], maxBin, isCategorical[f] === 1, name));
    }
  }
  return perFeature;
}

/**
 * A numeric feature's cuts under row weights, as XGBoost's sketch takes them: values of weight 0
 * are left out, though they count in the sketch's sizes (`present` values in all).
 */
function weightedCuts(x: Float32Array, rows: number, numFeature: number, f: number, weights: Float32Array, column: Float32Array, columnWeights: Float32Array, sorter: FloatSort, space: SketchSpace, present: number, maxBin: number): Float32Array {
  let n = 0;
  for (let r = 0, i = f; r < rows; r++, i += numFeature) {
    const v = x[i];
    if (v === v && weights[r] !== 0) {
      column[n] = v;
      columnWeights[n++] = weights[r];
    }
  }
  const distinct = fewDistinct(column, n, maxBin);
  if (distinct) return exactCuts(distinct);
  return sketchedCuts(column, sorter, space, n, maxBin, { weights: columnWeights, present });
}

/** The non-missing values of features [first, first + group), one column each, and how many each has. */
function gatherColumns(x: Float32Array, rows: number, numFeature: number, first: number, group: number, columns: Float32Array[], counts: Int32Array): void {
  counts.fill(0);
  for (let base = first, end = rows * numFeature; base < end; base += numFeature) {
    for (let j = 0; j < group; j++) {
      const v = x[base + j];
      if (v === v) columns[j][counts[j]++] = v;
    }
  }
}

/**
 * A feature's cuts from its n non-missing values `column[0, n)` in row order (reordered in place):
 * a categorical feature's categories, or the cuts XGBoost's sketch picks.
 */
function cutsOfColumn(column: Float32Array, sorter: FloatSort, space: SketchSpace, n: number, maxBin: number, categorical: boolean, name: string): Float32Array {
  if (categorical) return categoryCuts(sortedDistinct(column, sorter, n), name);
  // With at most maxBin distinct values no summary of the sketch is ever pruned, so its cuts are
  // the distinct values but the smallest.
  const distinct = fewDistinct(column, n, maxBin);
  if (distinct) return exactCuts(distinct);
  return sketchedCuts(column, sorter, space, n, maxBin);
}

/** Cuts at every one of `distinct` (ascending) but the smallest, then the last cut. */
function exactCuts(distinct: Float32Array): Float32Array {
  const cuts = new Float32Array(Math.max(1, distinct.length));
  cuts.set(distinct.subarray(1));
  const max = distinct.length > 0 ? distinct[distinct.length - 1] : 0;
  cuts[cuts.length - 1] = lastCut(max);
  return cuts;
}

/** The distinct values of column[0, n), ascending (the column is sorted in place). */
function sortedDistinct(column: Float32Array, sorter: FloatSort, n: number): number[] {
  sorter.sort(column.subarray(0, n));
  const distinct: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || column[i] !== column[i - 1]) distinct.push(column[i]);
  return distinct;
}

/** A categorical feature's bins: one per category, then the one for categories training never saw. */
function categoryCuts(distinct: number[], name: string): Float32Array {
  for (const c of distinct) {
    if (!(Number.isInteger(c) && c >= 0 && c < MAX_CATEGORY)) {
      throw invalidArgument(`categorical feature "${name}" holds ${c}; categories must be whole numbers from 0 to ${MAX_CATEGORY - 1}`);
    }
  }
  return Float32Array.from([...distinct, -1]);
}

/** The cuts XGBoost's sketch picks from column[0, n) in row order, weighted when `weighted` says so. */
function sketchedCuts(column: Float32Array, sorter: FloatSort, space: SketchSpace, n: number, maxBin: number, weighted?: { weights: Float32Array; present: number }): Float32Array {
  const sketch = sketchCuts(column, n, maxBin, (a, from, to) => sorter.sort(a.subarray(from, to)), space, weighted);
  return withLastCut(sketch.cuts, sketch.max);
}

/**
 * The distinct values of column[0, n), ascending, when there are at most `most` of them, else
 * undefined: only those few values are sorted, not the column.
 */
function fewDistinct(column: Float32Array, n: number, most: number): Float32Array | undefined {
  const found = new Uint32Array(most);
  const distinct = distinctBits(column, n, most, found);
  return distinct < 0 ? undefined : new Float32Array(found.buffer, 0, distinct).sort();
}

/** The float bits of -0, which is one value with 0. */
const NEGATIVE_ZERO = 0x80000000;

/**
 * Writes the float bits of each distinct value of column[0, n) to `found`, in order of appearance,
 * and answers how many there are, or -1 at the first value past `most` of them. An open-addressed
 * table of float bits, as a Set boxed every value it was asked about. A function of its own: the
 * loop compiled where it ran was thrown away on reaching the sort after it. Every value takes the
 * same path up to the table, -0 as 0, so that no branch a first feature never took throws away
 * the code compiled for it.
 */
function distinctBits(column: Float32Array, n: number, most: number, found: Uint32Array): number {
  const bits = new Uint32Array(column.buffer, column.byteOffset, n);
  let size = 16;
  while (size < most * 4) size <<= 1;
  const shift = 32 - Math.log2(size);
  const table = new Uint32Array(size);
  const used = new Uint8Array(size);
  let distinct = 0;
  let negativeZero = false;
  for (let i = 0; i < n; i++) {
    let key = bits[i];
    if (key === NEGATIVE_ZERO) {
      negativeZero = true;
      key = 0;
    }
    let slot = Math.imul(key, 0x9e3779b1) >>> shift;
    while (used[slot] === 1 && table[slot] !== key) slot = (slot + 1) & (size - 1);
    if (used[slot] === 0) {
      if (distinct === most) return -1;
      used[slot] = 1;
      table[slot] = key;
      found[distinct++] = key;
    }
  }
  // The column's zero is -0 when it holds one (it sorts first).
  if (negativeZero) found[found.indexOf(0)] = NEGATIVE_ZERO;
  return distinct;
}

/** The cuts followed by the last bin's cut (see lastCut). */
function withLastCut(cuts: number[], max: number): Float32Array {
  cuts.push(lastCut(max));
  return Float32Array.from(cuts);
}

/** The last bin's cut above `max`, the largest value: it lies above every value, so it is never a split threshold. */
function lastCut(max: number): number {
  return Math.fround(max + Math.abs(max) + 1e-5);
}

/** The cuts of every feature, in order, as one BinCuts. */
function joinCuts(perFeature: Float32Array[], isCategorical: Uint8Array): BinCuts {
  const numFeature = perFeature.length;
  const offsets = new Uint32Array(numFeature + 1);
  for (let f = 0; f < numFeature; f++) offsets[f + 1] = offsets[f] + perFeature[f].length;
  const values = new Float32Array(offsets[numFeature]);
  perFeature.forEach((c, f) => values.set(c, offsets[f]));
  return { values, offsets, categorical: isCategorical };
}

/**
 * The global bin of value v of a categorical feature whose bins are values[lo, last]: the bin
 * where training saw it, or the last bin, the one for categories training never saw.
 */
function categoryBin(values: Float32Array, lo: number, last: number, v: number): number {
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < last && values[lo] === v ? lo : last;
}

/**
 * The global bin of value v of a numeric feature whose bins are values[lo, last]: the first cut
 * greater than v, values above every cut sharing the last bin. The answer lies in
 * [base, base + n); halving that range on a select instead of a branch, as the outcome of each
 * comparison cannot be predicted.
 */
function numericBin(values: Float32Array, lo: number, last: number, v: number): number {
  let base = lo;
  let n = last - lo + 1;
  while (n > 1) {
    const half = n >>> 1;
    base += half * +(values[base + half - 1] <= v);
    n -= half;
  }
  return base;
}

/** The global bin of every cell of a row-major float32 matrix under `cuts` (NaN → the missing index). */
export function binMatrix(x: Float32Array, rows: number, numFeature: number, cuts: BinCuts): BinnedMatrix {
  const missing = cuts.offsets[numFeature];
  // Below 0x7ff0, no four 16-bit bins read as one float64 are a NaN, whose bits a copy may change
  // (the fit moves rows of bins as float64 words).
  const bins = missing < 0x7ff0 ? new Uint16Array(rows * numFeature) : new Uint32Array(rows * numFeature);
  binRows(x, numFeature, cuts, bins, 0, rows);
  return { rows, numFeature, bins, missing };
}

/**
 * Writes the bins of rows [from, to) of a row-major float32 matrix under `cuts` into `bins` (see
 * binMatrix), a feature at a time: a loop over one feature's cells reads its cuts once and does
 * not ask, cell after cell, which feature and kind it is, which counted most while it ran cold.
 */
export function binRows(x: Float32Array, numFeature: number, cuts: BinCuts, bins: Uint16Array | Uint32Array, from: number, to: number): void {
  if (to - from >= TABLE_MIN_ROWS) {
    for (let first = 0; first < numFeature; first += TABLE_FEATURES) binRowsByTable(x, numFeature, cuts, bins, from, to, first, Math.min(first + TABLE_FEATURES, numFeature));
    return;
  }
  const { values, offsets, categorical } = cuts;
  const missing = offsets[numFeature];
  for (let f = 0; f < numFeature; f++) {
    const start = from * numFeature + f;
    const end = to * numFeature;
    if (categorical[f] === 1) binCategorical(x, numFeature, values, offsets[f], offsets[f + 1] - 1, missing, bins, start, end);
    else binNumeric(x, numFeature, values, offsets[f], offsets[f + 1] - 1, missing, bins, start, end);
  }
}

/** The bins of cells start, start + step, … below end of a numeric feature whose bins are values[lo, last]. */
function binNumeric(x: Float32Array, step: number, values: Float32Array, lo: number, last: number, missing: number, bins: Uint16Array | Uint32Array, start: number, end: number): void {
  for (let i = start; i < end; i += step) {
    const v = x[i];
    bins[i] = v !== v ? missing : numericBin(values, lo, last, v);
  }
}

/** The bins of cells start, start + step, … below end of a categorical feature whose bins are values[lo, last]. */
function binCategorical(x: Float32Array, step: number, values: Float32Array, lo: number, last: number, missing: number, bins: Uint16Array | Uint32Array, start: number, end: number): void {
  for (let i = start; i < end; i += step) {
    const v = x[i];
    bins[i] = v !== v ? missing : categoryBin(values, lo, last, v);
  }
}

/** Rows from which a numeric feature's bins are looked up in a table of BUCKETS entries rather than searched: the table then costs less than a row. */
const TABLE_MIN_ROWS = 1 << 17;
/** Features binned together through their tables, which bounds the tables' memory (256 KiB a feature). */
const TABLE_FEATURES = 32;
/** Sort keys (see sortKey) fall into buckets by their top 16 bits. */
const BUCKET_SHIFT = 16;
const BUCKETS = 1 << (32 - BUCKET_SHIFT);

/** The order-preserving key of float bits (negative floats have every bit flipped, positive ones the sign bit), without a branch. */
const sortKey = (bits: number): number => (bits ^ ((bits >> 31) | 0x80000000)) >>> 0;

/**
 * binRows for features [first, end) through tables: for each numeric feature and bucket of sort
 * keys, the bin of the first cut not in a lower bucket. Every cut in a lower bucket lies below
 * every value of the bucket, so a value's bin is at or after that one, and only the few cuts that
 * share its bucket are compared.
 */
function binRowsByTable(x: Float32Array, numFeature: number, cuts: BinCuts, bins: Uint16Array | Uint32Array, from: number, to: number, first: number, end: number): void {
  const { values, offsets, categorical } = cuts;
  const missing = offsets[numFeature];
  const valueBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const xBits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const width = end - first;
  const table = new Uint32Array(width * BUCKETS);
  for (let j = 0; j < width; j++) {
    const f = first + j;
    if (categorical[f] === 1) continue;
    const last = offsets[f + 1] - 1;
    let b = offsets[f];
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      while (b < last && sortKey(valueBits[b]) >>> BUCKET_SHIFT < bucket) b++;
      table[j * BUCKETS + bucket] = b;
    }
  }
  for (let r = from; r < to; r++) {
    for (let j = 0, i = r * numFeature + first; j < width; j++, i++) {
      const v = x[i];
      const f = first + j;
      const last = offsets[f + 1] - 1;
      if (v !== v) bins[i] = missing;
      else if (categorical[f] === 1) bins[i] = categoryBin(values, offsets[f], last, v);
      else {
        let b = table[j * BUCKETS + (sortKey(xBits[i]) >>> BUCKET_SHIFT)];
        while (b < last && values[b] <= v) b++;
        bins[i] = b;
      }
    }
  }
}
