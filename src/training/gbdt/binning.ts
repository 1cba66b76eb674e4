/**
 * Quantile binning: each feature's values are cut into at most `max_bin` bins once, and every
 * row is stored as bin indices. A value x falls into the first bin whose cut is greater than x,
 * so "bin ≤ b" is exactly "x < cuts[b]", the test XGBoost applies at prediction time; the cuts
 * are float32 values taken from the data, so the written thresholds reproduce the training
 * partitions bit for bit.
 */

/** Bin index of a missing value. */
export const MISSING_BIN = 0xffff;

export interface BinCuts {
  /** Cut values of all features, feature after feature (float32). */
  values: Float32Array;
  /** Where each feature's cuts start in `values`, plus the end. */
  offsets: Uint32Array;
}

/** A feature matrix as bin indices, row-major (row r, feature f at r·numFeature + f). */
export interface BinnedMatrix {
  rows: number;
  numFeature: number;
  bins: Uint16Array;
}

/**
 * Cuts from the non-missing values of each feature of a row-major float32 matrix. A feature with
 * at most `maxBin` distinct values gets one bin per value; otherwise the cuts sit at equal-count
 * quantiles of its values.
 */
export function computeCuts(x: Float32Array, rows: number, numFeature: number, maxBin: number): BinCuts {
  const perFeature: Float32Array[] = [];
  const column = new Float32Array(rows);
  for (let f = 0; f < numFeature; f++) {
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * numFeature + f];
      if (v === v) column[n++] = v;
    }
    const sorted = column.subarray(0, n).sort();
    const distinct: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i === 0 || sorted[i] !== sorted[i - 1]) {
        distinct.push(sorted[i]);
        counts.push(1);
      } else counts[counts.length - 1]++;
    }
    const cuts: number[] = [];
    if (distinct.length <= maxBin) {
      for (let i = 1; i < distinct.length; i++) cuts.push(distinct[i]);
    } else {
      // Equal-count quantiles over the rows, each cut at the first distinct value that starts a new bin.
      let seen = 0;
      let next = 1;
      for (let i = 0; i < distinct.length - 1 && cuts.length < maxBin - 1; i++) {
        seen += counts[i];
        if (seen >= (next * n) / maxBin) {
          cuts.push(distinct[i + 1]);
          while (next * n <= seen * maxBin) next++;
        }
      }
    }
    // The last bin's cut lies above every value: it is never a split threshold.
    const max = distinct.length > 0 ? distinct[distinct.length - 1] : 0;
    cuts.push(Math.fround(max + Math.abs(max) + 1e-5));
    perFeature.push(Float32Array.from(cuts));
  }
  const offsets = new Uint32Array(numFeature + 1);
  for (let f = 0; f < numFeature; f++) offsets[f + 1] = offsets[f] + perFeature[f].length;
  const values = new Float32Array(offsets[numFeature]);
  perFeature.forEach((c, f) => values.set(c, offsets[f]));
  return { values, offsets };
}

/** The bin of every cell of a row-major float32 matrix under `cuts` (NaN → MISSING_BIN). */
export function binMatrix(x: Float32Array, rows: number, numFeature: number, cuts: BinCuts): BinnedMatrix {
  const bins = new Uint16Array(rows * numFeature);
  const { values, offsets } = cuts;
  for (let f = 0; f < numFeature; f++) {
    const lo0 = offsets[f];
    const last = offsets[f + 1] - 1;
    for (let r = 0; r < rows; r++) {
      const i = r * numFeature + f;
      const v = x[i];
      if (v !== v) {
        bins[i] = MISSING_BIN;
        continue;
      }
      // First cut greater than v; values above every cut share the last bin.
      let lo = lo0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (values[mid] > v) hi = mid;
        else lo = mid + 1;
      }
      bins[i] = lo - lo0;
    }
  }
  return { rows, numFeature, bins };
}
