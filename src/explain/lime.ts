/**
 * LIME for tabular data (Ribeiro et al. 2016), as lime's LimeTabularExplainer does without
 * discretisation: perturbations drawn from the training distribution's per-feature normal
 * (mean and standard deviation of the background), or around the instance; each weighted by an
 * exponential kernel of its scaled distance to the instance (width 0.75·√M); the top-k
 * features chosen (forward selection up to 6, else the largest weights of a full fit); and a
 * weighted ridge regression (α = 1) on the scaled features.
 *
 * The answer is additive like SHAP's: feature j's attribution is its coefficient times the
 * instance's scaled value, coef_j·(x_j − μ_j)/σ_j, and the base value is the intercept (the
 * local model at the mean), so base + Σ attributions is the local model's prediction at x.
 * `weights` holds the local model's slopes in the features' own units (coef_j / σ_j).
 */
import { invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { columnStats, type Background } from './background.js';
import { weightedLeastSquares } from './linalg.js';
import { evaluate, type Attributions, type ModelFn } from './types.js';

export interface LimeOptions {
  /** Perturbed samples per row (default 5000, as lime). */
  samples?: number;
  /** Features kept in the local model (default 10). */
  topK?: number;
  /** Draw perturbations around the instance instead of around the training mean (lime's sample_around_instance). */
  aroundInstance?: boolean;
  /** Kernel width (default 0.75·√features). */
  kernelWidth?: number;
  seed?: number;
}

export interface LimeResult extends Attributions {
  /** rows × groups × features: the local model's slope per feature in its own units (0 when not selected). */
  weights: Float64Array;
  /** rows × groups: weighted R² of the local model. */
  score: Float64Array;
}

const RIDGE = 1;
const FORWARD_SELECTION_MAX = 6;

function gaussian(random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

interface Fit {
  coef: Float64Array;
  intercept: number;
  score: number;
}

/** Weighted ridge regression with an unpenalised intercept, on the columns `cols` of z (n × F). */
function ridgeFit(z: Float64Array, y: Float64Array, w: Float64Array, n: number, F: number, cols: number[], g: number, groups: number): Fit {
  const k = cols.length;
  let wsum = 0;
  let ym = 0;
  const zm = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    wsum += w[i];
    ym += w[i] * y[i * groups + g];
    for (let c = 0; c < k; c++) zm[c] += w[i] * z[i * F + cols[c]];
  }
  ym /= wsum;
  for (let c = 0; c < k; c++) zm[c] /= wsum;
  // Centring on the weighted means leaves the intercept out of the penalty, as scikit-learn's Ridge does.
  const xc = new Float64Array(n * k);
  const yc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    yc[i] = y[i * groups + g] - ym;
    for (let c = 0; c < k; c++) xc[i * k + c] = z[i * F + cols[c]] - zm[c];
  }
  const coef = k > 0 ? weightedLeastSquares(xc, yc, w, n, k, 1, RIDGE) : new Float64Array(0);
  let intercept = ym;
  for (let c = 0; c < k; c++) intercept -= coef[c] * zm[c];
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    let pred = 0;
    for (let c = 0; c < k; c++) pred += coef[c] * xc[i * k + c];
    ssRes += w[i] * (yc[i] - pred) ** 2;
    ssTot += w[i] * yc[i] ** 2;
  }
  return { coef, intercept, score: ssTot > 0 ? 1 - ssRes / ssTot : 1 };
}

function selectFeatures(z: Float64Array, y: Float64Array, w: Float64Array, n: number, F: number, topK: number, g: number, groups: number): number[] {
  const all = Array.from({ length: F }, (_, j) => j);
  if (topK >= F) return all;
  if (topK <= FORWARD_SELECTION_MAX) {
    const chosen: number[] = [];
    for (let step = 0; step < topK; step++) {
      let best = -1;
      let bestScore = -Infinity;
      for (const j of all) {
        if (chosen.includes(j)) continue;
        const s = ridgeFit(z, y, w, n, F, [...chosen, j], g, groups).score;
        if (s > bestScore) [best, bestScore] = [j, s];
      }
      chosen.push(best);
    }
    return chosen.sort((a, b) => a - b);
  }
  const full = ridgeFit(z, y, w, n, F, all, g, groups);
  return all.sort((a, b) => Math.abs(full.coef[b]) - Math.abs(full.coef[a])).slice(0, topK).sort((a, b) => a - b);
}

export async function lime(f: ModelFn, groups: number, bg: Background, x: Float64Array, rows: number, options: LimeOptions = {}): Promise<LimeResult> {
  const F = bg.features;
  if (x.length !== rows * F) throw invalidArgument(`inputs: expected ${rows} rows of ${F} features, got ${x.length} values`);
  const samples = options.samples ?? 5000;
  if (!Number.isInteger(samples) || samples < 10) throw invalidArgument(`samples: ${samples} must be a whole number from 10`);
  const topK = Math.min(F, options.topK ?? 10);
  if (!Number.isInteger(topK) || topK < 1) throw invalidArgument(`top_k: ${options.topK} must be a whole number from 1`);
  const width = options.kernelWidth ?? 0.75 * Math.sqrt(F);
  const { mean, std } = columnStats(bg);
  const scale = Float64Array.from(std, (s) => (s > 0 ? s : 1));
  const random = mulberry32(options.seed ?? 0);
  const values = new Float64Array(rows * groups * F);
  const weightsOut = new Float64Array(rows * groups * F);
  const base = new Float64Array(rows * groups);
  const score = new Float64Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    const xr = Float64Array.from(x.subarray(r * F, (r + 1) * F), (v, j) => (v === v ? v : mean[j]));
    const data = new Float64Array(samples * F);
    const z = new Float64Array(samples * F);
    data.set(xr);
    for (let i = 1; i < samples; i++) {
      for (let j = 0; j < F; j++) data[i * F + j] = gaussian(random) * scale[j] + (options.aroundInstance ? xr[j] : mean[j]);
    }
    for (let i = 0; i < samples * F; i++) z[i] = (data[i] - mean[i % F]) / scale[i % F];
    const w = new Float64Array(samples);
    for (let i = 0; i < samples; i++) {
      let d = 0;
      for (let j = 0; j < F; j++) d += (z[i * F + j] - z[j]) ** 2;
      w[i] = Math.sqrt(Math.exp(-d / (width * width)));
    }
    const y = await evaluate(f, data, samples, F, groups);
    for (let g = 0; g < groups; g++) {
      const cols = selectFeatures(z, y, w, samples, F, topK, g, groups);
      const fit = ridgeFit(z, y, w, samples, F, cols, g, groups);
      const o = (r * groups + g) * F;
      base[r * groups + g] = fit.intercept;
      score[r * groups + g] = fit.score;
      cols.forEach((j, c) => {
        values[o + j] = fit.coef[c] * z[j];
        weightsOut[o + j] = fit.coef[c] / scale[j];
      });
    }
  }
  return { rows, groups, features: F, values, base, weights: weightsOut, score };
}
