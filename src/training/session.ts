/**
 * Training from a file, end to end: read and check everything first (target, features,
 * parameters, split), then train with the curve logged round by round to a tracking run,
 * evaluate on the validation rows, write the model file, and register it if asked. The
 * quickstart, `modelport train` and each trial of `modelport tune` go through here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { readTable, type Table } from '../data/read-table.js';
import { evaluatePredictions } from './evaluate.js';
import { fit, importance, modelArtifact, objectiveOf, paramsText, predict, resolveParams, taskOf, type Fitted, type ModelKind, type ResolvedParams } from './fit.js';
import { prepareTraining, prepareWithEncoding, takeRows, TEXT_ENCODINGS, type Encoding, type TextEncoding } from './prepare.js';
import { PREPROCESS_FILE, type PreprocessSpec } from '../models/preprocess.js';
import { holdOut } from './splits.js';
import type { TrainingTracker } from './tracker.js';
import type { RoundReport, TrainingData } from './types.js';

/** Fits a model: in this thread (`fit`) or in a worker thread (a study's parallel trials). */
export type Fitter = typeof fit;

export interface DataRequest {
  /** The training table (CSV, JSON Lines or Parquet). */
  file: string;
  target: string;
  /** Feature columns (default: all but the target and `drop`). */
  features?: string[];
  drop?: string[];
  /** A separate validation table; otherwise `validFraction` of the training rows are held out. */
  valid?: string;
  validFraction?: number;
  /** How the held-out rows are picked: stratified at random (default), or the last rows of time-ordered data. */
  split?: 'random' | 'tail';
  /** Text columns as category codes or one-hot features (default: categorical for gbdt, see `textEncodingFor`). */
  text?: TextEncoding;
}

export interface TrainRequest extends DataRequest {
  model?: ModelKind;
  /** Parameters by XGBoost's names (gbdt) or scikit-learn's (linear), as text or numbers; `objective` among them. */
  params?: Record<string, unknown>;
  /** Write the model file here (XGBoost JSON for trees, ONNX for linear models). */
  output?: string;
  /** Track the run in this experiment (needs a tracker). */
  experiment?: string;
  runName?: string;
  parentRunId?: string;
  /** Register the model under this name (needs a tracker). */
  register?: string;
  /** Register the training file as a version of this dataset and link the run and model to it. */
  dataset?: string;
  tags?: Record<string, string>;
}

export interface PreparedData {
  train: TrainingData;
  valid?: TrainingData;
  encoding: Encoding;
  file: string;
}

export interface TrainResult {
  runId?: string;
  params: Record<string, string>;
  /** Metrics on the validation rows (or the training rows when there are none), prefixed "val_" / "train_". */
  metrics: Record<string, number>;
  rounds: number;
  bestIteration?: number;
  modelVersion?: number;
  /** How the model refers to its training data. */
  dataset?: string;
  encoding: Encoding;
  importance?: Record<string, number>;
  fitted: Fitted;
  /** Where the preprocessing of text columns went beside `output` (see preprocessPathFor). */
  preprocessOutput?: string;
}

/**
 * The file written beside `--output` when the model reads category codes: the codes come from the
 * training data's categories, so scoring new rows needs them (the preprocess.json of a registered model).
 */
export const preprocessPathFor = (output: string): string => `${output}.preprocess.json`;

const inferObjective = (table: Table, target: string): string => {
  const c = table.columns.find((x) => x.name === target);
  if (!c) return 'binary:logistic';
  const distinct = new Set<string | number | null>();
  for (const v of c.values) {
    distinct.add(v);
    if (distinct.size > 2) break;
  }
  if (c.type === 'string') return distinct.size > 2 ? 'multi:softprob' : 'binary:logistic';
  return distinct.size <= 2 ? 'binary:logistic' : 'reg:squarederror';
};

/** Parameters with the objective filled in from the target when not given. */
export function requestParams(table: Table, request: { target: string; params?: Record<string, unknown> }): Record<string, unknown> {
  const params = { ...(request.params ?? {}) };
  params.objective ??= inferObjective(table, request.target);
  return params;
}

/** How a model kind takes text columns: GBDTs split category codes natively unless one-hot is asked for; linear models need one-hot. */
export function textEncodingFor(kind: ModelKind, text?: string): TextEncoding {
  if (text !== undefined && !(TEXT_ENCODINGS as readonly string[]).includes(text)) throw invalidArgument(`text: "${text}" is not one of ${TEXT_ENCODINGS.join(', ')}`);
  if (kind === 'linear' && text === 'categorical') throw invalidArgument('text: a linear model cannot split categorical features; use one-hot');
  return (text as TextEncoding | undefined) ?? (kind === 'gbdt' ? 'categorical' : 'one-hot');
}

/** Reads and checks the data of a request: every problem is reported here, before training. */
export async function prepareData(request: DataRequest, objective: string, seed = 0): Promise<PreparedData> {
  const table = await readTable(request.file);
  return prepareTable(table, request, objective, seed);
}

export async function prepareTable(table: Table, request: DataRequest, objective: string, seed = 0): Promise<PreparedData> {
  if (request.valid && request.validFraction !== undefined) throw invalidArgument('give either a validation file or a validation fraction, not both');
  const task = taskOf(objective);
  const { data, encoding } = prepareTraining(table, { target: request.target, task, features: request.features, drop: request.drop, text: request.text });
  if (request.valid) {
    const validTable = await readTable(request.valid);
    return { train: data, valid: prepareWithEncoding(validTable, encoding), encoding, file: request.file };
  }
  if (request.validFraction === undefined || request.validFraction === 0) return { train: data, encoding, file: request.file };
  const classification = task === 'binary' || task === 'multiclass';
  const split = holdOut(data.labels, request.validFraction, { mode: request.split ?? 'random', stratify: classification, seed });
  const train = takeRows(data, split.train);
  if (classification && new Set(train.labels).size < 2) throw invalidArgument(`the training rows left after holding out ${request.validFraction} hold one class only`);
  return { train, valid: takeRows(data, split.valid), encoding, file: request.file };
}

/**
 * Logs a run's curve as it is made: each round's values as metrics `train-<metric>` and
 * `validation-<metric>` at step = round, sent in batches.
 */
export class CurveLogger {
  private points: { key: string; value: number; step: number }[] = [];

  constructor(
    private readonly tracker: TrainingTracker,
    private readonly runId: string,
    private readonly every = 25,
  ) {}

  async round(report: RoundReport): Promise<void> {
    for (const [set, values] of Object.entries({ train: report.train, validation: report.validation })) {
      for (const [metric, value] of Object.entries(values ?? {})) if (Number.isFinite(value)) this.points.push({ key: `${set}-${metric}`, value, step: report.round });
    }
    if ((report.round + 1) % this.every === 0) await this.flush();
  }

  async flush(): Promise<void> {
    const points = this.points;
    this.points = [];
    for (let i = 0; i < points.length; i += 1000) await this.tracker.log(this.runId, { metrics: points.slice(i, i + 1000) });
  }
}

/** Final metrics of a fitted model on the validation rows (val_*) or, without them, the training rows (train_*). */
export function finalMetrics(fitted: Fitted, data: PreparedData): Record<string, number> {
  const on = data.valid ?? data.train;
  const prefix = data.valid ? 'val_' : 'train_';
  const values = evaluatePredictions(fitted.task, predict(fitted, on), on.labels, fitted.numGroups);
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));
}

/**
 * Trains on prepared data with checked parameters, tracking and registering as the request asks.
 * `onRound` sees every round first (a search prunes through it by answering true).
 */
export async function trainPrepared(
  data: PreparedData,
  resolved: ResolvedParams,
  request: Omit<TrainRequest, keyof DataRequest> & { file?: string },
  tracker?: TrainingTracker,
  onRound?: (r: RoundReport) => boolean | void | Promise<boolean | void>,
  fitter: Fitter = fit,
): Promise<TrainResult & { pruned: boolean }> {
  if ((request.experiment || request.register) && !tracker) throw invalidArgument('tracking and registering need a modelport platform or server');
  const params = paramsText(resolved);
  let runId: string | undefined;
  let curve: CurveLogger | undefined;
  if (tracker && (request.experiment || request.register)) {
    runId = await tracker.startRun({
      experiment: request.experiment ?? 'Default',
      name: request.runName ?? `${resolved.kind}-${objectiveOf(resolved)}`,
      parentRunId: request.parentRunId,
      tags: { 'modelport.model': resolved.kind, 'modelport.target': data.encoding.target, ...(request.tags ?? {}) },
    });
    await tracker.log(runId, { params: { model: resolved.kind, ...params, rows: String(data.train.rows), features: String(data.train.numFeature) } });
    curve = new CurveLogger(tracker, runId);
  }
  let pruned = false;
  try {
    const dataset = tracker && runId ? await tracker.recordDataset(runId, data.file, request.dataset) : undefined;
    const fitted = await fitter(resolved, data.train, {
      valid: data.valid,
      onRound: async (r) => {
        await curve?.round(r);
        if ((await onRound?.(r)) === true) {
          pruned = true;
          return true;
        }
      },
    });
    await curve?.flush();
    const metrics = finalMetrics(fitted, data);
    const artifact = modelArtifact(fitted);
    const result: TrainResult & { pruned: boolean } = {
      runId,
      params,
      metrics,
      rounds: fitted.gbdt ? fitted.gbdt.trees.length / fitted.numGroups : fitted.linear!.iterations,
      bestIteration: fitted.gbdt?.bestIteration,
      dataset,
      encoding: data.encoding,
      importance: importance(fitted),
      fitted,
      pruned,
    };
    if (request.output) {
      writeFileSync(request.output, artifact.bytes);
      if (data.encoding.categorical.length > 0) {
        result.preprocessOutput = preprocessPathFor(request.output);
        writeFileSync(result.preprocessOutput, JSON.stringify(preprocessOf(data.encoding), null, 1));
      }
    }
    if (tracker && runId) {
      await tracker.log(runId, { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0 })), tags: pruned ? { modelport_trial_state: 'PRUNED' } : {} });
      await tracker.logArtifact(runId, `model/${artifact.file}`, artifact.bytes);
      await tracker.logArtifact(runId, 'model/encoding.json', new TextEncoder().encode(JSON.stringify(data.encoding, null, 1)));
    }
    if (request.register && tracker) {
      result.modelVersion = (await registerFitted(tracker, request.register, fitted, data.encoding, { runId, dataset })).version;
    }
    if (tracker && runId) await tracker.endRun(runId, pruned ? 'KILLED' : 'FINISHED');
    return result;
  } catch (err) {
    if (tracker && runId) await tracker.endRun(runId, 'FAILED').catch(() => undefined);
    throw err;
  }
}

/** The training encoding as the preprocessing step stored with the model. */
export function preprocessOf(encoding: Encoding): PreprocessSpec {
  return {
    numeric: encoding.numeric.map(({ column, feature }) => ({ column, feature })),
    one_hot: encoding.oneHot,
    ...(encoding.categorical.length > 0 ? { categorical: encoding.categorical } : {}),
  };
}

/** Registers a fitted model (its file and the encoding beside it) as a new version of `name`. */
export async function registerFitted(tracker: TrainingTracker, name: string, fitted: Fitted, encoding: Encoding, options: { runId?: string; dataset?: string }): Promise<{ version: number }> {
  const artifact = modelArtifact(fitted);
  const dir = mkdtempSync(join(tmpdir(), 'modelport-model-'));
  try {
    const file = join(dir, artifact.file);
    writeFileSync(file, artifact.bytes);
    // With text columns the encoding is registered with the model, so callers send raw columns.
    const withEncoding = encoding.oneHot.length > 0 || encoding.categorical.length > 0;
    if (withEncoding) writeFileSync(join(dir, PREPROCESS_FILE), `${JSON.stringify(preprocessOf(encoding), null, 2)}\n`);
    return await tracker.registerModel(name, withEncoding ? dir : file, {
      runId: options.runId,
      flavor: artifact.flavor,
      description: `${fitted.kind} (${fitted.task}) trained by modelport on ${encoding.featureNames.length} features, target "${encoding.target}"`,
      dataset: options.dataset,
      tags: { 'modelport.model': fitted.kind, 'modelport.target': encoding.target, ...(options.dataset ? { training_dataset: options.dataset } : {}) },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `modelport train`: reads, checks, trains, evaluates, writes, tracks and registers. */
export async function trainFile(request: TrainRequest, tracker?: TrainingTracker, onRound?: (r: RoundReport, total: number) => void): Promise<TrainResult> {
  const table = await readTable(request.file);
  const params = requestParams(table, request);
  const resolved = resolveParams(request.model ?? 'gbdt', params);
  const seed = resolved.kind === 'gbdt' ? resolved.params.seed : 0;
  const data = await prepareTable(table, { ...request, text: textEncodingFor(resolved.kind, request.text) }, objectiveOf(resolved), seed);
  if (resolved.kind === 'gbdt' && resolved.params.early_stopping_rounds > 0 && !data.valid) {
    throw invalidArgument('parameter "early_stopping_rounds" needs validation rows (--valid FILE or --valid-fraction)');
  }
  const total = resolved.kind === 'gbdt' ? resolved.params.n_estimators : resolved.params.max_iter;
  return trainPrepared(data, resolved, request, tracker, onRound ? (r) => onRound(r, total) : undefined);
}
