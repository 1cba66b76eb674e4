/**
 * Grows one regression tree on gradient statistics with histograms: each node's histogram sums
 * gradients and hessians per bin of each feature; a node's children get one histogram built
 * from the rows of the smaller child and the other by subtraction from the parent's. Nodes are
 * expanded depth by depth (depthwise) or best loss reduction first (lossguide), as XGBoost's
 * `hist` driver does, with XGBoost's gain, weight and validity rules.
 */
import { MISSING_BIN, type BinCuts, type BinnedMatrix } from './binning.js';
import type { GbdtParams } from './params.js';

/** XGBoost's kRtEps: a split must reduce the loss by more than this. */
const RT_EPS = 1e-6;

export interface Tree {
  left: number[];
  right: number[];
  parent: number[];
  splitIndex: number[];
  /** Bin index b of a split: rows with bin ≤ b go left. */
  splitBin: number[];
  /** The float32 threshold (x < threshold goes left) of a split; the leaf value of a leaf. */
  splitCondition: number[];
  defaultLeft: boolean[];
  lossChange: number[];
  sumHessian: number[];
  /** η·weight of every node (XGBoost's base_weights). */
  baseWeight: number[];
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  defaultLeft: boolean;
  gl: number;
  hl: number;
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
  if (h < p.min_child_weight || h <= 0) return 0;
  let w = -thresholdL1(g, p.alpha) / (h + p.lambda);
  if (p.max_delta_step !== 0 && Math.abs(w) > p.max_delta_step) w = Math.sign(w) * p.max_delta_step;
  return w;
}

function gainOf(p: GbdtParams, g: number, h: number): number {
  if (h < p.min_child_weight || h <= 0) return 0;
  if (p.max_delta_step === 0) {
    const t = p.alpha === 0 ? g : thresholdL1(g, p.alpha);
    return (t * t) / (h + p.lambda);
  }
  const w = leafWeight(p, g, h);
  const ret = -(2 * g * w + (h + p.lambda) * w * w);
  return p.alpha === 0 ? ret : ret + p.alpha * Math.abs(w);
}

export class TreeGrower {
  private readonly scratch: Uint32Array;
  readonly totalBins: number;

  constructor(
    private readonly data: BinnedMatrix,
    private readonly cuts: BinCuts,
    private readonly params: GbdtParams,
  ) {
    this.scratch = new Uint32Array(data.rows);
    this.totalBins = cuts.offsets[data.numFeature];
  }

  private buildHist(hist: Float64Array, rows: Uint32Array, begin: number, end: number, grad: Float64Array, hess: Float64Array, features: Int32Array): void {
    hist.fill(0);
    const { bins, numFeature } = this.data;
    const offsets = this.cuts.offsets;
    const nf = features.length;
    if (nf === numFeature) {
      for (let i = begin; i < end; i++) {
        const r = rows[i];
        const g = grad[r];
        const h = hess[r];
        const base = r * numFeature;
        for (let f = 0; f < numFeature; f++) {
          const b = bins[base + f];
          if (b !== MISSING_BIN) {
            const idx = (offsets[f] + b) << 1;
            hist[idx] += g;
            hist[idx + 1] += h;
          }
        }
      }
      return;
    }
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = grad[r];
      const h = hess[r];
      const base = r * numFeature;
      for (let j = 0; j < nf; j++) {
        const f = features[j];
        const b = bins[base + f];
        if (b !== MISSING_BIN) {
          const idx = (offsets[f] + b) << 1;
          hist[idx] += g;
          hist[idx + 1] += h;
        }
      }
    }
  }

  private bestSplit(hist: Float64Array, G: number, H: number, features: Int32Array): Split | undefined {
    const p = this.params;
    const offsets = this.cuts.offsets;
    const parentGain = gainOf(p, G, H);
    const mcw = p.min_child_weight;
    let best: Split | undefined;
    let bestGain = -Infinity;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const lo = offsets[f];
      const hi = offsets[f + 1];
      let sg = 0;
      let sh = 0;
      for (let b = lo; b < hi; b++) {
        sg += hist[b << 1];
        sh += hist[(b << 1) + 1];
      }
      const mg = G - sg;
      const mh = H - sh;
      const hasMissing = mh > 1e-10 * Math.max(1, H);
      let gl = 0;
      let hl = 0;
      for (let b = lo; b < hi - 1; b++) {
        gl += hist[b << 1];
        hl += hist[(b << 1) + 1];
        // Missing values to the right.
        let hr = H - hl;
        if (hl >= mcw && hr >= mcw && hl > 0 && hr > 0) {
          const gain = gainOf(p, gl, hl) + gainOf(p, G - gl, hr) - parentGain;
          if (gain > bestGain) {
            bestGain = gain;
            best = { gain, feature: f, bin: b - lo, defaultLeft: false, gl, hl };
          }
        }
        if (hasMissing) {
          const gl2 = gl + mg;
          const hl2 = hl + mh;
          hr = H - hl2;
          if (hl2 >= mcw && hr >= mcw && hl2 > 0 && hr > 0) {
            const gain = gainOf(p, gl2, hl2) + gainOf(p, G - gl2, hr) - parentGain;
            if (gain > bestGain) {
              bestGain = gain;
              best = { gain, feature: f, bin: b - lo, defaultLeft: true, gl: gl2, hl: hl2 };
            }
          }
        }
      }
    }
    return best;
  }

  /** Moves the rows of [begin, end) that go left to its front; answers where the right part starts. */
  private partition(rows: Uint32Array, begin: number, end: number, split: Split): number {
    const { bins, numFeature } = this.data;
    const scratch = this.scratch;
    const { feature, bin, defaultLeft } = split;
    let l = begin;
    let r = 0;
    for (let i = begin; i < end; i++) {
      const row = rows[i];
      const b = bins[row * numFeature + feature];
      if (b === MISSING_BIN ? defaultLeft : b <= bin) rows[l++] = row;
      else scratch[r++] = row;
    }
    rows.set(scratch.subarray(0, r), l);
    return l;
  }

  /**
   * Grows a tree over `rows` (the sampled rows; reordered in place) with the gradient of one
   * output group, considering only `features`.
   */
  grow(rows: Uint32Array, grad: Float64Array, hess: Float64Array, features: Int32Array): Tree {
    const p = this.params;
    const tree: Tree = { left: [], right: [], parent: [], splitIndex: [], splitBin: [], splitCondition: [], defaultLeft: [], lossChange: [], sumHessian: [], baseWeight: [] };
    const addNode = (parent: number, g: number, h: number): number => {
      const w = leafWeight(p, g, h);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.parent.push(parent);
      tree.splitIndex.push(0);
      tree.splitBin.push(0);
      tree.splitCondition.push(Math.fround(p.eta * w));
      tree.defaultLeft.push(false);
      tree.lossChange.push(0);
      tree.sumHessian.push(h);
      tree.baseWeight.push(Math.fround(p.eta * w));
      return tree.left.length - 1;
    };
    let G = 0;
    let H = 0;
    for (let i = 0; i < rows.length; i++) {
      G += grad[rows[i]];
      H += hess[rows[i]];
    }
    const rootHist = new Float64Array(this.totalBins * 2);
    this.buildHist(rootHist, rows, 0, rows.length, grad, hess, features);
    const root: Entry = { nid: addNode(2147483647, G, H), depth: 0, begin: 0, end: rows.length, g: G, h: H, hist: rootHist, split: undefined };
    root.split = this.bestSplit(rootHist, G, H, features);
    const lossguide = p.grow_policy === 'lossguide';
    const before = (a: Entry, b: Entry) => (lossguide ? a.split!.gain > b.split!.gain || (a.split!.gain === b.split!.gain && a.nid < b.nid) : a.depth < b.depth || (a.depth === b.depth && a.nid < b.nid));
    const valid = (e: Entry) => e.split !== undefined && e.split.gain > RT_EPS && e.split.gain >= p.gamma && (p.max_depth === 0 || e.depth < p.max_depth);
    const queue: Entry[] = valid(root) ? [root] : [];
    let leaves = 1;
    while (queue.length > 0 && (p.max_leaves === 0 || leaves < p.max_leaves)) {
      let bi = 0;
      for (let i = 1; i < queue.length; i++) if (before(queue[i], queue[bi])) bi = i;
      const e = queue[bi];
      queue[bi] = queue[queue.length - 1];
      queue.pop();
      const s = e.split!;
      const mid = this.partition(rows, e.begin, e.end, s);
      const gr = e.g - s.gl;
      const hr = e.h - s.hl;
      const nid = e.nid;
      const ln = addNode(nid, s.gl, s.hl);
      const rn = addNode(nid, gr, hr);
      tree.left[nid] = ln;
      tree.right[nid] = rn;
      tree.splitIndex[nid] = s.feature;
      tree.splitBin[nid] = s.bin;
      tree.splitCondition[nid] = this.cuts.values[this.cuts.offsets[s.feature] + s.bin];
      tree.defaultLeft[nid] = s.defaultLeft;
      tree.lossChange[nid] = s.gain;
      leaves++;
      const depth = e.depth + 1;
      if (p.max_depth !== 0 && depth >= p.max_depth) continue;
      // The smaller child's histogram is built; the larger one's is the parent's minus it.
      const leftSmaller = mid - e.begin <= e.end - mid;
      const small = new Float64Array(this.totalBins * 2);
      if (leftSmaller) this.buildHist(small, rows, e.begin, mid, grad, hess, features);
      else this.buildHist(small, rows, mid, e.end, grad, hess, features);
      const large = e.hist;
      for (let i = 0; i < large.length; i++) large[i] -= small[i];
      const leftHist = leftSmaller ? small : large;
      const rightHist = leftSmaller ? large : small;
      const children: Entry[] = [
        { nid: ln, depth, begin: e.begin, end: mid, g: s.gl, h: s.hl, hist: leftHist, split: undefined },
        { nid: rn, depth, begin: mid, end: e.end, g: gr, h: hr, hist: rightHist, split: undefined },
      ];
      for (const c of children) {
        c.split = this.bestSplit(c.hist, c.g, c.h, features);
        if (valid(c)) queue.push(c);
      }
    }
    return tree;
  }
}

/** Adds the tree's leaf value to margins[r·k + group] of every row, following bins. */
export function addTreeBinned(tree: Tree, data: BinnedMatrix, margins: Float64Array, k: number, group: number): void {
  const { bins, numFeature, rows } = data;
  const { left, right, splitIndex, splitBin, defaultLeft, splitCondition } = tree;
  for (let r = 0; r < rows; r++) {
    let nid = 0;
    const base = r * numFeature;
    while (left[nid] !== -1) {
      const b = bins[base + splitIndex[nid]];
      nid = (b === MISSING_BIN ? defaultLeft[nid] : b <= splitBin[nid]) ? left[nid] : right[nid];
    }
    margins[r * k + group] += splitCondition[nid];
  }
}
