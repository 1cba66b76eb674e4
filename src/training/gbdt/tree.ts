/**
 * Grows one regression tree on gradient statistics with histograms: each node's histogram sums
 * gradients and hessians per bin of each feature; a node's children get one histogram built
 * from the rows of the smaller child and the other by subtraction from the parent's. Nodes are
 * expanded depth by depth (depthwise) or best loss reduction first (lossguide), as XGBoost's
 * `hist` driver does, with XGBoost's gain, weight and validity rules.
 */
import type { BinCuts, BinnedMatrix } from './binning.js';
import { sharedArray } from '../../core/shared-array.js';
import type { HistThreads } from './hist-threads.js';
import { addIndexedRowsToHist, addRowsToHist, addSplitLeaves, countLeft, featureMajor, partitionIndexed, partitionRows, type NodeRows } from './histogram.js';
import { FitKernels } from './kernels.js';
import type { GbdtParams } from './params.js';

/**
 * Training bins up to this size are read where they are, through row indices, when one thread
 * grows the trees: they stay in cache, so the gathers cost less than moving rows at every
 * partition (which loans-sized data paid for).
 */
const INDEXED_MAX_BYTES = 4 << 20;

/** The entry of TreeGrower's `node` over the training bins, when there is one. */
const ROOT = 2;

/** XGBoost's kRtEps: a split must reduce the loss by more than this. */
const RT_EPS = 1e-6;

export interface Tree {
  left: number[];
  right: number[];
  parent: number[];
  splitIndex: number[];
  /** Global bin index b of a split: rows with bin ≤ b go left. */
  splitBin: number[];
  /** The float32 threshold (x < threshold goes left) of a split; the leaf value of a leaf. */
  splitCondition: number[];
  defaultLeft: boolean[];
  lossChange: number[];
  sumHessian: number[];
  /** η·weight of every node (XGBoost's base_weights). */
  baseWeight: number[];
  /** 0 for a numeric split or leaf, 1 for a categorical split. */
  splitType: number[];
  /** The categories a categorical split sends right, ascending; the rest (and unseen ones) go left. */
  categories: Map<number, number[]>;
  /** A categorical split's direction per global bin (1 = right), the missing slot included. */
  rightBins: Map<number, Uint8Array>;
}

/** Where a grown tree's leaf values go: margins[r·k + group] of each row r it was grown on. */
export interface LeafMargins {
  margins: Float64Array;
  k: number;
  group: number;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
  gl: number;
  hl: number;
  /** A categorical split's direction per global bin (1 = right). */
  rightBins?: Uint8Array;
}

interface Entry {
  nid: number;
  depth: number;
  begin: number;
  end: number;
  g: number;
  h: number;
  hist: Float64Array;
  split: Split | undefined;
}

function thresholdL1(g: number, alpha: number): number {
  if (g > alpha) return g - alpha;
  if (g < -alpha) return g + alpha;
  return 0;
}

export function leafWeight(p: GbdtParams, g: number, h: number): number {
  // XGBoost holds its parameters as float.
  if (h < Math.fround(p.min_child_weight) || h <= 0) return 0;
  let w = -thresholdL1(g, Math.fround(p.alpha)) / (h + Math.fround(p.lambda));
  if (p.max_delta_step !== 0 && Math.abs(w) > p.max_delta_step) w = Math.sign(w) * p.max_delta_step;
  return w;
}

/**
 * One side's gain as XGBoost 1.7's split evaluator computes it, in float: g²/(h + λ) (g past the
 * L1 threshold), or from the capped weight when max_delta_step is set. Gains are compared as
 * floats there, so candidates that split the same rows tie exactly and the tie rule decides.
 */
function sideGain(p: GbdtParams, g: number, h: number): number {
  const f = Math.fround;
  if (h <= 0) return 0;
  if (p.max_delta_step === 0) {
    const t = thresholdL1(g, f(p.alpha));
    return f(f(t * t) / f(h + f(p.lambda)));
  }
  const w = f(leafWeight(p, g, h));
  return f(-f(f(f(2 * f(g)) * w) + f(f(f(h) + f(p.lambda)) * f(w * w))));
}

/** The float loss reduction of sending (gl, hl) left and (gr, hr) right from a node whose own gain is rootGain, or -Infinity when a side is lighter than min_child_weight. */
function splitGain(p: GbdtParams, gl: number, hl: number, gr: number, hr: number, rootGain: number): number {
  const mcw = Math.fround(p.min_child_weight);
  if (!(hl >= mcw && hr >= mcw)) return -Infinity;
  return Math.fround(Math.fround(sideGain(p, gl, hl) + sideGain(p, gr, hr)) - rootGain);
}

/**
 * A numeric feature's best split that beats `floor`, the node's best gain over the features before
 * it (they ascend, so a tie keeps the lower feature), into `out`: gain, bin, 1 when missing values
 * go left, the left side's gradient and hessian sums, and the sides' float gains summed before the
 * root's is taken off (-Infinity when unknown, as `floorSum` may be). Scanned as XGBoost 1.7 does:
 * upwards with missing values right, the last bin included (every value left, the missing right),
 * then, when the node has missing values, downwards with them left; a candidate must beat the best
 * so far strictly. Answers whether any candidate beat the floor.
 */
export function scanFeature(hist: Float64Array, lo: number, hi: number, G: number, H: number, rootGain: number, p: GbdtParams, floor: number, floorSum: number, out: Float64Array): boolean {
  // XGBoost holds its parameters as float.
  const mcw = Math.fround(p.min_child_weight);
  const plain = p.max_delta_step === 0 && p.alpha === 0;
  const lambda = Math.fround(p.lambda);
  // Each side's divisor h + λ is then at least mcw + λ; from 1e-30 on it is a normal float, whose
  // rounding is relative, as sumLimit needs.
  const bounded = plain && mcw + lambda >= 1e-30;
  let best = floor;
  let limit = bounded ? sumLimit(floorSum) : -Infinity;
  let gl = 0;
  let hl = 0;
  for (let b = lo; b < hi; b++) {
    gl += hist[b << 1];
    hl += hist[(b << 1) + 1];
    const hr = H - hl;
    if (!(hl >= mcw && hr >= mcw)) continue;
    const gr = G - gl;
    if (below(gl, hl, gr, hr, lambda, limit)) continue;
    const sum = plain ? plainSum(gl, hl, gr, hr, lambda) : -Infinity;
    const gain = plain ? Math.fround(sum - rootGain) : splitGain(p, gl, hl, gr, hr, rootGain);
    if (gain > best) {
      best = answer(out, gain, b, 0, gl, hl, sum);
      if (bounded) limit = sumLimit(sum);
    }
  }
  // After the last bin the sums are the node's present values: the rest is missing.
  if (!(H - hl > 1e-10 * Math.max(1, H))) return best > floor;
  // Downwards, bins ≥ b go right; the left side (missing values and bins < b) splits at b - 1.
  let gr = 0;
  let hr = 0;
  for (let b = hi - 1; b > lo; b--) {
    gr += hist[b << 1];
    hr += hist[(b << 1) + 1];
    const h = H - hr;
    if (!(h >= mcw && hr >= mcw)) continue;
    const g = G - gr;
    if (below(g, h, gr, hr, lambda, limit)) continue;
    const sum = plain ? plainSum(g, h, gr, hr, lambda) : -Infinity;
    const gain = plain ? Math.fround(sum - rootGain) : splitGain(p, g, h, gr, hr, rootGain);
    if (gain > best) {
      best = answer(out, gain, b - 1, 1, g, h, sum);
      if (bounded) limit = sumLimit(sum);
    }
  }
  return best > floor;
}

/**
 * The bound under which a plain candidate's exact side gains gl²/(hl + λ) + gr²/(hr + λ) cannot
 * round to more than `sum`, a best candidate's float sum: plainSum's five float roundings move it
 * by less than 3·10⁻⁷ of itself, so 10⁻⁶ below cannot reach it. Below 10⁻⁶, where a tiny side gain
 * rounds to a float whose error is no longer relative, there is no bound (-Infinity).
 */
function sumLimit(sum: number): number {
  return sum >= 1e-6 ? sum * (1 - 1e-6) : -Infinity;
}

/**
 * Whether a candidate's exact side gains fall under `limit` (see sumLimit), told without dividing:
 * the divisions of plainSum were most of a scan, and most candidates fall short of the best. Never
 * when a squared side sum overflows float, which makes plainSum infinite however small the gain.
 */
function below(gl: number, hl: number, gr: number, hr: number, lambda: number, limit: number): boolean {
  const gl2 = gl * gl;
  const gr2 = gr * gr;
  const dl = hl + lambda;
  const dr = hr + lambda;
  return gl2 < 3.4e38 && gr2 < 3.4e38 && gl2 * dr + gr2 * dl < limit * dl * dr;
}

/** Each side's g²/(h + λ) in float, summed in float (splitGain without L1 or a step cap, before the root's gain is taken off); a side without hessian gains nothing. */
function plainSum(gl: number, hl: number, gr: number, hr: number, lambda: number): number {
  const f = Math.fround;
  return f((hl > 0 ? f(f(gl * gl) / f(hl + lambda)) : 0) + (hr > 0 ? f(f(gr * gr) / f(hr + lambda)) : 0));
}

/** Writes scanFeature's answer and returns its gain. */
function answer(out: Float64Array, gain: number, bin: number, defaultLeft: number, gl: number, hl: number, sum: number): number {
  out[0] = gain;
  out[1] = bin;
  out[2] = defaultLeft;
  out[3] = gl;
  out[4] = hl;
  out[5] = sum;
  return gain;
}

// The loops of a tree's growth that run once per row or bin are functions of their own: inside
// grow they ran unoptimised, boxing every number they touched, until grow as a whole was
// compiled, and again after each of its deoptimisations.

/**
 * Writes the gradient and hessian of each of `rows` into `gh`, at the row's index when `indexed`
 * (its bins stay where they are), else at its position (as its bins); their sums, in row order,
 * into sums[0] and sums[1].
 */
function loadGradients(rows: Uint32Array, grad: Float64Array, hess: Float64Array, gh: Float64Array, indexed: boolean, sums: Float64Array): void {
  let G = 0;
  let H = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const g = grad[r];
    const h = hess[r];
    const at = indexed ? r : i;
    gh[at << 1] = g;
    gh[(at << 1) + 1] = h;
    G += g;
    H += h;
  }
  sums[0] = G;
  sums[1] = H;
}

/** Copies the bins of each of `rows` (`nf` a row) to its position in `nodeBins` (`stride` a row). */
function copyRowBins(rows: Uint32Array, bins: Uint16Array | Uint32Array, nf: number, nodeBins: Uint16Array | Uint32Array, stride: number): void {
  for (let i = 0; i < rows.length; i++) {
    const from = rows[i] * nf;
    for (let f = 0; f < nf; f++) nodeBins[i * stride + f] = bins[from + f];
  }
}

/** Histograms are (gradient, hessian) pairs: a pair a step, half the loop's own instructions. */
function subtractHist(large: Float64Array, small: Float64Array): void {
  for (let i = 0, n = large.length; i < n; i += 2) {
    large[i] -= small[i];
    large[i + 1] -= small[i + 1];
  }
}

/**
 * Removes and answers the queued node expanded next: the largest gain first (lossguide), else
 * the shallowest; ties to the lower node id.
 */
function takeNext(queue: Entry[], lossguide: boolean): Entry {
  let bi = 0;
  for (let i = 1; i < queue.length; i++) {
    const a = queue[i];
    const b = queue[bi];
    const first = lossguide ? a.split!.gain > b.split!.gain || (a.split!.gain === b.split!.gain && a.nid < b.nid) : a.depth < b.depth || (a.depth === b.depth && a.nid < b.nid);
    if (first) bi = i;
  }
  const e = queue[bi];
  queue[bi] = queue[queue.length - 1];
  queue.pop();
  return e;
}

export class TreeGrower {
  /**
   * The grown rows with their bins and gradients in node order, so each node's rows lie together
   * and its histogram reads them front to back: the root's in the first copy, and a node's
   * children in the other copy from the node's, hence a node at depth d in copy d mod 2. Shared
   * with a helper thread. Bins are moved as 8-byte words: they stay below 0x7ff0 per 16 bits, so
   * no word is a NaN whose bits a copy could change. When the training bins are in shared memory
   * with no padding, a third entry (ROOT) is the first copy's rows and gradients over the training
   * bins themselves: a tree over all rows reads its root's bins there instead of copying them all
   * into the first copy (40 MB a tree at a million rows of 20 features).
   */
  readonly node: NodeRows[];
  /** Slots a row of bins takes in `node`, and the 8-byte words they make. */
  readonly stride: number;
  private readonly rowWords: number;
  /**
   * Whether rows stay where they are in the training bins, a partition moving only their indices
   * (and gh is by row index): for data that stays in cache, and never with a helper thread.
   */
  private readonly indexed: boolean;
  /** Indexed, the inner loops in WebAssembly (histograms, subtraction, partitions, plain scans), whose memory holds node[0]'s rows and gh (see FitKernels). */
  private readonly kernels: FitKernels | undefined;
  /** Indexed, the training bins feature by feature, which partitions read (made at the first). */
  private columns: Uint16Array | Uint32Array | undefined;
  /** Indexed, the directions of a numeric split's bins (see directions), refilled at each split. */
  private numericRight: Uint8Array | undefined;
  /** addSplitLeaves' left and right leaf values. */
  private readonly leaves = new Float64Array(2);
  /** A second thread for large nodes' histograms and partitions (see useThreads). */
  private threads: HistThreads | undefined;
  /** Histograms no node holds any more, reused so a round allocates none. */
  private readonly free: Float64Array[] = [];
  /** The [begin, end) of each node's rows in the last grown tree, and the copy of `node` holding them. */
  private nodeBegin: number[] = [];
  private nodeEnd: number[] = [];
  private nodeCopy: number[] = [];
  /** Where loadGradients answers the sums of a tree's gradients and hessians. */
  private readonly sums = new Float64Array(2);
  /** scanFeature's answer: gain, bin, default left, left gradient and hessian sums, side gains summed. */
  private readonly scan: Float64Array;
  readonly totalBins: number;

  /** `threaded`: the grower will work with a helper thread (see useThreads). */
  constructor(
    private readonly data: BinnedMatrix,
    private readonly cuts: BinCuts,
    private readonly params: GbdtParams,
    threaded = false,
  ) {
    const n = data.rows;
    const wide = data.bins instanceof Uint32Array;
    const perWord = wide ? 2 : 4;
    this.stride = Math.ceil(data.numFeature / perWord) * perWord;
    this.rowWords = this.stride / perWord;
    const copy = (): NodeRows => {
      const bins = wide ? sharedArray(Uint32Array, n * this.stride) : sharedArray(Uint16Array, n * this.stride);
      return { rows: sharedArray(Uint32Array, n), bins, binWords: new Float64Array(bins.buffer, 0, n * this.rowWords), gh: sharedArray(Float64Array, n * 2) };
    };
    this.node = [copy(), copy()];
    const { bins } = data;
    if (bins.buffer instanceof SharedArrayBuffer && this.stride === data.numFeature && bins.byteOffset % 8 === 0) {
      this.node.push({ ...this.node[0], bins, binWords: new Float64Array(bins.buffer, bins.byteOffset, n * this.rowWords) });
    }
    this.indexed = !threaded && n * data.numFeature * data.bins.BYTES_PER_ELEMENT <= INDEXED_MAX_BYTES;
    this.totalBins = cuts.offsets[data.numFeature];
    this.kernels = this.indexed ? FitKernels.create(bins, n, data.numFeature, (this.totalBins + 1) * 2) : undefined;
    if (this.kernels) this.node[0] = { ...this.node[0], rows: this.kernels.rows, gh: this.kernels.gh };
    this.scan = this.kernels?.scanned ?? new Float64Array(6);
  }

  /** One slot per bin plus the missing slot, as (gradient, hessian) pairs. */
  private takeHist(): Float64Array {
    const h = this.free.pop();
    if (h) return h.fill(0);
    return this.kernels?.takeHist() ?? new Float64Array((this.totalBins + 1) * 2);
  }

  /**
   * Builds the histograms and partitions of large nodes with `threads` too, which must work on
   * this grower's `node` and `stride`; the grower must have been made `threaded`.
   */
  useThreads(threads: HistThreads): void {
    if (this.indexed) throw new Error('a grower made for one thread was given a helper thread');
    this.threads = threads;
  }

  /** The histogram of rows [begin, end) of node copy `copy`. */
  private buildHist(hist: Float64Array, copy: number, begin: number, end: number, features: Int32Array): void {
    const threads = this.threads;
    if (threads?.worth(end - begin, features.length)) {
      const half = features.length >> 1;
      threads.post(copy, begin, end, features.subarray(half));
      this.buildHistOf(hist, copy, begin, end, features.subarray(0, half));
      threads.collect(hist, features.subarray(half));
      return;
    }
    this.buildHistOf(hist, copy, begin, end, features);
  }

  private buildHistOf(hist: Float64Array, copy: number, begin: number, end: number, features: Int32Array): void {
    if (this.indexed) {
      const { bins, numFeature, rows } = this.data;
      // Every row is the root of a tree over all rows, before any partition: rows 0..n-1 in
      // order, whose bins and gradients are read front to back without their indices.
      if (this.kernels?.build(hist, begin, end, features, features.length, end - begin === rows)) return;
      if (end - begin === rows) addRowsToHist(hist, bins, numFeature, this.node[0].gh, 0, rows, features, features.length);
      else addIndexedRowsToHist(hist, bins, numFeature, this.node[0].gh, this.node[copy].rows, begin, end, features, features.length);
      return;
    }
    const { bins, gh } = this.node[copy];
    addRowsToHist(hist, bins, this.stride, gh, begin, end, features, features.length);
  }

  /**
   * The node's best split in XGBoost 1.7's order: features ascending, each scanned upwards with
   * missing values sent right (the last bin too: every value left, the missing right), then, when
   * the node has missing values, downwards with them sent left. A candidate replaces the best only
   * on a strictly larger gain, so ties go to the lower feature, then to the upward scan.
   */
  private bestSplit(hist: Float64Array, G: number, H: number, features: Int32Array): Split | undefined {
    const p = this.params;
    const { offsets, categorical } = this.cuts;
    const rootGain = sideGain(p, G, H);
    const scan = this.scan;
    let best: Split | undefined;
    // The best candidate's float side gains summed, where scanFeature knows them.
    let bestSum = -Infinity;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const floor = best?.gain ?? -Infinity;
      if (categorical[f]) {
        const candidate = this.categoricalSplit(hist, G, H, f, rootGain);
        // Ties go to the lower feature.
        if (candidate && candidate.gain > floor) {
          best = candidate;
          bestSum = -Infinity;
        }
      } else if (this.scanFeature(hist, offsets[f], offsets[f + 1], G, H, rootGain, floor, bestSum)) {
        best = { gain: scan[0], feature: f, bin: scan[1], defaultLeft: scan[2] === 1, gl: scan[3], hl: scan[4] };
        bestSum = scan[5];
      }
    }
    return best;
  }

  /** scanFeature into `scan`, in WebAssembly for a plain split of a histogram the kernels hold. */
  private scanFeature(hist: Float64Array, lo: number, hi: number, G: number, H: number, rootGain: number, floor: number, floorSum: number): boolean {
    const p = this.params;
    if (this.kernels && p.max_delta_step === 0 && p.alpha === 0) {
      const found = this.kernels.scanPlain(hist, lo, hi, G, H, rootGain, Math.fround(p.min_child_weight), Math.fround(p.lambda), floor, floorSum);
      if (found !== undefined) return found;
    }
    return scanFeature(hist, lo, hi, G, H, rootGain, p, floor, floorSum, this.scan);
  }

  /**
   * The best set of categories to send right, as XGBoost 1.7's hist evaluator looks for it: with
   * fewer categories than max_cat_to_onehot, one category against the rest; otherwise the
   * categories present in the node sorted by their leaf weight, cut in two where the gain is
   * largest, the side sent right holding at most max_cat_threshold categories. Missing values
   * try both sides.
   */
  private categoricalSplit(hist: Float64Array, G: number, H: number, f: number, rootGain: number): Split | undefined {
    const p = this.params;
    const lo = this.cuts.offsets[f];
    let sg = 0;
    let sh = 0;
    for (let b = lo; b < this.cuts.offsets[f + 1]; b++) {
      sg += hist[b << 1];
      sh += hist[(b << 1) + 1];
    }
    const mg = G - sg;
    const mh = H - sh;
    const hasMissing = mh > 1e-10 * Math.max(1, H);
    // The last bin holds categories training never saw: never present here.
    const seen = this.cuts.offsets[f + 1] - lo - 1;
    const present: number[] = [];
    for (let c = 0; c < seen; c++) if (hist[((lo + c) << 1) + 1] > 0) present.push(c);
    if (present.length < 2) return undefined;
    const oneHot = seen < p.max_cat_to_onehot;
    const weight = (c: number) => -hist[(lo + c) << 1] / (hist[((lo + c) << 1) + 1] + p.lambda);
    const order = oneHot ? present : present.sort((a, b) => weight(a) - weight(b));
    let best: { gain: number; from: number; to: number; defaultLeft: boolean; gl: number; hl: number } | undefined;
    // The right set is order[from, to); the left side is everything else.
    const consider = (from: number, to: number, gs: number, hs: number) => {
      if (to - from > p.max_cat_threshold) return;
      for (const missingLeft of hasMissing ? [false, true] : [false]) {
        const gl = G - gs - (missingLeft ? 0 : mg);
        const hl = H - hs - (missingLeft ? 0 : mh);
        const gain = splitGain(p, gl, hl, G - gl, H - hl, rootGain);
        if (gain > (best?.gain ?? -Infinity)) best = { gain, from, to, defaultLeft: missingLeft, gl, hl };
      }
    };
    if (oneHot) {
      for (let i = 0; i < order.length; i++) consider(i, i + 1, hist[(lo + order[i]) << 1], hist[((lo + order[i]) << 1) + 1]);
    } else {
      const total = order.reduce((a, c) => a + hist[(lo + c) << 1], 0);
      const totalH = order.reduce((a, c) => a + hist[((lo + c) << 1) + 1], 0);
      let gs = 0;
      let hs = 0;
      for (let k = 1; k < order.length; k++) {
        gs += hist[(lo + order[k - 1]) << 1];
        hs += hist[((lo + order[k - 1]) << 1) + 1];
        // The same cut with either side sent right: the smaller side fits max_cat_threshold sooner.
        if (k <= order.length - k) consider(0, k, gs, hs);
        else consider(k, order.length, total - gs, totalH - hs);
      }
    }
    if (!best) return undefined;
    const rightBins = new Uint8Array(this.data.missing + 1);
    for (let i = best.from; i < best.to; i++) rightBins[lo + order[i]] = 1;
    rightBins[this.data.missing] = best.defaultLeft ? 0 : 1;
    return { gain: best.gain, feature: f, bin: -1, defaultLeft: best.defaultLeft, gl: best.gl, hl: best.hl, rightBins };
  }

  /** Indexed, a feature's bins of every training row, row by row. */
  private column(feature: number): Uint16Array | Uint32Array {
    const n = this.data.rows;
    this.columns ??= this.kernels?.columns ?? featureMajor(this.data.bins, n, this.data.numFeature);
    return this.columns.subarray(feature * n, (feature + 1) * n);
  }

  /**
   * Indexed, the direction of every bin under the split (1 = right, the missing slot included): a
   * categorical split's own, or a numeric split's bins above its bin and below its edge.
   */
  private directions(split: Split): Uint8Array {
    if (split.rightBins) return split.rightBins;
    const right = (this.numericRight ??= new Uint8Array(this.data.missing + 1));
    right.fill(0);
    right.fill(1, split.bin + 1, this.edgeOf(split));
    return right;
  }

  /** The bin from which a numeric split sends rows left again: the missing index when missing values go left, else past it. */
  private edgeOf(split: Split): number {
    return split.defaultLeft ? this.data.missing : this.data.missing + 1;
  }

  /**
   * Copies the rows of [begin, end) of node copy `copy` to the other copy, those going left
   * first, keeping their order, with their bins (unless `withBins` is false: no histogram will
   * read them) and gradients; answers where the right part starts. A large node's second half is
   * counted and copied by the helper thread meanwhile. Indexed, only the row indices move, in
   * place (the other copy's rows the scratch).
   */
  private partition(copy: number, begin: number, end: number, split: Split, withBins: boolean): number {
    const { stride } = this;
    const src = this.node[copy];
    // The root's copy (ROOT) partitions into copy 1, as copy 0 would.
    const dst = this.node[(copy & 1) ^ 1];
    const words = withBins ? this.rowWords : 0;
    const { feature, bin, rightBins } = split;
    const edge = this.edgeOf(split);
    if (this.indexed) {
      if (this.kernels) return this.kernels.partition(begin, end, feature, this.directions(split));
      const mid = partitionIndexed(src.rows, dst.rows, this.column(feature), begin, end, this.directions(split));
      src.rows.set(dst.rows.subarray(0, end - mid), mid);
      return mid;
    }
    const threads = this.threads;
    const half = threads?.worthPartition(end - begin) ? begin + ((end - begin) >> 1) : end;
    if (half < end) threads!.postPartition(copy, words, begin, half, end, feature, bin, edge, rightBins);
    const la = countLeft(src, stride, begin, half, feature, bin, edge, rightBins);
    const mid = begin + la + (half < end ? threads!.exchangeCounts(la) : 0);
    partitionRows(src, dst, stride, words, begin, half, begin, mid, feature, bin, edge, rightBins);
    if (half < end) threads!.wait();
    return mid;
  }

  /** Appends a leaf (its value and statistics; a split later fills in the rest) and answers its id. */
  private addNode(tree: Tree, parent: number, g: number, h: number, begin: number, end: number, copy: number): number {
    const p = this.params;
    const w = leafWeight(p, g, h);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.parent.push(parent);
    tree.splitIndex.push(0);
    tree.splitBin.push(0);
    tree.splitCondition.push(Math.fround(Math.fround(p.eta) * Math.fround(w)));
    tree.defaultLeft.push(false);
    tree.lossChange.push(0);
    tree.sumHessian.push(h);
    tree.baseWeight.push(tree.splitCondition[tree.splitCondition.length - 1]);
    tree.splitType.push(0);
    this.nodeBegin.push(begin);
    this.nodeEnd.push(end);
    this.nodeCopy.push(copy);
    return tree.left.length - 1;
  }

  /** Whether the node's best split is taken: it gains enough and the node is above the depth limit. */
  private expandable(e: Entry): boolean {
    const p = this.params;
    return e.split !== undefined && e.split.gain > RT_EPS && e.split.gain >= p.gamma && (p.max_depth === 0 || e.depth < p.max_depth);
  }

  /** Finds the node's best split and queues the node if it is expandable; else its histogram is free again. */
  private consider(e: Entry, features: Int32Array, queue: Entry[]): void {
    e.split = this.bestSplit(e.hist, e.g, e.h, features);
    if (this.expandable(e)) queue.push(e);
    else this.free.push(e.hist);
  }

  /**
   * Grows a tree over `rows` (the sampled rows, ascending, written from the start of this
   * grower's node[0].rows) with the gradient of one output group, considering
   * only `features`. Given `leavesTo`, adds the tree's leaf values to margins[r·k + group] of
   * the rows it was grown on, from where the partitions leave them, without walking the tree.
   */
  grow(rows: Uint32Array, grad: Float64Array, hess: Float64Array, features: Int32Array, leavesTo?: LeafMargins): Tree {
    if (rows.buffer !== this.node[0].rows.buffer || rows.byteOffset !== 0) throw new Error('grow takes its rows in the grower\'s node[0].rows, from the start');
    const p = this.params;
    const tree: Tree = {
      left: [],
      right: [],
      parent: [],
      splitIndex: [],
      splitBin: [],
      splitCondition: [],
      defaultLeft: [],
      lossChange: [],
      sumHessian: [],
      baseWeight: [],
      splitType: [],
      categories: new Map(),
      rightBins: new Map(),
    };
    this.nodeBegin = [];
    this.nodeEnd = [];
    this.nodeCopy = [];
    const { gh, bins: nodeBins } = this.node[0];
    const { bins, numFeature: nf } = this.data;
    loadGradients(rows, grad, hess, gh, this.indexed, this.sums);
    const G = this.sums[0];
    const H = this.sums[1];
    // Indexed, the bins stay where they are; all rows (rows 0..n-1 in order) are read in the
    // training bins when they are a copy (ROOT), else copied in one piece when not padded.
    const all = rows.length === this.data.rows;
    const rootCopy = !this.indexed && all && this.node.length > ROOT ? ROOT : 0;
    if (!this.indexed && rootCopy === 0) {
      if (this.stride === nf && all) nodeBins.set(bins);
      else copyRowBins(rows, bins, nf, nodeBins, this.stride);
    }
    const rootHist = this.takeHist();
    this.buildHist(rootHist, rootCopy, 0, rows.length, features);
    const queue: Entry[] = [];
    this.consider({ nid: this.addNode(tree, 2147483647, G, H, 0, rows.length, 0), depth: 0, begin: 0, end: rows.length, g: G, h: H, hist: rootHist, split: undefined }, features, queue);
    const lossguide = p.grow_policy === 'lossguide';
    let leaves = 1;
    while (queue.length > 0 && (p.max_leaves === 0 || leaves < p.max_leaves)) {
      const e = takeNext(queue, lossguide);
      const s = e.split!;
      const depth = e.depth + 1;
      const leafChildren = p.max_depth !== 0 && depth >= p.max_depth;
      // Indexed, rows are partitioned in place: every node's are in the first copy.
      const copy = this.indexed ? 0 : e.depth === 0 ? rootCopy : e.depth & 1;
      const childCopy = this.indexed ? 0 : (e.depth & 1) ^ 1;
      // Indexed, leaf children's rows get their values as they are sent left or right instead
      // of being partitioned first: the children are left with no rows to add them to.
      const direct = leafChildren && this.indexed && leavesTo !== undefined;
      const mid = direct ? e.begin : this.partition(copy, e.begin, e.end, s, !leafChildren);
      const gr = e.g - s.gl;
      const hr = e.h - s.hl;
      const nid = e.nid;
      const ln = this.addNode(tree, nid, s.gl, s.hl, e.begin, mid, childCopy);
      const rn = this.addNode(tree, nid, gr, hr, mid, direct ? mid : e.end, childCopy);
      if (direct) {
        const { margins, k, group } = leavesTo;
        const leaves = this.leaves;
        leaves[0] = tree.splitCondition[ln];
        leaves[1] = tree.splitCondition[rn];
        addSplitLeaves(this.node[0].rows, this.column(s.feature), e.begin, e.end, this.directions(s), margins, k, group, leaves);
      }
      tree.left[nid] = ln;
      tree.right[nid] = rn;
      tree.splitIndex[nid] = s.feature;
      tree.splitBin[nid] = s.bin;
      if (s.rightBins) {
        // XGBoost writes NaN as a categorical split's condition.
        tree.splitCondition[nid] = NaN;
        tree.splitType[nid] = 1;
        tree.rightBins.set(nid, s.rightBins);
        const categories: number[] = [];
        for (let b = this.cuts.offsets[s.feature]; b < this.cuts.offsets[s.feature + 1]; b++) if (s.rightBins[b] === 1) categories.push(this.cuts.values[b]);
        tree.categories.set(nid, categories);
      } else tree.splitCondition[nid] = this.cuts.values[s.bin];
      // A split node keeps its weight before the learning rate, as XGBoost writes it.
      tree.baseWeight[nid] = Math.fround(leafWeight(p, e.g, e.h));
      tree.defaultLeft[nid] = s.defaultLeft;
      tree.lossChange[nid] = s.gain;
      leaves++;
      if (leafChildren) {
        this.free.push(e.hist);
        continue;
      }
      // The smaller child's histogram is built; the larger one's is the parent's minus it.
      const leftSmaller = mid - e.begin <= e.end - mid;
      const small = this.takeHist();
      if (leftSmaller) this.buildHist(small, childCopy, e.begin, mid, features);
      else this.buildHist(small, childCopy, mid, e.end, features);
      const large = e.hist;
      if (!this.kernels?.subtract(large, small)) subtractHist(large, small);
      this.consider({ nid: ln, depth, begin: e.begin, end: mid, g: s.gl, h: s.hl, hist: leftSmaller ? small : large, split: undefined }, features, queue);
      this.consider({ nid: rn, depth, begin: mid, end: e.end, g: gr, h: hr, hist: leftSmaller ? large : small, split: undefined }, features, queue);
    }
    for (let i = 0; i < queue.length; i++) this.free.push(queue[i].hist);
    if (leavesTo) this.addToGrownRows(tree, leavesTo);
    return tree;
  }

  /**
   * Adds the tree's leaf values to the margins of the rows the partitions left in its leaves.
   * With a helper thread that holds these margins, it adds the leaves of the second half of the rows.
   */
  private addToGrownRows(tree: Tree, { margins, k, group }: LeafMargins): void {
    const { left, splitCondition } = tree;
    let leaves: number[] = [];
    for (let nid = 0; nid < left.length; nid++) if (left[nid] === -1) leaves.push(nid);
    const threads = this.threads;
    if (threads?.worthPartition(this.nodeEnd[0])) {
      const half = this.nodeEnd[0] >> 1;
      const helper: number[] = [];
      for (const nid of leaves) if (this.nodeBegin[nid] >= half) helper.push(this.nodeCopy[nid], this.nodeBegin[nid], this.nodeEnd[nid], splitCondition[nid]);
      if (threads.postLeaves(margins, helper)) {
        leaves = leaves.filter((nid) => this.nodeBegin[nid] < half);
        this.addLeaves(leaves, splitCondition, margins, k, group);
        threads.wait();
        return;
      }
    }
    this.addLeaves(leaves, splitCondition, margins, k, group);
  }

  private addLeaves(leaves: number[], value: number[], margins: Float64Array, k: number, group: number): void {
    for (const nid of leaves) {
      const v = value[nid];
      const rows = this.node[this.nodeCopy[nid]].rows;
      for (let i = this.nodeBegin[nid], end = this.nodeEnd[nid]; i < end; i++) margins[rows[i] * k + group] = Math.fround(margins[rows[i] * k + group] + v);
    }
  }
}

/** Adds the tree's leaf value to margins[r·k + group] of every row, following bins. */
export function addTreeBinned(tree: Tree, data: BinnedMatrix, margins: Float64Array, k: number, group: number): void {
  const { bins, numFeature, rows, missing } = data;
  const { left, right, splitIndex, splitBin, defaultLeft, splitCondition, splitType, rightBins } = tree;
  for (let r = 0; r < rows; r++) {
    let nid = 0;
    const base = r * numFeature;
    while (left[nid] !== -1) {
      const b = bins[base + splitIndex[nid]];
      if (splitType[nid] === 1) {
        nid = rightBins.get(nid)![b] === 1 ? right[nid] : left[nid];
        continue;
      }
      nid = (b === missing ? defaultLeft[nid] : b <= splitBin[nid]) ? left[nid] : right[nid];
    }
    margins[r * k + group] = Math.fround(margins[r * k + group] + splitCondition[nid]);
  }
}
