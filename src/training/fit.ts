/**
 * One entry point over both trainers: parameters checked up front, a fitted model, its
 * predictions, and the file it is registered as (XGBoost JSON for trees, ONNX for linear models).
 */
import { invalidArgument } from '../core/errors.js';
import { featureImportance, trainGbdt, type GbdtModel } from './gbdt/booster.js';
import { predictGbdt, xgboostJsonText } from './gbdt/export.js';
import { transformMargins } from './gbdt/objectives.js';
import { gbdtParams, OBJECTIVES, type GbdtParams, type Objective } from './gbdt/params.js';
import { linearMargins, linearToOnnx, trainLinear, type LinearModel } from './linear/model.js';
import { linearParams, type LinearParams } from './linear/params.js';
import { evaluatePredictions, summarizeFolds, type CrossValidation } from './evaluate.js';
import { takeRows, type Task } from './prepare.js';
import type { Split } from './splits.js';
import type { FeatureMatrix, RoundReport, TrainingData } from './types.js';

export type ModelKind = 'gbdt' | 'linear';
export const MODEL_KINDS: readonly ModelKind[] = ['gbdt', 'linear'];

export type ResolvedParams = { kind: 'gbdt'; params: GbdtParams } | { kind: 'linear'; params: LinearParams };

export interface Fitted {
  kind: ModelKind;
  task: Task;
  numGroups: number;
  gbdt?: GbdtModel;
  linear?: LinearModel;
  curve: Record<string, Record<string, number[]>>;
}

export function taskOf(objective: string): Task {
  if (objective === 'binary:logistic') return 'binary';
  if (objective === 'multi:softprob') return 'multiclass';
  if (objective === 'count:poisson') return 'count';
  if (objective === 'reg:squarederror') return 'regression';
  throw invalidArgument(`objective "${objective}" is not one of ${OBJECTIVES.join(', ')}`);
}

/** Checks the parameters of a model kind (throws InvalidArgument naming the bad one). */
export function resolveParams(kind: ModelKind, params: Record<string, unknown>): ResolvedParams {
  if (kind === 'gbdt') return { kind, params: gbdtParams(params) };
  if (kind === 'linear') return { kind, params: linearParams(params) };
  throw invalidArgument(`model "${String(kind)}" is not one of ${MODEL_KINDS.join(', ')}`);
}

export const objectiveOf = (r: ResolvedParams): Objective => r.params.objective;

/** The parameters as text, for tracking. */
export function paramsText(r: ResolvedParams): Record<string, string> {
  return Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
}

export async function fit(resolved: ResolvedParams, train: TrainingData, options: { valid?: TrainingData; onRound?: (r: RoundReport) => boolean | void | Promise<boolean | void>; threads?: number } = {}): Promise<Fitted> {
  const task = taskOf(resolved.params.objective);
  if (resolved.kind === 'gbdt') {
    const model = await trainGbdt(train, resolved.params, { valid: options.valid, onRound: options.onRound, threads: options.threads });
    return { kind: 'gbdt', task, numGroups: model.numGroups, gbdt: model, curve: model.curve };
  }
  const categorical = train.featureNames.filter((_, f) => train.categorical?.[f]);
  if (categorical.length > 0) throw invalidArgument(`a linear model cannot split categorical features (${categorical.join(', ')}); one-hot encode them`);
  const model = trainLinear(train, resolved.params, { onRound: options.onRound ? (r) => void options.onRound!(r) : undefined });
  return { kind: 'linear', task, numGroups: model.numGroups, linear: model, curve: model.curve };
}

/** Predictions: probabilities (k per row for multi-class), means or values. */
export function predict(fitted: Fitted, x: FeatureMatrix): Float64Array {
  if (fitted.gbdt) return predictGbdt(fitted.gbdt, x);
  const model = fitted.linear!;
  return transformMargins(model.params.objective, linearMargins(model, x), model.numGroups);
}

export interface ModelArtifact {
  /** File name inside the model folder. */
  file: string;
  flavor: 'xgboost' | 'onnx';
  bytes: Uint8Array;
}

export function modelArtifact(fitted: Fitted): ModelArtifact {
  if (fitted.gbdt) return { file: 'model.json', flavor: 'xgboost', bytes: new TextEncoder().encode(xgboostJsonText(fitted.gbdt)) };
  return { file: 'model.onnx', flavor: 'onnx', bytes: linearToOnnx(fitted.linear!) };
}

/** Gain importance of a tree model by feature; undefined for linear models. */
export function importance(fitted: Fitted): Record<string, number> | undefined {
  return fitted.gbdt ? featureImportance(fitted.gbdt, 'gain') : undefined;
}

/**
 * Cross-validation: fits on each split's training rows and evaluates on its validation rows
 * (stratifiedKFold or timeSeriesSplit make the splits).
 */
export async function crossValidate(resolved: ResolvedParams, data: TrainingData, splits: readonly Split[]): Promise<CrossValidation> {
  const folds: Record<string, number>[] = [];
  for (const split of splits) {
    const train = takeRows(data, split.train);
    const valid = takeRows(data, split.valid);
    const fitted = await fit(resolved, train);
    folds.push(evaluatePredictions(fitted.task, predict(fitted, valid), valid.labels, fitted.numGroups));
  }
  return summarizeFolds(folds);
}
