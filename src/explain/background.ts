/**
 * Background data for the model-agnostic explainers: the rows whose values stand in for an
 * "absent" feature. A random sample, or a k-means summary (as shap.kmeans: Lloyd's algorithm
 * from a k-means++ start, each centre weighted by its cluster's share of the rows and snapped,
 * feature by feature, to the nearest value the data holds, so integer and coded features keep
 * real values).
 */
import { invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';

export interface Background {
  /** rows × features, row-major; NaN = missing. */
  data: Float64Array;
  rows: number;
  features: number;
  /** Weight per row, summing to 1. */
  weights: Float64Array;
}

export type BackgroundMethod = 'kmeans' | 'random';

export interface SummaryOptions {
  method?: BackgroundMethod;
  /** Rows to keep (default 100). */
  size?: number;
  seed?: number;
}

const KMEANS_ROUNDS = 50;

export function uniformBackground(data: Float64Array, rows: number, features: number): Background {
  if (rows < 1) throw invalidArgument('background: at least one row is needed');
  return { data, rows, features, weights: new Float64Array(rows).fill(1 / rows) };
}

/** A background of at most `size` rows summarising `data` (rows × features). */
export function summarize(data: Float64Array, rows: number, features: number, options: SummaryOptions = {}): Background {
  const size = options.size ?? 100;
  if (!Number.isInteger(size) || size < 1) throw invalidArgument(`background size: ${size} must be a whole number from 1`);
  if (rows < 1) throw invalidArgument('background: the data has no rows');
  if (rows <= size) return uniformBackground(data, rows, features);
  const random = mulberry32(options.seed ?? 0);
  return (options.method ?? 'kmeans') === 'random' ? sample(data, rows, features, size, random) : kmeans(data, rows, features, size, random);
}

function sample(data: Float64Array, rows: number, features: number, size: number, random: () => number): Background {
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (rows - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out = new Float64Array(size * features);
  for (let i = 0; i < size; i++) out.set(data.subarray(order[i] * features, (order[i] + 1) * features), i * features);
  return uniformBackground(out, size, features);
}

function kmeans(data: Float64Array, rows: number, features: number, k: number, random: () => number): Background {
  // Missing values take the column mean for the distances; the snapped centres never hold NaN
  // unless a column is all missing.
  const means = new Float64Array(features);
  const counts = new Float64Array(features);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < features; f++) {
      const v = data[r * features + f];
      if (v === v) {
        means[f] += v;
        counts[f]++;
      }
    }
  }
  for (let f = 0; f < features; f++) means[f] = counts[f] > 0 ? means[f] / counts[f] : NaN;
  const x = Float64Array.from(data, (v, i) => (v === v ? v : means[i % features]));
  const dist = (r: number, c: Float64Array, ci: number) => {
    let s = 0;
    for (let f = 0; f < features; f++) {
      const d = x[r * features + f] - c[ci * features + f];
      if (d === d) s += d * d;
    }
    return s;
  };
  const centres = new Float64Array(k * features);
  const nearest = new Float64Array(rows).fill(Infinity);
  let pick = Math.floor(random() * rows);
  for (let c = 0; c < k; c++) {
    centres.set(x.subarray(pick * features, (pick + 1) * features), c * features);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      nearest[r] = Math.min(nearest[r], dist(r, centres, c));
      total += nearest[r];
    }
    let u = random() * total;
    pick = rows - 1;
    for (let r = 0; r < rows; r++) {
      u -= nearest[r];
      if (u <= 0) {
        pick = r;
        break;
      }
    }
  }
  const assign = new Int32Array(rows).fill(-1);
  const sizes = new Float64Array(k);
  for (let round = 0; round < KMEANS_ROUNDS; round++) {
    let moved = false;
    for (let r = 0; r < rows; r++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const d = dist(r, centres, c);
        if (d < bestD) [best, bestD] = [c, d];
      }
      if (assign[r] !== best) [assign[r], moved] = [best, true];
    }
    if (!moved) break;
    const sums = new Float64Array(k * features);
    sizes.fill(0);
    for (let r = 0; r < rows; r++) {
      sizes[assign[r]]++;
      for (let f = 0; f < features; f++) sums[assign[r] * features + f] += x[r * features + f];
    }
    for (let c = 0; c < k; c++) if (sizes[c] > 0) for (let f = 0; f < features; f++) centres[c * features + f] = sums[c * features + f] / sizes[c];
  }
  sizes.fill(0);
  for (let r = 0; r < rows; r++) sizes[assign[r]]++;
  const kept = Array.from({ length: k }, (_, c) => c).filter((c) => sizes[c] > 0);
  const out = new Float64Array(kept.length * features);
  const weights = new Float64Array(kept.length);
  kept.forEach((c, i) => {
    weights[i] = sizes[c] / rows;
    for (let f = 0; f < features; f++) out[i * features + f] = snap(data, rows, features, f, centres[c * features + f]);
  });
  return { data: out, rows: kept.length, features, weights };
}

/** The observed value of feature f closest to v. */
function snap(data: Float64Array, rows: number, features: number, f: number, v: number): number {
  let best = NaN;
  let bestD = Infinity;
  for (let r = 0; r < rows; r++) {
    const d = Math.abs(data[r * features + f] - v);
    if (d < bestD) [best, bestD] = [data[r * features + f], d];
  }
  return best;
}

/** Column means and standard deviations (weighted by the rows' weights), ignoring missing values. */
export function columnStats(bg: Background): { mean: Float64Array; std: Float64Array } {
  const { data, rows, features, weights } = bg;
  const mean = new Float64Array(features);
  const std = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    let w = 0;
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const v = data[r * features + f];
      if (v === v) [w, s] = [w + weights[r], s + weights[r] * v];
    }
    const m = w > 0 ? s / w : 0;
    let q = 0;
    for (let r = 0; r < rows; r++) {
      const v = data[r * features + f];
      if (v === v) q += weights[r] * (v - m) ** 2;
    }
    mean[f] = m;
    std[f] = w > 0 ? Math.sqrt(q / w) : 0;
  }
  return { mean, std };
}
