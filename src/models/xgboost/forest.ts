/**
 * Tree ensembles as flat typed arrays, and the loop that evaluates them. Nodes of all trees
 * share one set of arrays; each tree is renumbered breadth-first so that a node's right child
 * sits right after its left child (one index array instead of two). The arrays live in
 * SharedArrayBuffers so worker threads read the same memory instead of copies.
 *
 * Semantics follow XGBoost's CPU predictor: inputs are float32, `x < threshold` goes left, NaN
 * follows the node's default direction; a categorical split sends the categories in its set
 * right and everything else (unseen, negative, too large) left; leaf values add up in float32,
 * in tree order, on top of the base margin.
 */
import type { XgbModel } from './model.js';

export interface Forest {
  /** Feature tested at each node; -1 marks a leaf. */
  feature: Int32Array;
  /** Threshold at a split; at a leaf, its value (times the tree's dart weight). */
  value: Float32Array;
  /** Index of the left child; the right child is the next node. */
  child: Int32Array;
  /** 1 when a missing value goes right. */
  missingRight: Uint8Array;
  /** Start of the node's category bitset in `catWords`, or -1 for a numeric split. */
  catStart: Int32Array;
  /** Words in the node's category bitset. */
  catLength: Int32Array;
  catWords: Uint32Array;
  hasCategorical: boolean;
  roots: Int32Array;
  treeGroup: Int32Array;
  numGroups: number;
  numFeature: number;
  /** Base margin per group (float32 values). */
  baseMargin: Float32Array;
}

function sharedArray<T>(Ctor: new (buffer: SharedArrayBuffer) => T, bytesPerElement: number, length: number): T {
  return new Ctor(new SharedArrayBuffer(Math.max(1, length) * bytesPerElement));
}

/** Builds the flat arrays for trees [begin, end) of `model`. */
export function compileForest(model: XgbModel, begin = 0, end = model.trees.length): Forest {
  const trees = model.trees.slice(begin, end);
  const total = trees.reduce((n, t) => n + t.left.length, 0);
  const feature = sharedArray(Int32Array, 4, total);
  const value = sharedArray(Float32Array, 4, total);
  const child = sharedArray(Int32Array, 4, total);
  const missingRight = sharedArray(Uint8Array, 1, total);
  const catStart = sharedArray(Int32Array, 4, total);
  const catLength = sharedArray(Int32Array, 4, total);
  const words: number[] = [];
  const roots = sharedArray(Int32Array, 4, trees.length);
  const treeGroup = sharedArray(Int32Array, 4, trees.length);
  let next = 0;
  trees.forEach((tree, i) => {
    const weight = Math.fround(model.treeWeight[begin + i]);
    roots[i] = next;
    treeGroup[i] = model.treeGroup[begin + i];
    // Breadth-first renumbering: `order[k]` is the original id of new node root+k.
    const order = [0];
    const place = new Map<number, number>([[0, next]]);
    let allocated = next + 1;
    for (let k = 0; k < order.length; k++) {
      const id = order[k];
      const at = place.get(id)!;
      const left = tree.left[id];
      catStart[at] = -1;
      if (left === -1) {
        feature[at] = -1;
        value[at] = weight === 1 ? tree.splitCondition[id] : Math.fround(Math.fround(tree.splitCondition[id]) * weight);
        continue;
      }
      const right = tree.right[id];
      feature[at] = tree.splitIndex[id];
      value[at] = tree.splitCondition[id];
      missingRight[at] = tree.defaultLeft[id] ? 0 : 1;
      child[at] = allocated;
      place.set(left, allocated);
      place.set(right, allocated + 1);
      order.push(left, right);
      allocated += 2;
      if (tree.splitType && tree.splitType[id] === 1) {
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
  const catWords = sharedArray(Uint32Array, 4, words.length);
  catWords.set(words.map((w) => w >>> 0));
  return {
    feature,
    value,
    child,
    missingRight,
    catStart,
    catLength,
    catWords,
    hasCategorical: words.length > 0 || Array.from(catStart.subarray(0, next)).some((s) => s >= 0),
    roots,
    treeGroup,
    numGroups: model.numGroups,
    numFeature: model.numFeature,
    baseMargin: Float32Array.from(model.baseMargin),
  };
}

const ROW_BLOCK = 64;
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
  const { feature, value, child, missingRight, roots, treeGroup, numGroups } = forest;
  const numTrees = roots.length;
  for (let b = rowBegin; b < rowEnd; b += ROW_BLOCK) {
    const blockEnd = Math.min(b + ROW_BLOCK, rowEnd);
    for (let t = 0; t < numTrees; t++) {
      const root = roots[t];
      const g = treeGroup[t];
      for (let r = b; r < blockEnd; r++) {
        const base = r * stride;
        let n = root;
        let f = feature[n];
        while (f >= 0) {
          const v = x[base + f];
          n = child[n] + (v < value[n] ? 0 : v === v ? 1 : missingRight[n]);
          f = feature[n];
        }
        out[(r - rowBegin) * numGroups + g] += value[n];
      }
    }
  }
}

function accumulateCategorical(forest: Forest, x: Float32Array, stride: number, rowBegin: number, rowEnd: number, out: Float32Array): void {
  const { feature, value, child, missingRight, catStart, catLength, catWords, roots, treeGroup, numGroups } = forest;
  const numTrees = roots.length;
  for (let b = rowBegin; b < rowEnd; b += ROW_BLOCK) {
    const blockEnd = Math.min(b + ROW_BLOCK, rowEnd);
    for (let t = 0; t < numTrees; t++) {
      const root = roots[t];
      const g = treeGroup[t];
      for (let r = b; r < blockEnd; r++) {
        const base = r * stride;
        let n = root;
        let f = feature[n];
        while (f >= 0) {
          const v = x[base + f];
          const cs = catStart[n];
          if (v !== v) {
            n = child[n] + missingRight[n];
          } else if (cs < 0) {
            n = child[n] + (v < value[n] ? 0 : 1);
          } else {
            let right = 0;
            if (v >= 0 && v < MAX_CATEGORY) {
              const c = v | 0;
              const word = c >>> 5;
              if (word < catLength[n]) right = (catWords[cs + word] >>> (c & 31)) & 1;
            }
            n = child[n] + right;
          }
          f = feature[n];
        }
        out[(r - rowBegin) * numGroups + g] += value[n];
      }
    }
  }
}

/** Fills `out` (rows × numGroups) with the base margins. */
export function fillBase(forest: Forest, out: Float32Array): void {
  const k = forest.numGroups;
  for (let i = 0; i < out.length; i++) out[i] = forest.baseMargin[i % k];
}
