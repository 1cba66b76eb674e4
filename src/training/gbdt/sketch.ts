/**
 * XGBoost's weighted quantile sketch (WQSummary with unit weights, as its `hist` method builds a
 * DMatrix's cuts), reproduced step for step so that a feature's cuts are the ones XGBoost 1.7
 * picks from the same values: equal-count quantiles of our own chose other cut values on a
 * feature with more distinct values than bins, hence other trees and another held-out AUC.
 * Ranks are float32 in XGBoost, so every rank sum and the prune's targets are rounded to float32
 * here too; which entry a prune keeps depends on those comparisons.
 */

/** An ordered summary of weighted values: each entry's value, its minimum and maximum rank and its own weight. */
class Summary {
  rmin: Float32Array;
  rmax: Float32Array;
  wmin: Float32Array;
  value: Float32Array;
  size = 0;

  constructor(capacity = 0) {
    this.rmin = new Float32Array(capacity);
    this.rmax = new Float32Array(capacity);
    this.wmin = new Float32Array(capacity);
    this.value = new Float32Array(capacity);
  }

  /** Grows the arrays to hold `capacity` entries; summaries are reused, so they grow once. */
  private reserve(capacity: number): void {
    if (capacity <= this.value.length) return;
    const grow = (a: Float32Array): Float32Array => {
      const b = new Float32Array(capacity);
      b.set(a.subarray(0, this.size));
      return b;
    };
    this.rmin = grow(this.rmin);
    this.rmax = grow(this.rmax);
    this.wmin = grow(this.wmin);
    this.value = grow(this.value);
  }

  copyFrom(src: Summary): void {
    this.reserve(src.size);
    this.size = src.size;
    this.rmin.set(src.rmin.subarray(0, src.size));
    this.rmax.set(src.rmax.subarray(0, src.size));
    this.wmin.set(src.wmin.subarray(0, src.size));
    this.value.set(src.value.subarray(0, src.size));
  }

  /** The summary of values [from, to) of `sorted` (ascending), each of weight 1, at most `distinct` of them distinct. */
  setSorted(sorted: Float32Array, from: number, to: number, distinct: number): void {
    this.reserve(Math.min(to - from, distinct));
    this.size = sortedRuns(sorted, from, to, this.rmin, this.rmax, this.wmin, this.value);
  }

  /**
   * The summary of values [from, to) of `values` in row order, weighted by `weights` beside them
   * (none zero), at most `distinct` of them distinct: each value's weights summed in float.
   */
  setWeighted(values: Float32Array, weights: Float32Array, from: number, to: number, distinct: number): void {
    this.reserve(Math.min(to - from, distinct));
    const order = Uint32Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => values[a] - values[b] || a - b);
    const f = Math.fround;
    this.size = 0;
    let rank = 0;
    for (let i = 0; i < order.length; ) {
      const v = values[order[i]];
      let w = weights[order[i]];
      let j = i + 1;
      for (; j < order.length && values[order[j]] === v; j++) w = f(w + weights[order[j]]);
      const k = this.size++;
      this.rmin[k] = rank;
      this.rmax[k] = f(rank + w);
      this.wmin[k] = w;
      this.value[k] = v;
      rank = f(rank + w);
      i = j;
    }
  }

  /** At most `maxSize` entries of `src`, the ones nearest to evenly spaced ranks, first and last always kept. */
  setPrune(src: Summary, maxSize: number): void {
    if (src.size <= maxSize) {
      this.copyFrom(src);
      return;
    }
    this.reserve(maxSize);
    this.size = prune(src, maxSize, this);
  }

  /** The merge of two summaries, ranks added, then the rounding fix-up XGBoost applies. */
  setCombine(a: Summary, b: Summary): void {
    if (a.size === 0) return this.copyFrom(b);
    if (b.size === 0) return this.copyFrom(a);
    this.reserve(a.size + b.size);
    this.size = combine(a, b, this);
    fixError(this.rmin, this.rmax, this.wmin, this.size);
  }
}

/*
 * The loops below take the summaries' arrays as locals: they run cold in a fresh process, where
 * every property load and call is interpreted, and as small functions of their own they are
 * compiled early and alone.
 */

/** Writes the runs of equal values of sorted[from, to) as entries of weight 1, answering how many. */
function sortedRuns(sorted: Float32Array, from: number, to: number, rmin: Float32Array, rmax: Float32Array, wmin: Float32Array, value: Float32Array): number {
  let k = 0;
  for (let i = from; i < to; k++) {
    const v = sorted[i];
    let j = i + 1;
    while (j < to && sorted[j] === v) j++;
    rmin[k] = i - from;
    rmax[k] = j - from;
    wmin[k] = j - i;
    value[k] = v;
    i = j;
  }
  return k;
}

/** Writes the entries Summary#setPrune keeps of `src` (more than maxSize of them) to `into`, answering how many. */
function prune(src: Summary, maxSize: number, into: Summary): number {
  const { rmin, rmax, wmin } = src;
  const f = Math.fround;
  const last = src.size - 1;
  const begin = rmax[0];
  const range = f(rmin[last] - begin);
  const n = maxSize - 1;
  let size = keep(src, 0, into, 0);
  let i = 1;
  let lastIdx = 0;
  for (let k = 1; k < n; k++) {
    const dx2 = f(2 * f(f(f(k * range) / n) + begin));
    while (i < last && dx2 >= f(rmax[i + 1] + rmin[i + 1])) i++;
    if (i === last) break;
    const pick = dx2 < f(f(rmin[i] + wmin[i]) + f(rmax[i + 1] - wmin[i + 1])) ? i : i + 1;
    if (pick !== lastIdx) {
      size = keep(src, pick, into, size);
      lastIdx = pick;
    }
  }
  return lastIdx === last ? size : keep(src, last, into, size);
}

/** Copies entry i of `src` to entry k of `into`, answering k + 1. */
function keep(src: Summary, i: number, into: Summary, k: number): number {
  into.rmin[k] = src.rmin[i];
  into.rmax[k] = src.rmax[i];
  into.wmin[k] = src.wmin[i];
  into.value[k] = src.value[i];
  return k + 1;
}

/** Writes the merge of a and b (neither empty) to `into`, answering its size (see Summary#setCombine). */
function combine(a: Summary, b: Summary, into: Summary): number {
  const f = Math.fround;
  const { rmin: aRmin, rmax: aRmax, wmin: aWmin, value: aValue } = a;
  const { rmin: bRmin, rmax: bRmax, wmin: bWmin, value: bValue } = b;
  const { rmin, rmax, wmin, value } = into;
  let ia = 0;
  let ib = 0;
  let aPrevRmin = 0;
  let bPrevRmin = 0;
  let k = 0;
  for (const aSize = a.size, bSize = b.size; ia < aSize && ib < bSize; k++) {
    const va = aValue[ia];
    const vb = bValue[ib];
    // An entry of one side adds the other side's ranks around its value; equal values add both
    // entries. One path for the three cases, which costs less to run cold and to compile.
    const fromA = va <= vb;
    const fromB = vb <= va;
    rmin[k] = (fromA ? aRmin[ia] : aPrevRmin) + (fromB ? bRmin[ib] : bPrevRmin);
    rmax[k] = (fromA ? aRmax[ia] : f(aRmax[ia] - aWmin[ia])) + (fromB ? bRmax[ib] : f(bRmax[ib] - bWmin[ib]));
    wmin[k] = (fromA ? aWmin[ia] : 0) + (fromB ? bWmin[ib] : 0);
    value[k] = fromA ? va : vb;
    if (fromA) aPrevRmin = f(aRmin[ia] + aWmin[ia++]);
    if (fromB) bPrevRmin = f(bRmin[ib] + bWmin[ib++]);
  }
  k = rest(a, ia, bPrevRmin, bRmax[b.size - 1], into, k);
  return rest(b, ib, aPrevRmin, aRmax[a.size - 1], into, k);
}

/** Entries [from, size) of `src`, whose values are past the other side's, into `into` at k on; answers the end. */
function rest(src: Summary, from: number, otherPrevRmin: number, otherRmax: number, into: Summary, k: number): number {
  const { rmin, rmax, wmin, value, size } = src;
  const { rmin: toRmin, rmax: toRmax, wmin: toWmin, value: toValue } = into;
  for (let i = from; i < size; i++, k++) {
    toRmin[k] = rmin[i] + otherPrevRmin;
    toRmax[k] = rmax[i] + otherRmax;
    toWmin[k] = wmin[i];
    toValue[k] = value[i];
  }
  return k;
}

/** Re-establishes rmin and rmax rising and rmax ≥ rmin + wmin after float rounding. */
function fixError(rmin: Float32Array, rmax: Float32Array, wmin: Float32Array, size: number): void {
  let prevRmin = 0;
  let prevRmax = 0;
  for (let i = 0; i < size; i++) {
    if (rmin[i] < prevRmin) rmin[i] = prevRmin;
    else prevRmin = rmin[i];
    if (rmax[i] < prevRmax) rmax[i] = prevRmax;
    const rminNext = Math.fround(rmin[i] + wmin[i]);
    if (rmax[i] < rminNext) rmax[i] = rminNext;
    prevRmax = rmax[i];
  }
}

/** XGBoost's factor between the bins asked for and the summary size its sketch keeps. */
const FACTOR = 8;

/**
 * The sketch's size limit for n values: XGBoost's LimitSizeLevel with eps = 1 / (bins · 8),
 * the smallest number of levels whose summaries together could hold every value.
 */
function limitSize(n: number, maxBin: number): number {
  const eps = 1 / Math.fround(Math.max(1, Math.min(maxBin, n)) * FACTOR);
  for (let levels = 1; ; levels++) {
    const limit = Math.min(n, Math.ceil(levels / eps) + 1);
    if (2 ** levels * limit >= n) return limit;
  }
}

/** The summaries computeCuts reuses from one feature to the next, so that they are allocated once. */
export class SketchSpace {
  readonly temp = new Summary();
  readonly out = new Summary();
  readonly levels: Summary[] = [];
  readonly reduced = new Summary();
  readonly final = new Summary();
}

/**
 * The cut values XGBoost 1.7's `hist` takes for a numeric feature from its n non-missing values
 * `column[0, n)` in row order (the column is reordered in place), without the last cut above
 * the maximum. `sort` sorts values [from, to) of a column in place.
 */
export function sketchCuts(
  column: Float32Array,
  n: number,
  maxBin: number,
  sort: (a: Float32Array, from: number, to: number) => void,
  space = new SketchSpace(),
  weighted?: { weights: Float32Array; present: number },
): { cuts: number[]; max: number } {
  if (n === 0) return { cuts: [], max: 0 };
  // Sizes follow every present value, zero weights included, as XGBoost counts its columns.
  const present = weighted?.present ?? n;
  const limit = limitSize(present, maxBin);
  // The input queue holds 2·limit entries; a value equal to the one before it adds to that entry's
  // weight instead of taking one, so a chunk ends after 2·limit runs of equal neighbours.
  const queueSize = limit * 2;
  const { temp, levels } = space;
  for (const level of levels) level.size = 0;
  let pushed = false;
  let start = 0;
  for (let end = chunkEnd(column, 0, n, queueSize); end < n; end = chunkEnd(column, start, n, queueSize)) {
    chunkSummary(temp, column, start, end, queueSize, sort, weighted?.weights);
    pushTemp(levels, temp, limit);
    pushed = true;
    start = end;
  }
  let out = space.out;
  chunkSummary(out, column, start, n, queueSize, sort, weighted?.weights);
  if (pushed) {
    const level0 = levels[0];
    level0.setPrune(out, limit);
    for (let l = 1; l < levels.length; l++) {
      if (levels[l].size === 0) continue;
      if (level0.size === 0) level0.copyFrom(levels[l]);
      else {
        out.setCombine(level0, levels[l]);
        level0.setPrune(out, limit);
      }
    }
    out = level0;
  } else if (out.size > limit) {
    temp.setPrune(out, limit);
    out = temp;
  }
  // What one worker hands to the all-reduce, then the final prune to bins + 1 entries, the
  // first of which (the minimum) is no cut.
  const intermediate = Math.min(present, maxBin * FACTOR);
  const { reduced, final } = space;
  reduced.setPrune(out, intermediate);
  const bins = Math.min(intermediate, maxBin);
  final.setPrune(reduced, bins + 1);
  const cuts: number[] = [];
  for (let i = 1; i < Math.min(final.size, bins); i++) cuts.push(final.value[i]);
  return { cuts, max: final.value[final.size - 1] };
}

/**
 * Where the chunk of the input queue from `start` ends: before the run of equal neighbours past
 * the first `size`, or at n. A function of its own, so that this loop is what is compiled, not
 * sketchCuts with every summary step it calls inlined.
 */
function chunkEnd(column: Float32Array, start: number, n: number, size: number): number {
  let entries = 0;
  for (let i = start; i < n; i++) {
    if (entries > 0 && column[i] === column[i - 1]) continue;
    if (entries === size) return i;
    entries++;
  }
  return n;
}

/** The summary of one chunk of the input queue, column[from, to): sorted in place when unweighted. */
function chunkSummary(into: Summary, column: Float32Array, from: number, to: number, distinct: number, sort: (a: Float32Array, from: number, to: number) => void, weights?: Float32Array): void {
  if (weights) into.setWeighted(column, weights, from, to, distinct);
  else {
    sort(column, from, to);
    into.setSorted(column, from, to, distinct);
  }
}

/** Level l ≥ 1 holds a summary of 2^(l-1) chunks; a chunk's summary climbs while merging overflows. */
function pushTemp(levels: Summary[], temp: Summary, limit: number): void {
  if (levels.length === 0) levels.push(new Summary());
  for (let l = 1; ; l++) {
    if (levels.length <= l) levels.push(new Summary());
    if (levels[l].size === 0) {
      levels[l].setPrune(temp, limit);
      return;
    }
    levels[0].setPrune(temp, limit);
    temp.setCombine(levels[0], levels[l]);
    if (temp.size > limit) levels[l].size = 0;
    else {
      levels[l].copyFrom(temp);
      return;
    }
  }
}
