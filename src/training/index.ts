/** Built-in training: GBDTs (XGBoost-compatible) and linear models, evaluation, splits and hyperparameter search. */
export { trainGbdt, featureImportance, type GbdtModel, type GbdtTrainOptions, type ImportanceType } from './gbdt/booster.js';
export { gbdtParams, GBDT_PARAM_NAMES, OBJECTIVES, type GbdtParams, type Objective } from './gbdt/params.js';
export { predictGbdt, predictMargins, toXgboostJson, xgboostJsonText } from './gbdt/export.js';
export { trainLinear, linearMargins, linearToOnnx, type LinearModel } from './linear/model.js';
export { linearParams, type LinearParams } from './linear/params.js';
export { fit, crossValidate, predict, modelArtifact, resolveParams, MODEL_KINDS, type Fitted, type ModelKind } from './fit.js';
export { prepareTraining, prepareWithEncoding, encodeFeatures, takeRows, type Encoding, type Task } from './prepare.js';
export { evaluatePredictions, TASK_METRICS, type CrossValidation } from './evaluate.js';
export { holdOut, stratifiedKFold, timeSeriesSplit, type Split } from './splits.js';
export { parseSpace, type SearchSpace, type ParamSpec } from './search/space.js';
export { defaultSpace } from './search/defaults.js';
export { tpeSampler, randomSampler, gridSampler, type Sampler, type TrialRecord } from './search/samplers.js';
export { medianPruner, ashaPruner, type Pruner } from './search/pruners.js';
export { optimizeFunction, bestSoFar } from './search/optimize.js';
export type { TrainingTracker } from './tracker.js';
export type { FeatureMatrix, TrainingData, RoundReport } from './types.js';
