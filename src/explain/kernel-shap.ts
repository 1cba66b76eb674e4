/**
 * KernelSHAP (Lundberg & Lee 2017) for any model: Shapley values as the solution of a weighted
 * linear regression over feature coalitions, an absent feature taking the background's values.
 * Coalitions are chosen as shap's KernelExplainer does: subset sizes paired with their
 * complements, whole sizes enumerated (smallest first) while the budget covers them, the rest
 * sampled by the Shapley kernel's size weights with the sampled weights rescaled to the mass
 * left. With a budget of 2^M − 2 every coalition is enumerated and the values are exact. The
 * regression is constrained to add up to f(x) − E[f] by eliminating the last varying feature.
 * Features equal to every background value get 0 and are left out of the game.
 */
import { invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import type { Background } from './background.js';
import { weightedLeastSquares } from './linalg.js';
import { evaluate, type Attributions, type ModelFn } from './types.js';

export interface KernelOptions {
  /** Coalitions per row; default 2M + 2048 (capped at 2^M − 2, which enumerates them all). */
  budget?: number;
  seed?: number;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

interface Coalitions {
  masks: Uint8Array[];
  weights: number[];
}

/** Enumerates the k-subsets of 0..m-1 in lexicographic order. */
function* subsets(m: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield idx.slice();
    let i = k - 1;
    while (i >= 0 && idx[i] === m - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}

export function coalitions(m: number, budget: number, random: () => number): Coalitions {
  const masks: Uint8Array[] = [];
  const weights: number[] = [];
  const index = new Map<string, number>();
  const add = (mask: Uint8Array, w: number) => {
    const key = mask.join('');
    const at = index.get(key);
    if (at !== undefined) {
      weights[at] += w;
      return false;
    }
    index.set(key, masks.length);
    masks.push(mask);
    weights.push(w);
    return true;
  };
  const sizes = Math.ceil((m - 1) / 2);
  const paired = Math.floor((m - 1) / 2);
  const kernel = Array.from({ length: sizes }, (_, i) => ((m - 1) / ((i + 1) * (m - i - 1))) * (i < paired ? 2 : 1));
  const total = kernel.reduce((a, b) => a + b, 0);
  for (let i = 0; i < sizes; i++) kernel[i] /= total;
  let left = budget;
  let remaining = kernel.slice();
  let full = 0;
  for (let s = 1; s <= sizes; s++) {
    const isPaired = s <= paired;
    const count = binomial(m, s) * (isPaired ? 2 : 1);
    if ((left * remaining[s - 1]) / count < 1 - 1e-8) break;
    full++;
    left -= count;
    if (remaining[s - 1] < 1) remaining = remaining.map((v) => v / (1 - remaining[s - 1]));
    const w = kernel[s - 1] / binomial(m, s) / (isPaired ? 2 : 1);
    for (const inds of subsets(m, s)) {
      const mask = new Uint8Array(m);
      for (const i of inds) mask[i] = 1;
      add(mask, w);
      if (isPaired) add(mask.map((v) => 1 - v), w);
    }
  }
  const fixed = masks.length;
  if (full < sizes && left > 0) {
    const rest = kernel.map((v, i) => (i < paired ? v / 2 : v)).slice(full);
    const restTotal = rest.reduce((a, b) => a + b, 0);
    // Each draw is a new coalition, or adds weight to one drawn before; draws are capped so a
    // budget far above the remaining coalitions still ends.
    for (let draws = 0; left > 0 && draws < budget * 20; draws++) {
      let u = random() * restTotal;
      let s = full;
      while (s < sizes - 1 && u > rest[s - full]) u -= rest[s++ - full];
      const size = s + 1;
      const order = Array.from({ length: m }, (_, i) => i);
      const mask = new Uint8Array(m);
      for (let i = 0; i < size; i++) {
        const j = i + Math.floor(random() * (m - i));
        [order[i], order[j]] = [order[j], order[i]];
        mask[order[i]] = 1;
      }
      if (add(mask, 1)) left--;
      if (left > 0 && size <= paired && add(mask.map((v) => 1 - v), 1)) left--;
    }
    const leftWeight = kernel.slice(full).reduce((a, b) => a + b, 0);
    const sampled = weights.slice(fixed).reduce((a, b) => a + b, 0);
    for (let i = fixed; i < weights.length; i++) weights[i] *= leftWeight / sampled;
  }
  return { masks, weights };
}

/** Weighted mean of the model over the background: E[f], per output. */
export async function expectedValue(f: ModelFn, bg: Background, groups: number): Promise<Float64Array> {
  const out = await evaluate(f, bg.data, bg.rows, bg.features, groups);
  const ev = new Float64Array(groups);
  for (let b = 0; b < bg.rows; b++) for (let g = 0; g < groups; g++) ev[g] += bg.weights[b] * out[b * groups + g];
  return ev;
}

function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** SHAP values of `rows` rows of `x` (rows × bg.features) for a model with `groups` outputs. */
export async function kernelShap(f: ModelFn, groups: number, bg: Background, x: Float64Array, rows: number, options: KernelOptions = {}): Promise<Attributions> {
  const F = bg.features;
  if (x.length !== rows * F) throw invalidArgument(`inputs: expected ${rows} rows of ${F} features, got ${x.length} values`);
  if (options.budget !== undefined && (!Number.isInteger(options.budget) || options.budget < 1)) {
    throw invalidArgument(`budget: ${options.budget} must be a whole number from 1`);
  }
  const random = mulberry32(options.seed ?? 0);
  const ev = await expectedValue(f, bg, groups);
  const fx = await evaluate(f, x, rows, F, groups);
  const values = new Float64Array(rows * groups * F);
  const base = new Float64Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    base.set(ev, r * groups);
    const xr = x.subarray(r * F, (r + 1) * F);
    const varying: number[] = [];
    for (let j = 0; j < F; j++) {
      for (let b = 0; b < bg.rows; b++) {
        if (!same(bg.data[b * F + j], xr[j])) {
          varying.push(j);
          break;
        }
      }
    }
    const M = varying.length;
    const out = (g: number, j: number) => (r * groups + g) * F + j;
    if (M === 0) continue;
    if (M === 1) {
      for (let g = 0; g < groups; g++) values[out(g, varying[0])] = fx[r * groups + g] - ev[g];
      continue;
    }
    const budget = Math.min(options.budget ?? 2 * M + 2048, M <= 30 ? 2 ** M - 2 : Infinity);
    const { masks, weights } = coalitions(M, budget, random);
    const n = masks.length;
    const synth = new Float64Array(n * bg.rows * F);
    for (let c = 0; c < n; c++) {
      const mask = masks[c];
      for (let b = 0; b < bg.rows; b++) {
        const o = (c * bg.rows + b) * F;
        synth.set(bg.data.subarray(b * F, (b + 1) * F), o);
        for (let i = 0; i < M; i++) if (mask[i]) synth[o + varying[i]] = xr[varying[i]];
      }
    }
    const ys = await evaluate(f, synth, n * bg.rows, F, groups);
    // Regression on the first M−1 varying features; the last one's value is what makes the sum right.
    const design = new Float64Array(n * (M - 1));
    const target = new Float64Array(n * groups);
    for (let c = 0; c < n; c++) {
      const last = masks[c][M - 1];
      for (let i = 0; i < M - 1; i++) design[c * (M - 1) + i] = masks[c][i] - last;
      for (let g = 0; g < groups; g++) {
        let y = 0;
        for (let b = 0; b < bg.rows; b++) y += bg.weights[b] * ys[(c * bg.rows + b) * groups + g];
        target[c * groups + g] = y - ev[g] - last * (fx[r * groups + g] - ev[g]);
      }
    }
    const beta = weightedLeastSquares(design, target, weights, n, M - 1, groups);
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      for (let i = 0; i < M - 1; i++) {
        values[out(g, varying[i])] = beta[i * groups + g];
        sum += beta[i * groups + g];
      }
      values[out(g, varying[M - 1])] = fx[r * groups + g] - ev[g] - sum;
    }
  }
  return { rows, groups, features: F, values, base };
}
