/**
 * Objectives as XGBoost 1.7 defines them: the gradient and hessian of each row's loss at its
 * current margin, the link from margin to prediction, and the evaluation metrics.
 */
import {
  averagePrecision,
  binaryLogLoss,
  errorRate,
  multiLogLoss,
  poissonNegLogLikelihood,
  rocAuc,
  squaredAndAbsoluteError,
} from '../../stats/metrics.js';
import type { EvalMetric, GbdtParams, Objective } from './params.js';

/** XGBoost's floor on hessians (float 1e-16), so a confident row still weighs something. */
const MIN_HESSIAN = Math.fround(1e-16);
/** The float 88.7 above which XGBoost's sigmoid stops raising e. */
const EXP_CAP = Math.fround(88.7);
/** The smallest normal float, where XGBoost's search for the largest margin starts. */
const FLT_MIN = 2 ** -126;

/**
 * Fills grad/hess (k per row, group-major: group g of row r at g·rows + r) for margins laid out
 * row-major (k per row). `weights` already holds sample and class weights.
 */
export function computeGradients(
  objective: Objective,
  params: GbdtParams,
  margins: Float64Array,
  labels: Float64Array,
  weights: Float64Array,
  k: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const rows = labels.length;
  const f = Math.fround;
  switch (objective) {
    case 'binary:logistic': {
      const spw = f(params.scale_pos_weight);
      for (let r = 0; r < rows; r++) {
        const p = sigmoid32(margins[r]);
        const w = labels[r] === 1 ? f(f(weights[r]) * spw) : f(weights[r]);
        grad[r] = f(f(p - f(labels[r])) * w);
        hess[r] = f(Math.max(f(p * f(1 - p)), MIN_HESSIAN) * w);
      }
      return;
    }
    case 'reg:squarederror':
      for (let r = 0; r < rows; r++) {
        const w = f(weights[r]);
        grad[r] = f(f(margins[r] - f(labels[r])) * w);
        hess[r] = w;
      }
      return;
    case 'count:poisson': {
      const mds = f(params.max_delta_step);
      for (let r = 0; r < rows; r++) {
        const w = f(weights[r]);
        grad[r] = f(f(f(Math.exp(margins[r])) - f(labels[r])) * w);
        hess[r] = f(f(Math.exp(f(margins[r] + mds))) * w);
      }
      return;
    }
    case 'multi:softprob': {
      for (let r = 0; r < rows; r++) {
        // XGBoost's softmax: the largest margin (floored at FLT_MIN, as its loop starts there)
        // subtracted, the sum in double, each probability in float.
        let max = FLT_MIN;
        for (let g = 0; g < k; g++) max = Math.max(margins[r * k + g], max);
        let sum = 0;
        for (let g = 0; g < k; g++) sum += f(Math.exp(f(margins[r * k + g] - max)));
        const total = f(sum);
        const w = f(weights[r]);
        for (let g = 0; g < k; g++) {
          const p = f(f(Math.exp(f(margins[r * k + g] - max))) / total);
          hess[g * rows + r] = Math.max(f(f(f(2 * p) * f(1 - p)) * w), MIN_HESSIAN);
          grad[g * rows + r] = f((labels[r] === g ? f(p - 1) : p) * w);
        }
      }
      return;
    }
  }
}

/**
 * XGBoost's float sigmoid: exp's argument capped so it cannot overflow, a tiny term against
 * division by zero. 1 + e is added as two halves, the same float for every float e ≥ 0 (all
 * compared): a first round's margins are all 0, whose e = 1 and 1 + 1 left feedback for small
 * integers only, so the optimised gradients were thrown away at the second round's first row.
 */
function sigmoid32(x: number): number {
  const f = Math.fround;
  return f(1 / f(f(expFloat(Math.min(-x, EXP_CAP)) + 0.5 + 0.5) + MIN_HESSIAN));
}

/** 2^(j/32), j = 0..31. */
const EXP2_FRACTION = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));
/** 2^(m - 128), exact. */
const EXP2_WHOLE = Float64Array.from({ length: 256 }, (_, m) => 2 ** (m - 128));
const INV_LN2_32 = 32 / Math.LN2;
/** ln2/32 as a double of 32 significant bits, so k times it is exact for |k| < 2^21, and the rest. */
const LN2_32_HIGH = 0.02166084938653512;
const LN2_32_LOW = 5.9631716539705866e-12;
/** 1.5·2^52: added to a double of magnitude under 2^51 and taken off again, it rounds it to a whole number (Math.round cost as much as Math.exp). */
const ROUNDER = 6755399441055744;

/**
 * Math.exp(y) rounded to float, bit for bit for every float y in [-80.5, 88.7] (all 2.2·10⁹ of them
 * were compared; margins, hence sigmoid32's arguments, are floats), in less time than Math.exp,
 * which took half of a small fit's gradients: exp(y) = 2^(k/32)·exp(r) with |r| ≤ ln2/64, exp(r)
 * by its Taylor series to r⁶, within a few double roundings of exp(y). That this always rounds to
 * Math.exp's float is the comparison's finding, not a bound's: with ln2/32 in one double and the
 * series to r⁵ (3·10⁻¹⁴ off) two floats differed. Other arguments go to Math.exp.
 */
export function expFloat(y: number): number {
  // A bound that is no whole number: a first round's arguments are all 0, and against -80 they left
  // feedback for small integers only, so the optimised code was thrown away at the first fraction.
  if (!(y >= -80.5 && y <= EXP_CAP)) return Math.fround(Math.exp(y));
  const k = y * INV_LN2_32 + ROUNDER - ROUNDER;
  const r = y - k * LN2_32_HIGH - k * LN2_32_LOW;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  return Math.fround(EXP2_FRACTION[k & 31] * EXP2_WHOLE[(k >> 5) + 128] * p);
}

function softmaxRow(margins: ArrayLike<number>, offset: number, k: number, out: Float64Array): void {
  let max = -Infinity;
  for (let g = 0; g < k; g++) max = Math.max(max, margins[offset + g]);
  let sum = 0;
  for (let g = 0; g < k; g++) sum += out[g] = Math.exp(margins[offset + g] - max);
  for (let g = 0; g < k; g++) out[g] /= sum;
}

/** Predictions (probabilities, means or values) from row-major margins. */
export function transformMargins(objective: Objective, margins: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(margins.length);
  if (objective === 'binary:logistic') for (let i = 0; i < margins.length; i++) out[i] = 1 / (1 + Math.exp(-margins[i]));
  else if (objective === 'count:poisson') for (let i = 0; i < margins.length; i++) out[i] = Math.exp(margins[i]);
  else if (objective === 'multi:softprob') {
    const p = new Float64Array(k);
    for (let r = 0; r < margins.length / k; r++) {
      softmaxRow(margins, r * k, k, p);
      out.set(p, r * k);
    }
  } else out.set(margins as Float64Array);
  return out;
}

/** The starting margin of every group: base_score through the inverse link (multi-class starts at base_score, as XGBoost does). */
export function baseMargin(objective: Objective, baseScore: number): number {
  if (objective === 'binary:logistic') return -Math.log(1 / baseScore - 1);
  if (objective === 'count:poisson') return Math.log(baseScore);
  return baseScore;
}

export const MAXIMIZED: ReadonlySet<EvalMetric> = new Set(['auc', 'aucpr']);

/** One evaluation metric of predictions (as transformMargins gives them) against labels; `positives` marks label 1. */
export function evalMetric(metric: EvalMetric, predictions: Float64Array, labels: Float64Array, k: number, weights: Float64Array | undefined, positives: Uint8Array): number {
  const isPositive = positives as unknown as ArrayLike<boolean>;
  switch (metric) {
    case 'logloss':
      return binaryLogLoss(predictions, isPositive, weights);
    case 'auc': {
      const v = rocAuc(predictions, isPositive);
      return typeof v === 'number' ? v : NaN;
    }
    case 'aucpr': {
      const v = averagePrecision(predictions, isPositive);
      return typeof v === 'number' ? v : NaN;
    }
    case 'error':
    case 'merror':
      return errorRate(predictions, labels, k, weights);
    case 'mlogloss':
      return multiLogLoss(predictions, labels, k, weights);
    case 'rmse':
      return squaredAndAbsoluteError(labels, predictions, weights).rmse;
    case 'mae':
      return squaredAndAbsoluteError(labels, predictions, weights).mae;
    case 'poisson-nloglik':
      return poissonNegLogLikelihood(labels, predictions, weights);
  }
}
