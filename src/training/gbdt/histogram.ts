/**
 * The histogram inner loop, shared by the fitting thread and its helper thread (each isolate
 * optimises its own copy): rows are visited in the order given, so a bin's sum is the same
 * whichever thread builds it.
 */

/**
 * Adds the gradient and hessian (interleaved in `gh`) of rows[begin, end) to the global bins of
 * the first `nf` of `features` in `hist`; `bins` is row-major with `numFeature` per row.
 */
export function addRowsToHist(
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
    // Every feature: the bins of a row are consecutive, with no indirection through `features`.
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = gh[r << 1];
      const h = gh[(r << 1) + 1];
      const base = r * numFeature;
      for (let f = 0; f < numFeature; f++) {
        const idx = bins[base + f] << 1;
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
