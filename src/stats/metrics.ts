/**
 * Model quality metrics, shared by monitoring (from joined prediction/label pairs) and training
 * (from score and label arrays). Every metric either has a finite value or
 * says why it was not computed; NaN is never returned as a result.
 */

export type MetricResult =
  | { name: string; computed: true; value: number }
  | { name: string; computed: false; reason: string };

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'ece'] as const;
export const REGRESSION_METRICS = ['mae', 'rmse', 'mape', 'r2'] as const;
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];
export type MetricName = ClassificationMetric | RegressionMetric;

/** One classified row: the true and predicted class, and the probabilities if the model gave them. */
export interface ClassifiedRow {
  label: string;
  predicted: string;
  /** Probability of each class, by class name (binary models may give only the positive class). */
  probabilities?: Map<string, number>;
}

export interface ClassificationOptions {
  /** The class precision, recall, F1 and ROC AUC are about in binary problems (default "1"). */
  positiveLabel?: string;
  /** Equal-width confidence bins for the expected calibration error (default 10). */
  eceBins?: number;
}

const ok = (name: string, value: number): MetricResult =>
  Number.isFinite(value) ? { name, computed: true, value } : { name, computed: false, reason: `${name} is not finite for this window` };
const skip = (name: string, reason: string): MetricResult => ({ name, computed: false, reason });

/** Log loss clips probabilities to [eps, 1 − eps] as scikit-learn does for float64. */
const LOG_LOSS_EPS = 2.220446049250313e-16;

/**
 * ROC AUC by the rank-sum (Mann–Whitney) formula with average ranks for ties, which equals the
 * trapezoidal area under the ROC curve scikit-learn computes.
 */
export function rocAuc(scores: ArrayLike<number>, positives: ArrayLike<boolean>): number | string {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positives[i]) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return `only one class (${nPos === 0 ? 'no positives' : 'no negatives'}) among the labels`;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (positives[order[k]]) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Expected calibration error: Σ |accuracy − confidence| of each bin weighted by its share of rows. */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean>, bins = 10): number {
  const n = confidence.length;
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    // Bins are (lo, hi]; a confidence of exactly 0 goes to the first bin.
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(confidence[i] * bins) - 1));
    count[b]++;
    conf[b] += confidence[i];
    if (correct[i]) acc[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += Math.abs(acc[b] - conf[b]) / n;
  return ece;
}

function binaryCounts(rows: readonly ClassifiedRow[], positive: string) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const r of rows) {
    const p = r.predicted === positive;
    const l = r.label === positive;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return { tp, fp, fn };
}

function prf(tp: number, fp: number, fn: number): { precision?: number; recall?: number; f1?: number } {
  const precision = tp + fp > 0 ? tp / (tp + fp) : undefined;
  const recall = tp + fn > 0 ? tp / (tp + fn) : undefined;
  const f1 = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : undefined;
  return { precision, recall, f1 };
}

/** The probability a row gives to `cls`, with a binary model's single probability completed. */
function probabilityOf(row: ClassifiedRow, cls: string, classes: readonly string[]): number | undefined {
  const p = row.probabilities;
  if (!p) return undefined;
  const v = p.get(cls);
  if (v !== undefined) return v;
  if (classes.length === 2 && p.size === 1) {
    const [other, q] = [...p.entries()][0];
    if (classes.includes(other)) return 1 - q;
  }
  return undefined;
}

/**
 * Accuracy, precision, recall, F1, ROC AUC, log loss and ECE. Binary problems (at most two
 * classes among labels and predictions) use `positiveLabel`; more classes use macro averages
 * for precision/recall/F1 and leave ROC AUC uncomputed.
 */
export function classificationMetrics(rows: readonly ClassifiedRow[], options: ClassificationOptions = {}): MetricResult[] {
  const positive = options.positiveLabel ?? '1';
  const n = rows.length;
  if (n === 0) return CLASSIFICATION_METRICS.map((m) => skip(m, 'no labelled predictions in this window'));
  const classes = [...new Set(rows.flatMap((r) => [r.label, r.predicted]))].sort();
  const binary = classes.length <= 2;
  const out: MetricResult[] = [];
  out.push(ok('accuracy', rows.filter((r) => r.label === r.predicted).length / n));

  if (binary) {
    if (!classes.includes(positive)) {
      const why = `positive label "${positive}" does not occur (classes seen: ${classes.join(', ')}); set positiveLabel`;
      for (const m of ['precision', 'recall', 'f1'] as const) out.push(skip(m, why));
    } else {
      const { tp, fp, fn } = binaryCounts(rows, positive);
      const v = prf(tp, fp, fn);
      out.push(v.precision === undefined ? skip('precision', 'no row was predicted positive') : ok('precision', v.precision));
      out.push(v.recall === undefined ? skip('recall', 'no row is labelled positive') : ok('recall', v.recall));
      out.push(v.f1 === undefined ? skip('f1', 'no positive labels or predictions') : ok('f1', v.f1));
    }
  } else {
    const per = classes.map((c) => {
      const { tp, fp, fn } = binaryCounts(rows, c);
      return prf(tp, fp, fn);
    });
    // scikit-learn's zero_division=0 convention for classes never predicted / never labelled.
    const macro = (k: 'precision' | 'recall' | 'f1') => per.reduce((s, v) => s + (v[k] ?? 0), 0) / per.length;
    out.push(ok('precision', macro('precision')), ok('recall', macro('recall')), ok('f1', macro('f1')));
  }

  const withProbs = rows.every((r) => r.probabilities !== undefined);
  if (!withProbs) {
    const why = 'the model output has no probabilities (set scoreColumn)';
    out.push(skip('roc_auc', why), skip('log_loss', why), skip('ece', why));
    return out;
  }
  if (!binary) out.push(skip('roc_auc', `ROC AUC is reported for binary problems only (${classes.length} classes seen)`));
  else if (!classes.includes(positive)) out.push(skip('roc_auc', `positive label "${positive}" does not occur; set positiveLabel`));
  else {
    const scores = rows.map((r) => probabilityOf(r, positive, classes));
    if (scores.some((s) => s === undefined)) out.push(skip('roc_auc', `no probability for class "${positive}" in the model output`));
    else {
      const auc = rocAuc(scores as number[], rows.map((r) => r.label === positive));
      out.push(typeof auc === 'string' ? skip('roc_auc', auc) : ok('roc_auc', auc));
    }
  }

  let loss = 0;
  let missingClass: string | undefined;
  const confidence: number[] = [];
  const correct: boolean[] = [];
  for (const r of rows) {
    const p = probabilityOf(r, r.label, classes);
    if (p === undefined) {
      missingClass ??= r.label;
      continue;
    }
    loss -= Math.log(Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p)));
    const q = probabilityOf(r, r.predicted, classes);
    if (q !== undefined) {
      confidence.push(q);
      correct.push(r.predicted === r.label);
    }
  }
  out.push(missingClass !== undefined ? skip('log_loss', `no probability for class "${missingClass}" in the model output`) : ok('log_loss', loss / n));
  out.push(
    confidence.length < n
      ? skip('ece', 'no probability for the predicted class in some rows')
      : ok('ece', expectedCalibrationError(confidence, correct, options.eceBins ?? 10)),
  );
  return out;
}

/** MAE, RMSE, MAPE (as a fraction, rows with a zero target skipped, as scikit-learn's eps guard would explode) and R². */
export function regressionMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>): MetricResult[] {
  const n = actual.length;
  if (n === 0) return REGRESSION_METRICS.map((m) => skip(m, 'no labelled predictions in this window'));
  let abs = 0;
  let sq = 0;
  let ape = 0;
  let apeN = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i];
  mean /= n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const e = actual[i] - predicted[i];
    abs += Math.abs(e);
    sq += e * e;
    if (actual[i] !== 0) {
      ape += Math.abs(e / actual[i]);
      apeN++;
    }
    ssTot += (actual[i] - mean) ** 2;
  }
  return [
    ok('mae', abs / n),
    ok('rmse', Math.sqrt(sq / n)),
    apeN === 0 ? skip('mape', 'every actual value is 0') : ok('mape', ape / apeN),
    n < 2
      ? skip('r2', 'R² needs at least two labelled rows')
      : ssTot === 0
        ? skip('r2', 'the actual values are constant (R² is undefined)')
        : ok('r2', 1 - sq / ssTot),
  ];
}

/**
 * Average precision (the area under the precision–recall curve as scikit-learn's
 * average_precision_score sums it: Σ (Rₙ − Rₙ₋₁)·Pₙ over descending distinct scores).
 */
export function averagePrecision(scores: ArrayLike<number>, positives: ArrayLike<boolean>): number | string {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positives[i]) nPos++;
  if (nPos === 0) return 'no positives among the labels';
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let lastRecall = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && scores[order[j]] === scores[order[i]]) {
      if (positives[order[j]]) tp++;
      else fp++;
      j++;
    }
    const recall = tp / nPos;
    ap += (recall - lastRecall) * (tp / (tp + fp));
    lastRecall = recall;
    i = j;
  }
  return ap;
}

/** Mean binary log loss of probabilities of the positive class, clipped as scikit-learn clips. */
export function binaryLogLoss(probabilities: ArrayLike<number>, positives: ArrayLike<boolean>, weights?: ArrayLike<number>): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probabilities[i]));
    const w = weights ? weights[i] : 1;
    loss -= w * Math.log(positives[i] ? p : 1 - p);
    total += w;
  }
  return loss / total;
}

/** Mean multiclass log loss: `probabilities` holds k values per row, `labels` the class index of each row. */
export function multiLogLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number, weights?: ArrayLike<number>): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights ? weights[i] : 1;
    loss -= w * Math.log(Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probabilities[i * k + labels[i]])));
    total += w;
  }
  return loss / total;
}

/** Share of rows whose predicted class (argmax of k scores per row, or score > 0.5 when k = 1) differs from the label. */
export function errorRate(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number, weights?: ArrayLike<number>): number {
  let wrong = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    let predicted: number;
    if (k === 1) predicted = scores[i] > 0.5 ? 1 : 0;
    else {
      predicted = 0;
      for (let j = 1; j < k; j++) if (scores[i * k + j] > scores[i * k + predicted]) predicted = j;
    }
    const w = weights ? weights[i] : 1;
    if (predicted !== labels[i]) wrong += w;
    total += w;
  }
  return wrong / total;
}

/** F1 of the positive class at a 0.5 probability threshold. */
export function binaryF1(probabilities: ArrayLike<number>, positives: ArrayLike<boolean>): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] > 0.5;
    if (p && positives[i]) tp++;
    else if (p) fp++;
    else if (positives[i]) fn++;
  }
  return 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Root mean squared error and mean absolute error, weighted when weights are given. */
export function squaredAndAbsoluteError(actual: ArrayLike<number>, predicted: ArrayLike<number>, weights?: ArrayLike<number>): { rmse: number; mae: number } {
  let sq = 0;
  let abs = 0;
  let total = 0;
  for (let i = 0; i < actual.length; i++) {
    const w = weights ? weights[i] : 1;
    const e = actual[i] - predicted[i];
    sq += w * e * e;
    abs += w * Math.abs(e);
    total += w;
  }
  return { rmse: Math.sqrt(sq / total), mae: abs / total };
}

/** Mean Poisson negative log-likelihood of counts under predicted means (XGBoost's poisson-nloglik). */
export function poissonNegLogLikelihood(actual: ArrayLike<number>, mean: ArrayLike<number>, weights?: ArrayLike<number>): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < actual.length; i++) {
    const w = weights ? weights[i] : 1;
    const y = actual[i];
    const mu = Math.max(mean[i], 1e-16);
    loss += w * (logGamma(y + 1) + mu - Math.log(mu) * y);
    total += w;
  }
  return loss / total;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7), accurate to about 1e-15. */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}
