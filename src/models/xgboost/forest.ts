/**
 * Tree ensembles as flat typed arrays, and the loop that evaluates them. Nodes of all trees
 * share one set of arrays; each tree is renumbered breadth-first so that a node's right child
 * sits right after its left child (one index array instead of two). The arrays live in
 * SharedArrayBuffers so worker threads read the same memory instead of copies.
 *
 * Evaluation is branch-free: a leaf points to itself with a NaN threshold (no comparison with
 * NaN is true, so it stays put), every row takes exactly `depth` steps through its tree, and
 * eight rows walk the same tree side by side. An unpredictable branch per node is what makes
 * tree evaluation slow; trading it for a few extra steps on shallow leaves is ~3× faster here.
 *
 * Semantics follow XGBoost's CPU predictor: inputs are float32, `x < threshold` goes left, NaN
 * follows the node's default direction; a categorical split sends the categories in its set
 * right and everything else (unseen, negative, too large) left; leaf values add up in float32,
 * in tree order, on top of the base margin.
 */
import { sharedArray } from '../../core/shared-array.js';
import type { XgbModel } from './model.js';

export interface Forest {
  /** Feature tested at each node (0 at a leaf). */
  feature: Int32Array;
  /** Split threshold; NaN at a leaf. */
  threshold: Float32Array;
  /** Index of the left child (the right child is the next node); a leaf's own index. */
  child: Int32Array;
  /** 1 when a missing value goes right (0 at a leaf). */
  missingRight: Int32Array;
  /** Leaf value (times the tree's dart weight); 0 at a split. */
  leafValue: Float32Array;
  /** Start of the node's category bitset in `catWords`, or -1 for a numeric split or leaf. */
  catStart: Int32Array;
  /** Words in the node's category bitset. */
  catLength: Int32Array;
  catWords: Uint32Array;
  hasCategorical: boolean;
  roots: Int32Array;
  /** Steps from each tree's root to its deepest leaf. */
  depth: Int32Array;
  /** The largest depth among trees 8i..8i+7 (eight trees walked together for one row). */
  chunkDepth: Int32Array;
  treeGroup: Int32Array;
  numGroups: number;
  numFeature: number;
  /** Base margin per group (float32 values). */
  baseMargin: Float32Array;
}

/** Builds the flat arrays for trees [begin, end) of `model`. */
export function compileForest(model: XgbModel, begin = 0, end = model.trees.length): Forest {
  const trees = model.trees.slice(begin, end);
  const total = trees.reduce((n, t) => n + t.left.length, 0);
  const feature = sharedArray(Int32Array, total);
  const threshold = sharedArray(Float32Array, total);
  const child = sharedArray(Int32Array, total);
  const missingRight = sharedArray(Int32Array, total);
  const leafValue = sharedArray(Float32Array, total);
  const catStart = sharedArray(Int32Array, total);
  const catLength = sharedArray(Int32Array, total);
  const words: number[] = [];
  const roots = sharedArray(Int32Array, trees.length);
  const depth = sharedArray(Int32Array, trees.length);
  const treeGroup = sharedArray(Int32Array, trees.length);
  let hasCategorical = false;
  let next = 0;
  trees.forEach((tree, i) => {
    const weight = Math.fround(model.treeWeight[begin + i]);
    roots[i] = next;
    treeGroup[i] = model.treeGroup[begin + i];
    // Breadth-first renumbering: order[k] is the original id of node roots[i] + k.
    const order = [0];
    const levels = [0];
    let allocated = next + 1;
    for (let k = 0; k < order.length; k++) {
      const id = order[k];
      const at = next + k;
      const left = tree.left[id];
      catStart[at] = -1;
      depth[i] = Math.max(depth[i], levels[k]);
      if (left === -1) {
        child[at] = at;
        threshold[at] = NaN;
        leafValue[at] = weight === 1 ? tree.splitCondition[id] : Math.fround(Math.fround(tree.splitCondition[id]) * weight);
        continue;
      }
      feature[at] = tree.splitIndex[id];
      threshold[at] = tree.splitCondition[id];
      missingRight[at] = tree.defaultLeft[id] ? 0 : 1;
      child[at] = allocated;
      order.push(left, tree.right[id]);
      levels.push(levels[k] + 1, levels[k] + 1);
      allocated += 2;
      if (tree.splitType && tree.splitType[id] === 1) {
        hasCategorical = true;
        const cats = tree.categories.get(id) ?? [];
        const size = cats.length === 0 ? 0 : (Math.max(...cats) >>> 5) + 1;
        catStart[at] = words.length;
        catLength[at] = size;
        const start = words.length;
        for (let w = 0; w < size; w++) words.push(0);
        for (const c of cats) words[start + (c >>> 5)] |= 1 << (c & 31);
      }
    }
    next = allocated;
  });
  const catWords = sharedArray(Uint32Array, words.length);
  catWords.set(words.map((w) => w >>> 0));
  const chunkDepth = sharedArray(Int32Array, Math.ceil(trees.length / 8));
  depth.forEach((d, i) => (chunkDepth[i >> 3] = Math.max(chunkDepth[i >> 3], d)));
  return {
    feature,
    threshold,
    child,
    missingRight,
    leafValue,
    catStart,
    catLength,
    catWords,
    hasCategorical,
    roots,
    depth,
    chunkDepth,
    treeGroup,
    numGroups: model.numGroups,
    numFeature: model.numFeature,
    baseMargin: Float32Array.from(model.baseMargin),
  };
}

const ROW_BLOCK = 128;
/** Categories at or above this are invalid in XGBoost (not exactly representable as float32 ints). */
const MAX_CATEGORY = 16777215;

/**
 * Adds margins for rows [rowBegin, rowEnd) of the row-major float32 matrix `x` (stride
 * `numColumns`) into `out` (row r's group g at (r - rowBegin) * numGroups + g), which must hold
 * the base margins already.
 */
export function accumulateMargins(
  forest: Forest,
  x: Float32Array,
  numColumns: number,
  rowBegin: number,
  rowEnd: number,
  out: Float32Array,
): void {
  if (forest.hasCategorical) accumulateCategorical(forest, x, numColumns, rowBegin, rowEnd, out);
  else accumulateNumeric(forest, x, numColumns, rowBegin, rowEnd, out);
}

function accumulateNumeric(forest: Forest, x: Float32Array, stride: number, rowBegin: number, rowEnd: number, out: Float32Array): void {
  const { feature: f, threshold: t, child: c, missingRight: m, leafValue, roots, depth, treeGroup, numGroups: k } = forest;
  const numTrees = roots.length;
  for (let b = rowBegin; b < rowEnd; b += ROW_BLOCK) {
    const blockEnd = Math.min(b + ROW_BLOCK, rowEnd);
    for (let tree = 0; tree < numTrees; tree++) {
      const root = roots[tree];
      const steps = depth[tree];
      const g = treeGroup[tree];
      let r = b;
      // Eight independent walks keep the CPU busy while each waits on its loads.
      for (; r + 8 <= blockEnd; r += 8) {
        let n0 = root, n1 = root, n2 = root, n3 = root, n4 = root, n5 = root, n6 = root, n7 = root;
        const x0 = r * stride, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride;
        const x4 = x3 + stride, x5 = x4 + stride, x6 = x5 + stride, x7 = x6 + stride;
        for (let s = 0; s < steps; s++) {
          let v = x[x0 + f[n0]];
          n0 = c[n0] + (+(v >= t[n0]) | (+(v !== v) & m[n0]));
          v = x[x1 + f[n1]];
          n1 = c[n1] + (+(v >= t[n1]) | (+(v !== v) & m[n1]));
          v = x[x2 + f[n2]];
          n2 = c[n2] + (+(v >= t[n2]) | (+(v !== v) & m[n2]));
          v = x[x3 + f[n3]];
          n3 = c[n3] + (+(v >= t[n3]) | (+(v !== v) & m[n3]));
          v = x[x4 + f[n4]];
          n4 = c[n4] + (+(v >= t[n4]) | (+(v !== v) & m[n4]));
          v = x[x5 + f[n5]];
          n5 = c[n5] + (+(v >= t[n5]) | (+(v !== v) & m[n5]));
          v = x[x6 + f[n6]];
          n6 = c[n6] + (+(v >= t[n6]) | (+(v !== v) & m[n6]));
          v = x[x7 + f[n7]];
          n7 = c[n7] + (+(v >= t[n7]) | (+(v !== v) & m[n7]));
        }
        const o = (r - rowBegin) * k + g;
        out[o] += leafValue[n0];
        out[o + k] += leafValue[n1];
        out[o + 2 * k] += leafValue[n2];
        out[o + 3 * k] += leafValue[n3];
        out[o + 4 * k] += leafValue[n4];
        out[o + 5 * k] += leafValue[n5];
        out[o + 6 * k] += leafValue[n6];
        out[o + 7 * k] += leafValue[n7];
      }
    }
    // Rows left over from the groups of eight (a single-row request is all leftover) walk
    // eight trees side by side instead, adding the leaves in tree order.
    for (let r = blockEnd - ((blockEnd - b) % 8); r < blockEnd; r++) accumulateRow(forest, x, r * stride, out, (r - rowBegin) * k);
  }
}

function accumulateRow(forest: Forest, x: Float32Array, x0: number, out: Float32Array, o: number): void {
  const { feature: f, threshold: t, child: c, missingRight: m, leafValue, roots, chunkDepth, treeGroup: g } = forest;
  const numTrees = roots.length;
  let tree = 0;
  for (; tree + 8 <= numTrees; tree += 8) {
    let n0 = roots[tree], n1 = roots[tree + 1], n2 = roots[tree + 2], n3 = roots[tree + 3];
    let n4 = roots[tree + 4], n5 = roots[tree + 5], n6 = roots[tree + 6], n7 = roots[tree + 7];
    const steps = chunkDepth[tree >> 3];
    for (let s = 0; s < steps; s++) {
      let v = x[x0 + f[n0]];
      n0 = c[n0] + (+(v >= t[n0]) | (+(v !== v) & m[n0]));
      v = x[x0 + f[n1]];
      n1 = c[n1] + (+(v >= t[n1]) | (+(v !== v) & m[n1]));
      v = x[x0 + f[n2]];
      n2 = c[n2] + (+(v >= t[n2]) | (+(v !== v) & m[n2]));
      v = x[x0 + f[n3]];
      n3 = c[n3] + (+(v >= t[n3]) | (+(v !== v) & m[n3]));
      v = x[x0 + f[n4]];
      n4 = c[n4] + (+(v >= t[n4]) | (+(v !== v) & m[n4]));
      v = x[x0 + f[n5]];
      n5 = c[n5] + (+(v >= t[n5]) | (+(v !== v) & m[n5]));
      v = x[x0 + f[n6]];
      n6 = c[n6] + (+(v >= t[n6]) | (+(v !== v) & m[n6]));
      v = x[x0 + f[n7]];
      n7 = c[n7] + (+(v >= t[n7]) | (+(v !== v) & m[n7]));
    }
    out[o + g[tree]] += leafValue[n0];
    out[o + g[tree + 1]] += leafValue[n1];
    out[o + g[tree + 2]] += leafValue[n2];
    out[o + g[tree + 3]] += leafValue[n3];
    out[o + g[tree + 4]] += leafValue[n4];
    out[o + g[tree + 5]] += leafValue[n5];
    out[o + g[tree + 6]] += leafValue[n6];
    out[o + g[tree + 7]] += leafValue[n7];
  }
  for (; tree < numTrees; tree++) {
    let n = roots[tree];
    const steps = forest.depth[tree];
    for (let s = 0; s < steps; s++) {
      const v = x[x0 + f[n]];
      n = c[n] + (+(v >= t[n]) | (+(v !== v) & m[n]));
    }
    out[o + g[tree]] += leafValue[n];
  }
}

function accumulateCategorical(forest: Forest, x: Float32Array, stride: number, rowBegin: number, rowEnd: number, out: Float32Array): void {
  const { feature: f, threshold: t, child: c, missingRight: m, leafValue, catStart, catLength, catWords, roots, depth, treeGroup, numGroups: k } = forest;
  const numTrees = roots.length;
  for (let b = rowBegin; b < rowEnd; b += ROW_BLOCK) {
    const blockEnd = Math.min(b + ROW_BLOCK, rowEnd);
    for (let tree = 0; tree < numTrees; tree++) {
      const root = roots[tree];
      const steps = depth[tree];
      const g = treeGroup[tree];
      for (let r = b; r < blockEnd; r++) {
        const x0 = r * stride;
        let n = root;
        for (let s = 0; s < steps; s++) {
          const v = x[x0 + f[n]];
          const cs = catStart[n];
          if (cs < 0 || v !== v) {
            n = c[n] + (+(v >= t[n]) | (+(v !== v) & m[n]));
          } else {
            let right = 0;
            if (v >= 0 && v < MAX_CATEGORY) {
              const cat = v | 0;
              const word = cat >>> 5;
              if (word < catLength[n]) right = (catWords[cs + word] >>> (cat & 31)) & 1;
            }
            n = c[n] + right;
          }
        }
        out[(r - rowBegin) * k + g] += leafValue[n];
      }
    }
  }
}

/** Fills `out` (rows × numGroups) with the base margins. */
export function fillBase(forest: Forest, out: Float32Array): void {
  const k = forest.numGroups;
  for (let i = 0; i < out.length; i++) out[i] = forest.baseMargin[i % k];
}
