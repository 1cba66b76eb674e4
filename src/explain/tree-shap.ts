/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018) for XGBoost tree ensembles, in
 * margin space. SHAP values come from a quadrature form of the same Shapley sums (O(T·L·D) per
 * row, see QuadratureWalk); interaction values from Algorithm 2's recursion (O(T·L·D²) per
 * row and feature), which follows XGBoost's own `RegTree::TreeShap` step for step (the same path
 * bookkeeping and conditioning). Both take XGBoost's hot/cold choice for categorical splits and
 * missing values, so the numbers agree with `predict(pred_contribs=True)` and
 * `pred_interactions`; arithmetic is float64 here.
 *
 * Output layout follows XGBoost: per row and output group, one value per feature and then the
 * bias (base margin plus each tree's cover-weighted mean leaf value), so the row's values sum to
 * its margin.
 */
import { failedPrecondition } from '../core/errors.js';
import type { XgbModel } from '../models/index.js';

export interface ShapTree {
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** Leaf value times the tree's dart weight (0 at a split). */
  value: Float64Array;
  cover: Float64Array;
  /** A node's cover over its parent's (1 at the root): the share of rows that reach it. */
  coverShare: Float64Array;
  /** Categories that go right, for categorical split nodes. */
  categories: (Set<number> | undefined)[];
  /** Cover-weighted mean of the leaf values under the root: the tree's expected output. */
  expected: number;
  maxDepth: number;
  group: number;
}

export interface TreeEnsemble {
  trees: ShapTree[];
  numFeature: number;
  numGroups: number;
  baseMargin: number[];
}

/** Categories at or above this are invalid in XGBoost and go left, as in the flavor's evaluator. */
const MAX_CATEGORY = 16777215;

function depthOf(tree: ShapTree, node: number): number {
  return tree.left[node] < 0 ? 0 : 1 + Math.max(depthOf(tree, tree.left[node]), depthOf(tree, tree.right[node]));
}

function meanValue(tree: ShapTree, node: number): number {
  const l = tree.left[node];
  if (l < 0) return tree.value[node];
  const r = tree.right[node];
  return (meanValue(tree, l) * tree.cover[l] + meanValue(tree, r) * tree.cover[r]) / tree.cover[node];
}

/** Trees [begin, end) of `model` prepared for TreeSHAP; needs the node covers XGBoost saves. */
export function treeEnsemble(model: XgbModel, begin = 0, end = model.trees.length): TreeEnsemble {
  const trees = model.trees.slice(begin, end).map((t, i): ShapTree => {
    if (!t.cover) throw failedPrecondition(`XGBoost model: tree ${begin + i} has no sum_hessian (node covers), which TreeSHAP needs; use the kernel method`);
    const n = t.left.length;
    const weight = model.treeWeight[begin + i];
    const tree: ShapTree = {
      left: Int32Array.from(t.left),
      right: Int32Array.from(t.right),
      feature: Int32Array.from(t.splitIndex),
      threshold: Float32Array.from(t.splitCondition),
      defaultLeft: Uint8Array.from(t.defaultLeft, (v) => (v ? 1 : 0)),
      value: new Float64Array(n),
      cover: Float64Array.from(t.cover),
      coverShare: new Float64Array(n).fill(1),
      categories: new Array(n),
      expected: 0,
      maxDepth: 0,
      group: model.treeGroup[begin + i],
    };
    for (let k = 0; k < n; k++) {
      if (tree.left[k] >= 0) {
        tree.coverShare[tree.left[k]] = tree.cover[tree.left[k]] / tree.cover[k];
        tree.coverShare[tree.right[k]] = tree.cover[tree.right[k]] / tree.cover[k];
      }
      if (tree.left[k] < 0) tree.value[k] = Math.fround(t.splitCondition[k]) * weight;
      else if (t.splitType && t.splitType[k] === 1) tree.categories[k] = new Set(t.categories.get(k) ?? []);
    }
    tree.maxDepth = depthOf(tree, 0);
    tree.expected = meanValue(tree, 0);
    return tree;
  });
  return { trees, numFeature: model.numFeature, numGroups: model.numGroups, baseMargin: model.baseMargin.map((m) => Math.fround(m)) };
}

/** The child a row's value `v` (float32, NaN = missing) follows at split `node`. */
function hotChild(tree: ShapTree, node: number, v: number): number {
  if (v !== v) return tree.defaultLeft[node] ? tree.left[node] : tree.right[node];
  const cats = tree.categories[node];
  if (cats) return v >= 0 && v < MAX_CATEGORY && cats.has(v | 0) ? tree.right[node] : tree.left[node];
  return v < tree.threshold[node] ? tree.left[node] : tree.right[node];
}

/**
 * The unique path of the recursion, as parallel arrays. Each level copies its parent's path
 * into the next slot block, so one allocation of (D+2)(D+3)/2 elements serves a whole tree.
 * The ratios the weight updates divide by depend only on (depth, i), so they are tabled once:
 * the leaf loop, which dominates (D unwound sums of D steps per leaf), then only multiplies.
 */
class Path {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
  /** (d+1)/(i+1), (i+1)/(d+1), (d-i)/(d+1) and (d+1)/(d-i) at [d·S + i]. */
  private readonly up: Float64Array;
  private readonly rise: Float64Array;
  private readonly down: Float64Array;
  private readonly back: Float64Array;
  private readonly stride: number;

  constructor(maxDepth: number) {
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
    const S = (this.stride = maxDepth + 2);
    this.up = new Float64Array(S * S);
    this.rise = new Float64Array(S * S);
    this.down = new Float64Array(S * S);
    this.back = new Float64Array(S * S);
    for (let d = 0; d < S; d++) {
      for (let i = 0; i < d; i++) {
        this.up[d * S + i] = (d + 1) / (i + 1);
        this.rise[d * S + i] = (i + 1) / (d + 1);
        this.down[d * S + i] = (d - i) / (d + 1);
        this.back[d * S + i] = (d + 1) / (d - i);
      }
    }
  }

  /** Copies `length` elements; a loop, because four native copyWithin calls cost more on paths this short. */
  copy(from: number, to: number, length: number): void {
    const { feature, zero, one, weight } = this;
    for (let k = 0; k < length; k++) {
      feature[to + k] = feature[from + k];
      zero[to + k] = zero[from + k];
      one[to + k] = one[from + k];
      weight[to + k] = weight[from + k];
    }
  }

  extend(p: number, depth: number, zero: number, one: number, feature: number): void {
    const { weight: w, down, rise } = this;
    const row = depth * this.stride;
    this.feature[p + depth] = feature;
    this.zero[p + depth] = zero;
    this.one[p + depth] = one;
    w[p + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      w[p + i + 1] += one * w[p + i] * rise[row + i];
      w[p + i] = zero * w[p + i] * down[row + i];
    }
  }

  unwind(p: number, depth: number, index: number): void {
    const w = this.weight;
    const one = this.one[p + index];
    const zero = this.zero[p + index];
    let next = w[p + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = w[p + i];
        w[p + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (w[p + i] * zero * (depth - i)) / (depth + 1);
      } else {
        w[p + i] = (w[p + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      this.feature[p + i] = this.feature[p + i + 1];
      this.zero[p + i] = this.zero[p + i + 1];
      this.one[p + i] = this.one[p + i + 1];
    }
  }

  unwoundSum(p: number, depth: number, index: number): number {
    const w = this.weight;
    const one = this.one[p + index];
    const zero = this.zero[p + index];
    const row = depth * this.stride;
    let total = 0;
    if (one !== 0) {
      const { up, down } = this;
      const scale = 1 / one;
      let next = w[p + depth];
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next * up[row + i] * scale;
        total += tmp;
        next = w[p + i] - tmp * zero * down[row + i];
      }
    } else if (zero !== 0) {
      const back = this.back;
      for (let i = depth - 1; i >= 0; i--) total += w[p + i] * back[row + i];
      total /= zero;
    }
    return total;
  }
}

/** One tree's recursion for one row: adds into phi[offset + feature]. */
class TreeWalk {
  tree!: ShapTree;
  x!: Float32Array;
  x0 = 0;
  phi!: Float64Array;
  offset = 0;
  /** 0: plain SHAP values; 1 / -1: the feature `conditionFeature` fixed present / absent. */
  condition = 0;
  conditionFeature = -1;

  constructor(private readonly path: Path) {}

  run(node: number, depth: number, parentP: number, parentZero: number, parentOne: number, parentFeature: number, conditionFraction: number): void {
    if (conditionFraction === 0) return;
    const { tree, path } = this;
    const p = parentP + depth + 1;
    path.copy(parentP, p, depth + 1);
    if (this.condition === 0 || this.conditionFeature !== parentFeature) path.extend(p, depth, parentZero, parentOne, parentFeature);
    if (tree.left[node] < 0) {
      const scale = tree.value[node] * conditionFraction;
      for (let i = 1; i <= depth; i++) {
        const w = path.unwoundSum(p, depth, i);
        this.phi[this.offset + path.feature[p + i]] += w * (path.one[p + i] - path.zero[p + i]) * scale;
      }
      return;
    }
    const split = tree.feature[node];
    const hot = hotChild(tree, node, this.x[this.x0 + split]);
    const cold = hot === tree.left[node] ? tree.right[node] : tree.left[node];
    const w = tree.cover[node];
    const hotZero = tree.cover[hot] / w;
    const coldZero = tree.cover[cold] / w;
    let incomingZero = 1;
    let incomingOne = 1;
    let index = 0;
    while (index <= depth && path.feature[p + index] !== split) index++;
    if (index !== depth + 1) {
      incomingZero = path.zero[p + index];
      incomingOne = path.one[p + index];
      path.unwind(p, depth, index);
      depth -= 1;
    }
    let hotFraction = conditionFraction;
    let coldFraction = conditionFraction;
    if (this.condition > 0 && split === this.conditionFeature) {
      coldFraction = 0;
      depth -= 1;
    } else if (this.condition < 0 && split === this.conditionFeature) {
      hotFraction *= hotZero;
      coldFraction *= coldZero;
      depth -= 1;
    }
    this.run(hot, depth + 1, p, hotZero * incomingZero, incomingOne, split, hotFraction);
    this.run(cold, depth + 1, p, coldZero * incomingZero, 0, split, coldFraction);
  }
}

function walkerFor(ensemble: TreeEnsemble): TreeWalk {
  const maxDepth = ensemble.trees.reduce((d, t) => Math.max(d, t.maxDepth), 0);
  return new TreeWalk(new Path(maxDepth + 1));
}

/** Checks the input matrix has room for every feature the model tests. */
function checkWidth(ensemble: TreeEnsemble, x: Float32Array, rows: number): void {
  if (x.length !== rows * ensemble.numFeature) {
    throw failedPrecondition(`TreeSHAP: expected ${rows} rows of ${ensemble.numFeature} features, got ${x.length} values`);
  }
}

/**
 * SHAP values of `rows` rows of the row-major float32 matrix `x` (NaN = missing): out[(r·G + g)·(F+1) + f]
 * for feature f, and index F for the bias.
 */
export function treeShap(ensemble: TreeEnsemble, x: Float32Array, rows: number): Float64Array {
  checkWidth(ensemble, x, rows);
  const F = ensemble.numFeature;
  const G = ensemble.numGroups;
  const out = new Float64Array(rows * G * (F + 1));
  const maxDepth = ensemble.trees.reduce((d, t) => Math.max(d, t.maxDepth), 0);
  const walk = new QuadratureWalk(maxDepth);
  for (let r = 0; r < rows; r++) {
    const base = r * G * (F + 1);
    for (const tree of ensemble.trees) {
      const offset = base + tree.group * (F + 1);
      out[offset + F] += tree.expected;
      walk.explain(tree, x, r * F, out, offset);
    }
    for (let g = 0; g < G; g++) out[base + g * (F + 1) + F] += ensemble.baseMargin[g];
  }
  return out;
}

/**
 * Nodes and weights of m-point Gauss–Legendre quadrature on [0, 1] (Newton's method on the
 * Legendre recurrence): exact for polynomials of degree up to 2m − 1.
 */
export function gaussLegendre(m: number): { t: Float64Array; w: Float64Array } {
  const t = new Float64Array(m);
  const w = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let derivative = 1;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= m; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = (m * (z * p1 - p0)) / (z * z - 1);
      const step = p1 / derivative;
      z -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    t[i] = (1 - z) / 2;
    w[i] = 1 / ((1 - z * z) * derivative * derivative);
  }
  return { t, w };
}

/**
 * Path-dependent TreeSHAP by quadrature, the same values as Algorithm 2 in O(T·L·D) work per
 * row rather than O(T·L·D²). A leaf with value v is reached with, for each distinct feature j
 * on its path, a factor a_j when j is absent (the product of the cover ratios of j's edges) and
 * b_j when present (1 if the row follows all of j's edges, else 0). Its Shapley share for
 * feature i is v·(b_i − a_i)·Σ_S |S|!(d−|S|−1)!/d!·Π_{j∈S} b_j·Π_{j∉S, j≠i} a_j, and since
 * |S|!(d−|S|−1)!/d! = ∫₀¹ t^|S| (1−t)^(d−|S|−1) dt that sum is ∫₀¹ Π_{j≠i} ((1−t)·a_j + t·b_j) dt,
 * a polynomial of degree d − 1 that ⌈d/2⌉ Gauss–Legendre points integrate exactly. The
 * products leaving out each feature come from prefix and suffix products, so a factor of 0
 * (an edge of zero cover) needs no division.
 */
class QuadratureWalk {
  /** The m-point rule at index m: a leaf with d distinct features needs ⌈d/2⌉ points. */
  private readonly rules: { t: Float64Array; w: Float64Array }[];
  /** Distinct features on the current path and their absent / present factors. */
  private readonly feature: Int32Array;
  private readonly absent: Float64Array;
  private readonly present: Float64Array;
  private distinct = 0;
  private readonly factors: Float64Array;
  private readonly before: Float64Array;
  private readonly share: Float64Array;
  private tree!: ShapTree;
  private x!: Float32Array;
  private x0 = 0;
  private phi!: Float64Array;
  private offset = 0;

  constructor(maxDepth: number) {
    this.rules = Array.from({ length: Math.ceil(maxDepth / 2) + 1 }, (_, m) => gaussLegendre(m));
    const cap = maxDepth + 1;
    this.feature = new Int32Array(cap);
    this.absent = new Float64Array(cap);
    this.present = new Float64Array(cap);
    this.factors = new Float64Array(cap);
    this.before = new Float64Array(cap);
    this.share = new Float64Array(cap);
  }

  explain(tree: ShapTree, x: Float32Array, x0: number, phi: Float64Array, offset: number): void {
    this.tree = tree;
    this.x = x;
    this.x0 = x0;
    this.phi = phi;
    this.offset = offset;
    this.distinct = 0;
    this.visit(0);
  }

  private visit(node: number): void {
    const tree = this.tree;
    if (tree.left[node] < 0) {
      this.leaf(tree.value[node]);
      return;
    }
    const split = tree.feature[node];
    const hot = hotChild(tree, node, this.x[this.x0 + split]);
    const left = tree.left[node];
    const right = tree.right[node];
    if (tree.left[left] < 0 && tree.left[right] < 0) {
      this.leafPair(split, hot, left, right);
      return;
    }
    const q = this.slotOf(split);
    const known = q < this.distinct;
    const a = known ? this.absent[q] : 1;
    const b = known ? this.present[q] : 1;
    if (!known) {
      this.feature[q] = split;
      this.distinct++;
    }
    this.absent[q] = a * tree.coverShare[left];
    this.present[q] = left === hot ? b : 0;
    this.visit(left);
    this.absent[q] = a * tree.coverShare[right];
    this.present[q] = right === hot ? b : 0;
    this.visit(right);
    if (known) {
      this.absent[q] = a;
      this.present[q] = b;
    } else this.distinct--;
  }

  /** Where `feature` sits on the path's distinct features; `distinct` when it is not there yet. */
  private slotOf(feature: number): number {
    let q = 0;
    while (q < this.distinct && this.feature[q] !== feature) q++;
    return q;
  }

  private leaf(value: number): void {
    const d = this.distinct;
    if (d === 0 || value === 0) return;
    this.accumulate(d, value, 0);
  }

  /**
   * Two sibling leaves under a split on `split` (half the leaves of a deep tree): their paths
   * differ only in that feature's factor, so one pass over the shared factors serves both, the
   * leaves' values and split factors folded into the quadrature weight of each point.
   */
  private leafPair(split: number, hot: number, left: number, right: number): void {
    const { tree, absent, present } = this;
    const q = this.slotOf(split);
    const known = q < this.distinct;
    const a = known ? absent[q] : 1;
    const b = known ? present[q] : 1;
    const vL = tree.value[left];
    const vR = tree.value[right];
    if (vL === 0 && vR === 0) return;
    const aL = a * tree.coverShare[left];
    const bL = left === hot ? b : 0;
    const aR = a * tree.coverShare[right];
    const bR = right === hot ? b : 0;
    // The split's own factor is neutral (1, and no share of its own) in the shared pass.
    if (known) absent[q] = present[q] = 1;
    const splitShare = this.accumulate(this.distinct + (known ? 0 : 1), vL * aL + vR * aR, vL * (bL - aL) + vR * (bR - aR));
    if (known) {
      absent[q] = a;
      present[q] = b;
    }
    this.phi[this.offset + split] += (vL * (bL - aL) + vR * (bR - aR)) * splitShare;
  }

  /**
   * Adds each path feature's share for the leaves at hand, whose values times whatever factors
   * are not on the path make `scale + slope·t` at point t (one leaf: its value, 0); returns
   * ∫ of the path's product, the share of a factor kept off the path. `d` distinct features,
   * counting one kept off, choose the rule.
   */
  private accumulate(d: number, scale: number, slope: number): number {
    const n = this.distinct;
    const { absent, present, factors, before, share } = this;
    const { t, w } = this.rules[(d + 1) >> 1];
    for (let j = 0; j < n; j++) share[j] = 0;
    let whole = 0;
    for (let k = 0; k < t.length; k++) {
      const tk = t[k];
      let product = 1;
      for (let j = 0; j < n; j++) {
        before[j] = product;
        factors[j] = absent[j] + (present[j] - absent[j]) * tk;
        product *= factors[j];
      }
      whole += w[k] * product;
      let after = w[k] * (scale + slope * tk);
      for (let j = n - 1; j >= 0; j--) {
        share[j] += before[j] * after;
        after *= factors[j];
      }
    }
    for (let j = 0; j < n; j++) this.phi[this.offset + this.feature[j]] += (present[j] - absent[j]) * share[j];
    return whole;
  }
}

/** Adds row r's contributions (under the walker's condition) at `base`; the bias only when asked. */
function contributions(ensemble: TreeEnsemble, walk: TreeWalk, r: number, out: Float64Array, base: number, bias: boolean): void {
  const F = ensemble.numFeature;
  walk.x0 = r * F;
  for (const tree of ensemble.trees) {
    walk.tree = tree;
    walk.offset = base + tree.group * (F + 1);
    if (bias) out[walk.offset + F] += tree.expected;
    walk.run(0, 0, 0, 1, 1, -1, 1);
  }
  if (bias) for (let g = 0; g < ensemble.numGroups; g++) out[base + g * (F + 1) + F] += ensemble.baseMargin[g];
}

/**
 * SHAP interaction values, XGBoost's layout: out[((r·G + g)·(F+1) + i)·(F+1) + j]. Off the
 * diagonal, half the difference of feature i's effect on j with i present and absent; on the
 * diagonal, what is left of the SHAP value of i, so each row of the matrix sums to it.
 */
export function treeShapInteractions(ensemble: TreeEnsemble, x: Float32Array, rows: number): Float64Array {
  checkWidth(ensemble, x, rows);
  const F = ensemble.numFeature;
  const G = ensemble.numGroups;
  const C = F + 1;
  const out = new Float64Array(rows * G * C * C);
  const diag = new Float64Array(G * C);
  const on = new Float64Array(G * C);
  const off = new Float64Array(G * C);
  const walk = walkerFor(ensemble);
  walk.x = x;
  for (let r = 0; r < rows; r++) {
    diag.fill(0);
    walk.condition = 0;
    walk.phi = diag;
    contributions(ensemble, walk, r, diag, 0, true);
    for (let i = 0; i < C; i++) {
      on.fill(0);
      off.fill(0);
      walk.conditionFeature = i;
      walk.condition = 1;
      walk.phi = on;
      contributions(ensemble, walk, r, on, 0, false);
      walk.condition = -1;
      walk.phi = off;
      contributions(ensemble, walk, r, off, 0, false);
      for (let g = 0; g < G; g++) {
        const o = ((r * G + g) * C + i) * C;
        const c = g * C;
        out[o + i] = diag[c + i];
        for (let k = 0; k < C; k++) {
          if (k === i) continue;
          const v = (on[c + k] - off[c + k]) / 2;
          out[o + k] = v;
          out[o + i] -= v;
        }
      }
    }
  }
  return out;
}
