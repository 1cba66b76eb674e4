/**
 * The histogram inner loop, shared by the fitting thread and its helper thread (each isolate
 * optimises its own copy): rows are visited in the order given, so a bin's sum is the same
 * whichever thread builds it.
 */

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
