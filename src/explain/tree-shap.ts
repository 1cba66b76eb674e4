/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2) for XGBoost tree
 * ensembles, in margin space: O(T·L·D²) per row. The recursion follows XGBoost's own
 * `RegTree::TreeShap` step for step (the same path bookkeeping, the same hot/cold choice for
 * categorical splits and missing values, the same conditioning used for interaction values), so
 * the numbers agree with `predict(pred_contribs=True)`; arithmetic is float64 here.
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
      categories: new Array(n),
      expected: 0,
      maxDepth: 0,
      group: model.treeGroup[begin + i],
    };
    for (let k = 0; k < n; k++) {
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
 */
class Path {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;

  constructor(maxDepth: number) {
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }

  copy(from: number, to: number, length: number): void {
    this.feature.copyWithin(to, from, from + length);
    this.zero.copyWithin(to, from, from + length);
    this.one.copyWithin(to, from, from + length);
    this.weight.copyWithin(to, from, from + length);
  }

  extend(p: number, depth: number, zero: number, one: number, feature: number): void {
    const w = this.weight;
    this.feature[p + depth] = feature;
    this.zero[p + depth] = zero;
    this.one[p + depth] = one;
    w[p + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      w[p + i + 1] += (one * w[p + i] * (i + 1)) / (depth + 1);
      w[p + i] = (zero * w[p + i] * (depth - i)) / (depth + 1);
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
    let next = w[p + depth];
    let total = 0;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = (next * (depth + 1)) / ((i + 1) * one);
        total += tmp;
        next = w[p + i] - tmp * zero * ((depth - i) / (depth + 1));
      } else if (zero !== 0) {
        total += w[p + i] / zero / ((depth - i) / (depth + 1));
      }
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
  const walk = walkerFor(ensemble);
  walk.x = x;
  walk.phi = out;
  for (let r = 0; r < rows; r++) contributions(ensemble, walk, r, out, r * G * (F + 1), true);
  return out;
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
