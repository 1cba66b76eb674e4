/**
 * Linear and logistic regression (binary and softmax multi-class) with L2, L1 or elastic-net
 * penalties under scikit-learn's convention (C weighs the summed loss; the intercept is not
 * penalised), standardisation built in (missing values take the training mean), solved with
 * L-BFGS, or FISTA when an L1 term is present. Exported as ONNX with the standardisation
 * folded into the weights.
 */
import { invalidArgument } from '../../core/errors.js';
import { buildOnnxModel, type NodeInit, type ValueInit } from '../../models/onnx/builder.js';
import type { FeatureMatrix, RoundReport, TrainingData } from '../types.js';
import type { LinearParams } from './params.js';
import { fista, lbfgs } from './solver.js';

export interface LinearModel {
  params: LinearParams;
  featureNames: string[];
  numFeature: number;
  /** Output groups: classes for multi:softprob, else 1. */
  numGroups: number;
  /** Per feature: the training mean (which also fills missing values) and the scale divided by. */
  mean: Float64Array;
  scale: Float64Array;
  /** Coefficients on the standardised features, group after group (numGroups × numFeature). */
  coef: Float64Array;
  intercept: Float64Array;
  iterations: number;
  /** Objective per solver iteration: curve.train.objective. */
  curve: Record<string, Record<string, number[]>>;
}

export interface LinearTrainOptions {
  onRound?: (report: RoundReport) => void;
}

function standardised(x: FeatureMatrix, mean: Float64Array, scale: Float64Array): Float64Array {
  const nf = x.numFeature;
  const z = new Float64Array(x.rows * nf);
  for (let i = 0; i < z.length; i++) {
    const f = i % nf;
    const v = x.x[i];
    z[i] = v === v ? (v - mean[f]) / scale[f] : 0;
  }
  return z;
}

function moments(data: FeatureMatrix, standardize: boolean): { mean: Float64Array; scale: Float64Array } {
  const nf = data.numFeature;
  const mean = new Float64Array(nf);
  const scale = new Float64Array(nf).fill(1);
  const count = new Float64Array(nf);
  const sq = new Float64Array(nf);
  for (let i = 0; i < data.x.length; i++) {
    const v = data.x[i];
    if (v === v) {
      mean[i % nf] += v;
      count[i % nf]++;
    }
  }
  for (let f = 0; f < nf; f++) mean[f] = count[f] > 0 ? mean[f] / count[f] : 0;
  if (!standardize) return { mean, scale };
  for (let i = 0; i < data.x.length; i++) {
    const v = data.x[i];
    if (v === v) sq[i % nf] += (v - mean[i % nf]) ** 2;
  }
  // A constant feature keeps scale 1 (as StandardScaler does), so it stays 0 after centring.
  for (let f = 0; f < nf; f++) scale[f] = count[f] > 0 && sq[f] > 0 ? Math.sqrt(sq[f] / count[f]) : 1;
  return { mean, scale };
}

function marginsOf(z: Float64Array, rows: number, nf: number, k: number, theta: Float64Array, out: Float64Array): void {
  // theta: k blocks of nf coefficients, then k intercepts.
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < k; g++) {
      let m = theta[k * nf + g];
      const w = g * nf;
      const base = r * nf;
      for (let f = 0; f < nf; f++) m += z[base + f] * theta[w + f];
      out[r * k + g] = m;
    }
  }
}

export function trainLinear(data: TrainingData, params: LinearParams, options: LinearTrainOptions = {}): LinearModel {
  const nf = data.numFeature;
  const n = data.rows;
  let k = 1;
  if (params.objective === 'multi:softprob') {
    for (const y of data.labels) k = Math.max(k, y + 1);
    if (k < 2) throw invalidArgument('multi:softprob needs at least 2 classes');
  }
  for (let i = 0; i < n; i++) {
    const y = data.labels[i];
    if (params.objective === 'binary:logistic' && y !== 0 && y !== 1) throw invalidArgument(`training label of row ${i + 1} is ${y}; binary:logistic needs 0 or 1`);
    if (!Number.isFinite(y)) throw invalidArgument(`training label of row ${i + 1} is not a number`);
  }
  const { mean, scale } = moments(data, params.standardize);
  const z = standardised(data, mean, scale);
  const weights = data.weights;
  const totalWeight = weights ? weights.reduce((a, b) => a + b, 0) : n;
  const l2 = params.penalty === 'l2' ? 1 : params.penalty === 'elasticnet' ? 1 - params.l1_ratio : 0;
  const l1 = params.penalty === 'l1' ? 1 : params.penalty === 'elasticnet' ? params.l1_ratio : 0;
  // The objective divided by C·Σw: mean loss + penalty / (C·Σw); the minimiser is scikit-learn's.
  const reg = 1 / (params.C * totalWeight);
  const size = k * nf + k;
  const margins = new Float64Array(n * k);
  const p = new Float64Array(k);
  const smooth = (theta: Float64Array, grad: Float64Array): number => {
    marginsOf(z, n, nf, k, theta, margins);
    grad.fill(0);
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const w = weights ? weights[r] : 1;
      const y = data.labels[r];
      if (params.objective === 'binary:logistic') {
        const m = margins[r];
        loss += w * ((m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y * m);
        p[0] = w * (1 / (1 + Math.exp(-m)) - y);
      } else if (params.objective === 'reg:squarederror') {
        const e = margins[r] - y;
        loss += w * 0.5 * e * e;
        p[0] = w * e;
      } else {
        let max = -Infinity;
        for (let g = 0; g < k; g++) max = Math.max(max, margins[r * k + g]);
        let sum = 0;
        for (let g = 0; g < k; g++) sum += Math.exp(margins[r * k + g] - max);
        loss += w * (max + Math.log(sum) - margins[r * k + y]);
        for (let g = 0; g < k; g++) p[g] = w * (Math.exp(margins[r * k + g] - max) / sum - (g === y ? 1 : 0));
      }
      for (let g = 0; g < k; g++) {
        const d = p[g];
        if (d === 0) continue;
        const base = r * nf;
        const wg = g * nf;
        for (let f = 0; f < nf; f++) grad[wg + f] += d * z[base + f];
        if (params.fit_intercept) grad[k * nf + g] += d;
      }
    }
    for (let i = 0; i < size; i++) grad[i] /= totalWeight;
    loss /= totalWeight;
    if (l2 > 0) {
      for (let i = 0; i < k * nf; i++) {
        loss += 0.5 * reg * l2 * theta[i] * theta[i];
        grad[i] += reg * l2 * theta[i];
      }
    }
    return loss;
  };
  const curve: number[] = [];
  const onIteration = (iteration: number, value: number) => {
    curve.push(value);
    options.onRound?.({ round: iteration, train: { objective: value } });
  };
  const start = new Float64Array(size);
  const solved =
    l1 > 0
      ? fista(smooth, Float64Array.from({ length: size }, (_, i) => (i < k * nf ? reg * l1 : 0)), start, { maxIter: Math.max(params.max_iter, 5000), tol: params.tol, onIteration })
      : lbfgs(smooth, start, { maxIter: params.max_iter, tol: params.tol, onIteration });
  return {
    params,
    featureNames: data.featureNames,
    numFeature: nf,
    numGroups: k,
    mean,
    scale,
    coef: solved.x.slice(0, k * nf),
    intercept: solved.x.slice(k * nf),
    iterations: solved.iterations,
    curve: { train: { objective: curve } },
  };
}

/** Margins (k per row, row-major) of new rows. */
export function linearMargins(model: LinearModel, x: FeatureMatrix): Float64Array {
  if (x.numFeature !== model.numFeature) throw invalidArgument(`the data has ${x.numFeature} features, the model ${model.numFeature}`);
  const k = model.numGroups;
  const z = standardised(x, model.mean, model.scale);
  const theta = new Float64Array(k * model.numFeature + k);
  theta.set(model.coef);
  theta.set(model.intercept, k * model.numFeature);
  const out = new Float64Array(x.rows * k);
  marginsOf(z, x.rows, model.numFeature, k, theta, out);
  return out;
}

/**
 * The model as ONNX: one float32 input per feature (shape [N], so named columns serve as they
 * do for the xgboost flavor), a missing value replaced by the training mean, then one MatMul
 * with the standardisation folded into the weights. Outputs `margin` and `prediction`
 * (probability of class 1, class probabilities, or the value), as the xgboost flavor names them.
 */
export function linearToOnnx(model: LinearModel): Uint8Array {
  const nf = model.numFeature;
  const k = model.numGroups;
  const weights = new Float32Array(nf * k);
  const bias = new Float32Array(k);
  for (let g = 0; g < k; g++) {
    let b = model.intercept[g];
    for (let f = 0; f < nf; f++) {
      const w = model.coef[g * nf + f] / model.scale[f];
      weights[f * k + g] = w;
      b -= w * model.mean[f];
    }
    bias[g] = b;
  }
  const nodes: NodeInit[] = [];
  const inputs: ValueInit[] = model.featureNames.map((name) => ({ name, dtype: 'float32', dims: ['N'] }));
  model.featureNames.forEach((name, f) => nodes.push({ op: 'Unsqueeze', inputs: [name, 'axis1'], outputs: [`col${f}`] }));
  nodes.push({ op: 'Concat', inputs: model.featureNames.map((_, f) => `col${f}`), outputs: ['x'], attributes: { axis: { int: 1 } } });
  nodes.push({ op: 'IsNaN', inputs: ['x'], outputs: ['missing'] });
  nodes.push({ op: 'Where', inputs: ['missing', 'mean', 'x'], outputs: ['filled'] });
  nodes.push({ op: 'MatMul', inputs: ['filled', 'weights'], outputs: ['product'] });
  const objective = model.params.objective;
  if (k === 1) {
    nodes.push({ op: 'Add', inputs: ['product', 'bias'], outputs: ['margin2d'] });
    nodes.push({ op: 'Reshape', inputs: ['margin2d', 'flat'], outputs: ['margin'] });
    nodes.push(objective === 'binary:logistic' ? { op: 'Sigmoid', inputs: ['margin'], outputs: ['prediction'] } : { op: 'Identity', inputs: ['margin'], outputs: ['prediction'] });
  } else {
    nodes.push({ op: 'Add', inputs: ['product', 'bias'], outputs: ['margin'] });
    nodes.push({ op: 'Softmax', inputs: ['margin'], outputs: ['prediction'], attributes: { axis: { int: 1 } } });
  }
  const dims = k === 1 ? ['N'] : ['N', k];
  return buildOnnxModel({
    inputs,
    outputs: [
      { name: 'margin', dtype: 'float32', dims },
      { name: 'prediction', dtype: 'float32', dims },
    ],
    nodes,
    initializers: [
      { name: 'axis1', dtype: 'int64', dims: [1], values: [1] },
      { name: 'mean', dtype: 'float32', dims: [nf], values: Float32Array.from(model.mean) },
      { name: 'weights', dtype: 'float32', dims: [nf, k], values: weights },
      { name: 'bias', dtype: 'float32', dims: [k], values: bias },
      { name: 'flat', dtype: 'int64', dims: [1], values: [-1] },
    ],
    opsets: { '': 15 },
  });
}
