/**
 * The inner loops of a fit, shared by the fitting thread and its helper thread (each isolate
 * optimises its own copy): the histogram visits rows in the order given, so a bin's sum is the
 * same whichever thread builds it, and the partition keeps the rows' order.
 */

/**
 * One copy of the rows of a fit in node order, all in shared memory: `rows` the row indices,
 * `bins` their bins (a fixed stride of slots a row, features first, padded to whole 8-byte
 * words), `binWords` the same memory as 8-byte words, `gh` their gradient and hessian
 * interleaved. A fit keeps two: a partition reads a node's rows from one and writes its
 * children to the other, at the same positions.
 */
export interface NodeRows {
  rows: Uint32Array;
  bins: Uint16Array | Uint32Array;
  binWords: Float64Array;
  gh: Float64Array;
}

/**
 * 1 when a row with bin `b` goes right, else 0, without a branch: right when its bin is above
 * `bin` and below `edge` (so the missing index, the largest, goes right only when `edge` is above
 * it), or, given `rightBins`, when its bin is 1 there.
 */
function goesRight(b: number, bin: number, edge: number, rightBins: Uint8Array | undefined): number {
  return rightBins ? rightBins[b] : ((bin - b) >>> 31) & ((b - edge) >>> 31);
}

/** How many of rows [begin, end) of `src` go left (see goesRight). */
export function countLeft(src: NodeRows, stride: number, begin: number, end: number, feature: number, bin: number, edge: number, rightBins: Uint8Array | undefined): number {
  const bins = src.bins;
  let right = 0;
  for (let i = begin; i < end; i++) {
    const b = bins[i * stride + feature];
    right += goesRight(b, bin, edge, rightBins);
  }
  return end - begin - right;
}

/**
 * Copies rows [begin, end) of `src` to `dst`, keeping their order, those going left (as in
 * countLeft) from `leftAt` on and the others from `rightAt` on, with their `words` 8-byte words
 * of bins and their gradients; with no words, only the row indices (the children are leaves,
 * whose bins and gradients nothing reads).
 */
export function partitionRows(
  src: NodeRows,
  dst: NodeRows,
  stride: number,
  words: number,
  begin: number,
  end: number,
  leftAt: number,
  rightAt: number,
  feature: number,
  bin: number,
  edge: number,
  rightBins: Uint8Array | undefined,
): void {
  const { rows, bins, binWords, gh } = src;
  const { rows: toRows, binWords: toWords, gh: toGh } = dst;
  let l = leftAt;
  let r = rightAt;
  for (let i = begin; i < end; i++) {
    const b = bins[i * stride + feature];
    const right = goesRight(b, bin, edge, rightBins);
    const to = right === 1 ? r++ : l++;
    toRows[to] = rows[i];
    if (words === 0) continue;
    toGh[to << 1] = gh[i << 1];
    toGh[(to << 1) + 1] = gh[(i << 1) + 1];
    const from = i * words;
    const at = to * words;
    for (let w = 0; w < words; w++) toWords[at + w] = binWords[from + w];
  }
}

/**
 * Adds the gradient and hessian of rows [begin, end) to the global bins of the first `nf` of
 * `features` (ascending) in `hist`. `bins` and `gh` hold the rows in node order (row i's bins from
 * i·stride, its gradient and hessian at 2i and 2i + 1), so a node's rows are read front to back:
 * gathered through row indices instead, the rows of a deep node were mostly cache misses.
 */
export function addRowsToHist(
  hist: Float64Array,
  bins: Uint16Array | Uint32Array,
  stride: number,
  gh: Float64Array,
  begin: number,
  end: number,
  features: Int32Array,
  nf: number,
): void {
  // Four features per step: their loads and adds are independent, which the CPU overlaps.
  const unrolled = nf & ~3;
  const first = features[0];
  if (features[nf - 1] - first === nf - 1) {
    // Consecutive features (they ascend: every one, or the helper thread's half): read without
    // the indirection through `features`.
    for (let i = begin; i < end; i++) {
      const g = gh[i << 1];
      const h = gh[(i << 1) + 1];
      // Bins are indexed from the row's first on (j, j + 1, ...) rather than as base + j + 1 and
      // so on: a quarter fewer instructions a bin.
      const base = i * stride + first;
      let j = base;
      for (const last = base + unrolled; j < last; j += 4) {
        const a = bins[j] << 1;
        const b = bins[j + 1] << 1;
        const c = bins[j + 2] << 1;
        const d = bins[j + 3] << 1;
        hist[a] += g;
        hist[a + 1] += h;
        hist[b] += g;
        hist[b + 1] += h;
        hist[c] += g;
        hist[c + 1] += h;
        hist[d] += g;
        hist[d + 1] += h;
      }
      for (const last = base + nf; j < last; j++) {
        const idx = bins[j] << 1;
        hist[idx] += g;
        hist[idx + 1] += h;
      }
    }
    return;
  }
  for (let i = begin; i < end; i++) {
    const g = gh[i << 1];
    const h = gh[(i << 1) + 1];
    const base = i * stride;
    let j = 0;
    for (; j < unrolled; j += 4) {
      const a = bins[base + features[j]] << 1;
      const b = bins[base + features[j + 1]] << 1;
      const c = bins[base + features[j + 2]] << 1;
      const d = bins[base + features[j + 3]] << 1;
      hist[a] += g;
      hist[a + 1] += h;
      hist[b] += g;
      hist[b + 1] += h;
      hist[c] += g;
      hist[c + 1] += h;
      hist[d] += g;
      hist[d + 1] += h;
    }
    for (; j < nf; j++) {
      const idx = bins[base + features[j]] << 1;
      hist[idx] += g;
      hist[idx + 1] += h;
    }
  }
}

/**
 * addRowsToHist for rows left where they are, found through their indices rows[begin, end):
 * `bins` the training bins (`numFeature` a row), `gh` by row index. For data that stays in cache,
 * where gathering costs less than moving every row at every partition.
 */
export function addIndexedRowsToHist(
  hist: Float64Array,
  bins: Uint16Array | Uint32Array,
  numFeature: number,
  gh: Float64Array,
  rows: Uint32Array,
  begin: number,
  end: number,
  features: Int32Array,
  nf: number,
): void {
  if (nf === numFeature) {
    // Every feature: the bins of a row are consecutive, with no indirection through `features`;
    // four features a step, indexed as in addRowsToHist.
    const unrolled = nf & ~3;
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = gh[r << 1];
      const h = gh[(r << 1) + 1];
      const base = r * numFeature;
      let j = base;
      for (const last = base + unrolled; j < last; j += 4) {
        const a = bins[j] << 1;
        const b = bins[j + 1] << 1;
        const c = bins[j + 2] << 1;
        const d = bins[j + 3] << 1;
        hist[a] += g;
        hist[a + 1] += h;
        hist[b] += g;
        hist[b + 1] += h;
        hist[c] += g;
        hist[c + 1] += h;
        hist[d] += g;
        hist[d + 1] += h;
      }
      for (const last = base + numFeature; j < last; j++) {
        const idx = bins[j] << 1;
        hist[idx] += g;
        hist[idx + 1] += h;
      }
    }
    return;
  }
  for (let i = begin; i < end; i++) {
    const r = rows[i];
    const g = gh[r << 1];
    const h = gh[(r << 1) + 1];
    const base = r * numFeature;
    for (let j = 0; j < nf; j++) {
      const idx = bins[base + features[j]] << 1;
      hist[idx] += g;
      hist[idx + 1] += h;
    }
  }
}

/**
 * Moves the row indices of rows[begin, end) that go left (reading a row's bin of the split feature
 * at column[row], and that bin's direction in `right`, 1 for right) to its front, keeping their
 * order, and the others, in order, to the start of `scratch`; answers where the right part starts.
 * The caller copies the right part back: a copy after the loop had not run when the loop was
 * compiled in its middle, so the compiled code was thrown away where it reached the copy, three
 * times in a cold fit. Directions are looked up for numeric splits too: testing for every row
 * whether the split had a table cost more than the rest of the row's work.
 */
export function partitionIndexed(rows: Uint32Array, scratch: Uint32Array, column: Uint16Array | Uint32Array, begin: number, end: number, right: Uint8Array): number {
  let l = begin;
  let r = 0;
  // Without branches: each row is written to both sides and only one position advances.
  for (let i = begin; i < end; i++) {
    const row = rows[i];
    const toRight = right[column[row]];
    rows[l] = row;
    scratch[r] = row;
    l += toRight ^ 1;
    r += toRight;
  }
  return l;
}

/**
 * Adds leaves[0] or leaves[1] to margins[row·k + group] of each row of rows[begin, end), as the
 * split sends it left or right (as in partitionIndexed): a split whose children are leaves,
 * without partitioning. The value is looked up, not chosen by a branch no CPU could predict.
 */
export function addSplitLeaves(rows: Uint32Array, column: Uint16Array | Uint32Array, begin: number, end: number, right: Uint8Array, margins: Float64Array, k: number, group: number, leaves: Float64Array): void {
  for (let i = begin; i < end; i++) {
    const row = rows[i];
    const at = row * k + group;
    margins[at] = Math.fround(margins[at] + leaves[right[column[row]]]);
  }
}

/**
 * The bins of a row-major matrix (`numFeature` a row) feature by feature (into `out`, of the same
 * element size): a partition reads one feature's bins of a node's rows, which then lie together
 * instead of one per row of bins.
 */
export function featureMajor(bins: Uint16Array | Uint32Array, rows: number, numFeature: number, out: Uint16Array | Uint32Array = bins instanceof Uint32Array ? new Uint32Array(bins.length) : new Uint16Array(bins.length)): Uint16Array | Uint32Array {
  for (let f = 0; f < numFeature; f++) transposeFeature(bins, rows, numFeature, f, out);
  return out;
}

function transposeFeature(bins: Uint16Array | Uint32Array, rows: number, numFeature: number, f: number, out: Uint16Array | Uint32Array): void {
  for (let r = 0, at = f * rows; r < rows; r++) out[at + r] = bins[r * numFeature + f];
}
