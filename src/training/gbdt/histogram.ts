/**
 * The inner loops of a fit, shared by the fitting thread and its helper thread (each isolate
 * optimises its own copy): the histogram visits rows in the order given, so a bin's sum is the
 * same whichever thread builds it, and the partition keeps the rows' order.
 */

/**
 * The rows of a fit in node order, all in shared memory: `rows` the row indices, `bins` their
 * bins (`stride` slots a row, features first, padded to whole 8-byte words), `binWords` the
 * same memory as 8-byte words, `gh` their gradient and hessian interleaved; the scratch arrays
 * take the rows a partition sends right, at the same positions.
 */
export interface NodeRows {
  rows: Uint32Array;
  bins: Uint16Array | Uint32Array;
  binWords: Float64Array;
  stride: number;
  gh: Float64Array;
  scratch: Uint32Array;
  scratchWords: Float64Array;
  scratchGh: Float64Array;
}

/**
 * Moves the rows of [begin, end) that go left to its front, keeping their order, with their
 * gradients and (`words` a row, 0 when no histogram will read them) bins; the rows that go right
 * are written to the scratch arrays from position `begin` on, in order. Answers how many went
 * left. A row goes right when its bin is above `bin` and below `edge` (so the missing index, the
 * largest, goes right only when `edge` is above it), or, given `rightBins`, when its bin is 1 there.
 */
export function partitionRows(
  node: NodeRows,
  words: number,
  begin: number,
  end: number,
  feature: number,
  bin: number,
  edge: number,
  rightBins: Uint8Array | undefined,
): number {
  const { rows, bins, binWords, stride, gh, scratch, scratchWords, scratchGh } = node;
  let l = begin;
  let r = begin;
  for (let i = begin; i < end; i++) {
    const b = bins[i * stride + feature];
    const right = rightBins ? rightBins[b] : ((bin - b) >>> 31) & ((b - edge) >>> 31);
    const row = rows[i];
    const g = gh[i << 1];
    const h = gh[(i << 1) + 1];
    const from = i * words;
    if (right === 1) {
      scratch[r] = row;
      scratchGh[r << 1] = g;
      scratchGh[(r << 1) + 1] = h;
      const to = r * words;
      for (let w = 0; w < words; w++) scratchWords[to + w] = binWords[from + w];
      r++;
    } else {
      rows[l] = row;
      gh[l << 1] = g;
      gh[(l << 1) + 1] = h;
      const to = l * words;
      for (let w = 0; w < words; w++) binWords[to + w] = binWords[from + w];
      l++;
    }
  }
  return l - begin;
}

/**
 * Adds the gradient and hessian of rows [begin, end) to the global bins of the first `nf` of
 * `features` in `hist`. `bins` and `gh` hold the rows in node order (row i's bins from
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
