/**
 * The boosting loop: bins the training data once, then each round computes every row's
 * gradient, grows one tree per output group on a row and column sample, adds it to the margins
 * of the training and validation rows (following bins, so no float comparisons are repeated),
 * evaluates the metrics, and stops early when the validation metric has not improved for
 * `early_stopping_rounds` rounds, as XGBoost's EarlyStopping callback does.
 */
import { invalidArgument } from '../../core/errors.js';
import { mulberry32 } from '../../core/random.js';
import type { FeatureMatrix, RoundReport, TrainingData } from '../types.js';
import { binMatrix, computeCuts } from './binning.js';
import { MAXIMIZED, baseMargin, computeGradients, evalMetric, transformMargins } from './objectives.js';
import type { EvalMetric, GbdtParams } from './params.js';
import { TreeGrower, addTreeBinned, type Tree } from './tree.js';
import { defaultThreads, HistThreads, type GradientArrays } from './hist-threads.js';
import { sharedArray } from '../../core/shared-array.js';

export interface GbdtModel {
  params: GbdtParams;
  featureNames: string[];
  numFeature: number;
  /** Features split as sets of categories (absent when none is). */
  categorical?: boolean[];
  /** Output groups: classes for multi:softprob, else 1. */
  numGroups: number;
  trees: Tree[];
  treeGroup: number[];
  /** Round with the best validation metric when early stopping ran. */
  bestIteration?: number;
  bestScore?: number;
  /** Metric values per round: curve[set][metric][round], sets "train" and "validation". */
  curve: Record<string, Record<string, number[]>>;
}

export interface GbdtTrainOptions {
  valid?: TrainingData;
  /** Weight of each class (index = label), multiplied into the sample weights. */
  classWeights?: number[];
  /**
   * Called after every round; answering true stops training (a pruned trial). Round values are
   * also what early stopping and pruning read.
   */
  onRound?: (report: RoundReport) => boolean | void | Promise<boolean | void>;
  /** Evaluate the metrics on the training rows too (default true). */
  evalTrain?: boolean;
  /** Threads building the histograms (default: 2 for large data on two cores or more, else 1); the trees are the same. */
  threads?: number;
}

export function numGroupsOf(params: GbdtParams, labels: Float64Array): number {
  if (params.objective !== 'multi:softprob') return 1;
  if (params.num_class > 0) return params.num_class;
  let max = 0;
  for (const y of labels) max = Math.max(max, y);
  return max + 1;
}

function checkLabels(params: GbdtParams, data: TrainingData, k: number, which: string): void {
  const i = badLabel(params.objective, data.labels, data.rows, k);
  if (i < 0) return;
  const need = params.objective === 'binary:logistic' ? '0 or 1' : params.objective === 'multi:softprob' ? `a class index 0..${k - 1}` : params.objective === 'count:poisson' ? 'a count ≥ 0' : 'a finite number';
  throw invalidArgument(`${which} label of row ${i + 1} is ${data.labels[i]}; ${params.objective} needs ${need}`);
}

/** The first row whose label the objective cannot take, or -1: a loop per objective, which a fresh process runs before it is compiled. */
function badLabel(objective: GbdtParams['objective'], labels: Float64Array, rows: number, k: number): number {
  switch (objective) {
    case 'binary:logistic':
      for (let i = 0; i < rows; i++) if (labels[i] !== 0 && labels[i] !== 1) return i;
      return -1;
    case 'multi:softprob':
      for (let i = 0; i < rows; i++) if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= k) return i;
      return -1;
    case 'count:poisson':
      for (let i = 0; i < rows; i++) if (!(labels[i] >= 0)) return i;
      return -1;
    default:
      for (let i = 0; i < rows; i++) if (!Number.isFinite(labels[i])) return i;
      return -1;
  }
}

/** The features a tree considers: `all` (0..n-1, the same array every round), or a random `fraction` of them, ascending. */
function sampleFeatures(all: Int32Array, fraction: number, rand: () => number): Int32Array {
  if (fraction >= 1) return all;
  const order = all.slice();
  const take = Math.max(1, Math.round(fraction * order.length));
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.subarray(0, take).sort();
}

function sampleRows(rows: number, fraction: number, rand: () => number, out: Uint32Array): Uint32Array {
  if (fraction >= 1) {
    // The view is taken before the loop: code compiled in the middle of the loop (on-stack
    // replacement) that reached a call never made before was thrown away at every round.
    const all = out.subarray(0, rows);
    for (let i = 0; i < rows; i++) all[i] = i;
    return all;
  }
  let n = 0;
  for (let i = 0; i < rows; i++) if (rand() < fraction) out[n++] = i;
  return out.subarray(0, n);
}

function rowWeights(data: TrainingData, classWeights: number[] | undefined): Float64Array {
  const w = data.weights ? Float64Array.from(data.weights) : new Float64Array(data.rows).fill(1);
  if (classWeights) for (let i = 0; i < data.rows; i++) w[i] *= classWeights[data.labels[i]] ?? 1;
  return w;
}

function evaluator(params: GbdtParams, data: TrainingData, k: number): (margins: Float64Array) => Record<string, number> {
  const positives = Uint8Array.from(data.labels, (y) => (y === 1 ? 1 : 0));
  return (margins) => {
    const predictions = transformMargins(params.objective, margins, k);
    const out: Record<string, number> = {};
    for (const m of params.eval_metric) out[m] = evalMetric(m, predictions, data.labels, k, data.weights, positives);
    return out;
  };
}

/**
 * The cuts and the binned training and validation data. With a helper thread (`shared`), the
 * training bins are moved to shared memory once, where both threads read the root of each tree
 * (see TreeGrower's node), and the unshared ones are dropped here.
 */
function binData(data: TrainingData, params: GbdtParams, valid: TrainingData | undefined, shared: boolean, weights: Float64Array) {
  const cuts = computeCuts(data.x, data.rows, data.numFeature, params.max_bin, data.categorical, data.featureNames, weights);
  const binned = binMatrix(data.x, data.rows, data.numFeature, cuts);
  const trainBins = shared ? { ...binned, bins: inSharedMemory(binned.bins) } : binned;
  const validBins = valid ? binMatrix(valid.x, valid.rows, valid.numFeature, cuts) : undefined;
  return { cuts, trainBins, validBins };
}

function inSharedMemory(bins: Uint16Array | Uint32Array): Uint16Array | Uint32Array {
  const out = bins instanceof Uint32Array ? sharedArray(Uint32Array, bins.length) : sharedArray(Uint16Array, bins.length);
  out.set(bins);
  return out;
}

export async function trainGbdt(data: TrainingData, params: GbdtParams, options: GbdtTrainOptions = {}): Promise<GbdtModel> {
  const k = numGroupsOf(params, data.labels);
  if (params.objective === 'multi:softprob' && k < 2) throw invalidArgument('multi:softprob needs at least 2 classes (set num_class)');
  checkLabels(params, data, k, 'training');
  const valid = options.valid;
  if (valid) {
    if (valid.numFeature !== data.numFeature) throw invalidArgument(`the validation data has ${valid.numFeature} features, the training data ${data.numFeature}`);
    checkLabels(params, valid, k, 'validation');
  }
  const n = data.rows;
  if (data.categorical && data.categorical.length !== data.numFeature) throw invalidArgument(`categorical marks ${data.categorical.length} features, the data has ${data.numFeature}`);
  const weightsOfRows = rowWeights(data, options.classWeights);
  // The helper thread loads its modules while the data is binned.
  const spawned = (options.threads ?? defaultThreads(n, data.numFeature)) > 1 ? HistThreads.spawn() : undefined;
  let binned: ReturnType<typeof binData>;
  try {
    binned = binData(data, params, valid, spawned !== undefined, weightsOfRows);
  } catch (err) {
    await spawned?.terminate();
    throw err;
  }
  const { cuts, trainBins, validBins } = binned;
  const grower = new TreeGrower(trainBins, cuts, params, spawned !== undefined);
  const rand = mulberry32(params.seed);
  // Margins are float, as in XGBoost: every addition is rounded, so the gradients follow its own.
  const base = Math.fround(baseMargin(params.objective, params.base_score));
  // With a helper and one output group, each row's gradient depends on that row alone, so the
  // helper computes the second half of the rows (multi-class gradients are laid out by group).
  const split = spawned !== undefined && k === 1;
  const shared = (from: Float64Array) => {
    const out = sharedArray(Float64Array, from.length);
    out.set(from);
    return out;
  };
  const margins = split ? sharedArray(Float64Array, n).fill(base) : new Float64Array(n * k).fill(base);
  const validMargins = valid ? new Float64Array(valid.rows * k).fill(base) : undefined;
  const weights = split ? shared(weightsOfRows) : weightsOfRows;
  const labels = split ? shared(data.labels) : data.labels;
  const grad = split ? sharedArray(Float64Array, n) : new Float64Array(n * k);
  const hess = split ? sharedArray(Float64Array, n) : new Float64Array(n * k);
  const gradients: GradientArrays | undefined = split ? { params, margins, labels, weights, grad, hess } : undefined;
  const rowBuffer = grower.node[0].rows;
  const allFeatures = Int32Array.from({ length: data.numFeature }, (_, i) => i);
  const threads = spawned ? await HistThreads.start(grower.node, grower.stride, cuts.offsets, spawned, gradients) : undefined;
  if (threads) grower.useThreads(threads);
  try {
    const model: GbdtModel = { params, featureNames: data.featureNames, numFeature: data.numFeature, ...(data.categorical?.some((c) => c) ? { categorical: data.categorical } : {}), numGroups: k, trees: [], treeGroup: [], curve: { train: {}, ...(valid ? { validation: {} } : {}) } };
    // Built only when the training rows are evaluated: its label scan is a cold loop a fit without it need not pay.
    const evalTrain = options.evalTrain === false ? undefined : evaluator(params, data, k);
    const evalValid = valid ? evaluator(params, valid, k) : undefined;
    const stopMetric: EvalMetric = params.eval_metric[params.eval_metric.length - 1];
    const maximize = MAXIMIZED.has(stopMetric);
    let best = maximize ? -Infinity : Infinity;
    let bestRound = -1;
    for (let round = 0; round < params.n_estimators; round++) {
      if (threads && gradients) {
        const mid = n >>> 1;
        threads.postGradients(mid, n);
        computeGradients(params.objective, params, margins.subarray(0, mid), labels.subarray(0, mid), weights.subarray(0, mid), 1, grad.subarray(0, mid), hess.subarray(0, mid));
        threads.wait();
      } else computeGradients(params.objective, params, margins, labels, weights, k, grad, hess);
      for (let g = 0; g < k; g++) {
        const rows = sampleRows(n, params.subsample, rand, rowBuffer);
        const features = sampleFeatures(allFeatures, params.colsample_bytree, rand);
        const all = rows.length === n;
        const tree = grower.grow(rows, grad.subarray(g * n, (g + 1) * n), hess.subarray(g * n, (g + 1) * n), features, all ? { margins, k, group: g } : undefined);
        if (!all) addTreeBinned(tree, trainBins, margins, k, g);
        if (validBins) addTreeBinned(tree, validBins, validMargins!, k, g);
        model.trees.push(tree);
        model.treeGroup.push(g);
      }
      const report: RoundReport = { round, train: evalTrain ? evalTrain(margins) : {} };
      if (valid) report.validation = evalValid!(validMargins!);
      for (const [set, values] of Object.entries({ train: report.train, validation: report.validation })) {
        if (!values) continue;
        for (const [m, v] of Object.entries(values)) (model.curve[set][m] ??= []).push(v);
      }
      if (valid) {
        const v = report.validation![stopMetric];
        if (maximize ? v > best : v < best) {
          best = v;
          bestRound = round;
        }
        model.bestIteration = bestRound;
        model.bestScore = best;
      }
      if ((await options.onRound?.(report)) === true) break;
      if (valid && params.early_stopping_rounds > 0 && round - bestRound >= params.early_stopping_rounds) break;
    }
    if (!valid || params.early_stopping_rounds === 0) {
      delete model.bestIteration;
      delete model.bestScore;
    }
    return model;
  } finally {
    await threads?.close();
  }
}

/** Importance of each feature over all splits: weight (split count), gain and cover (averages) and their totals. */
export type ImportanceType = 'weight' | 'gain' | 'cover' | 'total_gain' | 'total_cover';

export function featureImportance(model: GbdtModel, type: ImportanceType = 'gain'): Record<string, number> {
  const count = new Float64Array(model.numFeature);
  const gain = new Float64Array(model.numFeature);
  const cover = new Float64Array(model.numFeature);
  for (const t of model.trees) {
    for (let nid = 0; nid < t.left.length; nid++) {
      if (t.left[nid] === -1) continue;
      const f = t.splitIndex[nid];
      count[f]++;
      gain[f] += t.lossChange[nid];
      cover[f] += t.sumHessian[nid];
    }
  }
  const out: Record<string, number> = {};
  for (let f = 0; f < model.numFeature; f++) {
    if (count[f] === 0) continue;
    const v = type === 'weight' ? count[f] : type === 'gain' ? gain[f] / count[f] : type === 'cover' ? cover[f] / count[f] : type === 'total_gain' ? gain[f] : cover[f];
    out[model.featureNames[f]] = v;
  }
  return out;
}

export function checkFeatures(model: { numFeature: number }, x: FeatureMatrix): void {
  if (x.numFeature !== model.numFeature) throw invalidArgument(`the data has ${x.numFeature} features, the model ${model.numFeature}`);
}
