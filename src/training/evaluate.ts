/** The metrics a trained model is reported with, by task, from predictions as the model gives them. */
import {
  averagePrecision,
  binaryF1,
  binaryLogLoss,
  errorRate,
  multiLogLoss,
  poissonNegLogLikelihood,
  regressionMetrics,
  rocAuc,
  squaredAndAbsoluteError,
} from '../stats/metrics.js';
import type { Task } from './prepare.js';

/** Metrics where larger is better (everything else is minimised). */
export const MAXIMIZED_METRICS: ReadonlySet<string> = new Set(['roc_auc', 'pr_auc', 'accuracy', 'f1', 'r2']);

export const TASK_METRICS: Record<Task, string[]> = {
  binary: ['roc_auc', 'pr_auc', 'log_loss', 'accuracy', 'f1'],
  multiclass: ['log_loss', 'accuracy'],
  regression: ['rmse', 'mae', 'r2'],
  count: ['poisson_nloglik', 'rmse', 'mae'],
};

/** `predictions`: the probability of class 1 (binary), k class probabilities per row (multiclass), or values. */
export function evaluatePredictions(task: Task, predictions: Float64Array, labels: Float64Array, k = 1): Record<string, number> {
  const out: Record<string, number> = {};
  if (task === 'binary') {
    const positives = Array.from(labels, (y) => y === 1);
    const auc = rocAuc(predictions, positives);
    const ap = averagePrecision(predictions, positives);
    if (typeof auc === 'number') out.roc_auc = auc;
    if (typeof ap === 'number') out.pr_auc = ap;
    out.log_loss = binaryLogLoss(predictions, positives);
    out.accuracy = 1 - errorRate(predictions, labels, 1);
    out.f1 = binaryF1(predictions, positives);
  } else if (task === 'multiclass') {
    out.log_loss = multiLogLoss(predictions, labels, k);
    out.accuracy = 1 - errorRate(predictions, labels, k);
  } else {
    if (task === 'count') out.poisson_nloglik = poissonNegLogLikelihood(labels, predictions);
    const { rmse, mae } = squaredAndAbsoluteError(labels, predictions);
    out.rmse = rmse;
    out.mae = mae;
    if (task === 'regression') {
      const r2 = regressionMetrics(labels, predictions).find((m) => m.name === 'r2');
      if (r2?.computed) out.r2 = r2.value;
    }
  }
  return out;
}

/** Per-fold metrics and their means, from fitting on each split's training rows and predicting its validation rows. */
export interface CrossValidation {
  folds: Record<string, number>[];
  mean: Record<string, number>;
}

export function summarizeFolds(folds: Record<string, number>[]): CrossValidation {
  const mean: Record<string, number> = {};
  for (const key of Object.keys(folds[0] ?? {})) mean[key] = folds.reduce((s, f) => s + (f[key] ?? NaN), 0) / folds.length;
  return { folds, mean };
}
