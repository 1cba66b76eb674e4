/**
 * Studies: a search over a space of parameters, trial after trial (or several at once in worker
 * threads), each trial a nested tracking run under the study's run with its parameters, curve
 * and outcome. Intermediate values (the validation metric after each boosting round) feed the
 * pruner. The study lives in tracking: run it again with the same name and it resumes from the
 * trials it finds (a trial left running by a killed process counts as failed).
 */
import { basename } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import { mulberry32 } from '../../core/random.js';
import { readTable } from '../../data/read-table.js';
import { MAXIMIZED_METRICS, TASK_METRICS } from '../evaluate.js';
import { fit, resolveParams, taskOf, type Fitted, type ModelKind, type ResolvedParams } from '../fit.js';
import type { EvalMetric } from '../gbdt/params.js';
import { prepareTable, registerFitted, textEncodingFor, requestParams, trainPrepared, type DataRequest, type Fitter, type PreparedData } from '../session.js';
import type { Encoding } from '../prepare.js';
import type { TrainingTracker } from '../tracker.js';
import { makePruner, type Pruner } from './pruners.js';
import { makeSampler, type Direction, type Sampler, type TrialRecord } from './samplers.js';
import { fromUnit, parseValue, type ParamValue, type SearchSpace } from './space.js';
import { WorkerFitter } from './worker-fitter.js';

export interface StudyRequest extends DataRequest {
  model?: ModelKind;
  /** Parameters every trial shares (the searched ones come from `space`). */
  params?: Record<string, unknown>;
  space: SearchSpace;
  sampler?: string;
  /** TPE draws the parameters every finished trial has jointly (Optuna's multivariate=True). */
  multivariate?: boolean;
  pruner?: string;
  trials: number;
  /** Start no new trial after this many seconds. */
  timeoutSeconds?: number;
  /** Trials run at once, each in its own worker thread (default 1: in this thread). */
  parallel?: number;
  /** Run the trials on `modelport worker` processes of this BullMQ queue (redis://HOST:PORT?name=QUEUE) instead. */
  queue?: string;
  seed?: number;
  /** The validation metric to optimise (default by task: roc_auc, log_loss, rmse, poisson_nloglik). */
  metric?: string;
  experiment?: string;
  /** The study's name; running again with it resumes the study. */
  study?: string;
  register?: string;
  dataset?: string;
  /** Called when a trial ends. */
  onTrial?: (trial: TrialRecord, best: TrialRecord | undefined) => void;
}

export interface StudyResult {
  study: string;
  direction: Direction;
  metric: string;
  parentRunId?: string;
  trials: TrialRecord[];
  best?: TrialRecord;
  bestRunId?: string;
  bestFitted?: Fitted;
  modelVersion?: number;
  /** Trials found from an earlier session of the same study. */
  resumed: number;
  /** How table columns become the model's features (the same for every trial). */
  encoding: Encoding;
}

const DEFAULT_METRIC = { binary: 'roc_auc', multiclass: 'log_loss', regression: 'rmse', count: 'poisson_nloglik' } as const;

/** The per-round GBDT metric that tracks the study's metric (what the pruner reads). */
function roundMetric(metric: string, task: string): EvalMetric | undefined {
  const map: Record<string, EvalMetric> = { roc_auc: 'auc', pr_auc: 'aucpr', log_loss: task === 'multiclass' ? 'mlogloss' : 'logloss', rmse: 'rmse', mae: 'mae', poisson_nloglik: 'poisson-nloglik' };
  return map[metric];
}

/** Checks that every searched parameter is one the model takes, at both ends of its range, before any trial. */
function checkSpace(kind: ModelKind, fixed: Record<string, unknown>, space: SearchSpace): void {
  for (const [name, spec] of Object.entries(space)) {
    if (name in fixed && name !== 'eval_metric') throw invalidArgument(`parameter "${name}" is both fixed (--param) and searched`);
    for (const u of [0, 0.999999]) {
      try {
        resolveParams(kind, { ...fixed, [name]: fromUnit(spec, u) });
      } catch (err) {
        throw invalidArgument(`search space: ${(err as Error).message}`);
      }
    }
  }
}

function trialFromRun(run: { status: string; tags: Record<string, string>; metrics: Record<string, number> }, space: SearchSpace, valueKey: string): TrialRecord {
  const raw = JSON.parse(run.tags.modelport_trial_params ?? '{}') as Record<string, string>;
  const params: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(raw)) if (space[k]) params[k] = parseValue(space[k], String(v));
  const state = run.status === 'FINISHED' ? 'COMPLETE' : run.status === 'KILLED' && run.tags.modelport_trial_state === 'PRUNED' ? 'PRUNED' : 'FAIL';
  return { number: Number(run.tags.modelport_trial), state, params, value: state === 'COMPLETE' ? run.metrics[valueKey] : undefined, intermediate: new Map() };
}

export async function runStudy(request: StudyRequest, tracker?: TrainingTracker): Promise<StudyResult> {
  if (!Number.isInteger(request.trials) || request.trials < 1) throw invalidArgument(`trials: ${request.trials} must be a whole number ≥ 1`);
  const parallel = request.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw invalidArgument(`parallel: ${parallel} must be a whole number from 1 to 64`);
  if (request.timeoutSeconds !== undefined && !(request.timeoutSeconds > 0)) throw invalidArgument(`timeout: ${request.timeoutSeconds} must be a positive number of seconds`);
  if (request.register && !tracker) throw invalidArgument('registering the best model needs a modelport platform or server');
  const studyName = request.study ?? `${basename(request.file).replace(/\.[^.]+$/, '')}-${request.target}`;
  if (!/^[\w.-]{1,200}$/.test(studyName)) throw invalidArgument(`study name "${studyName}" may hold only letters, digits, "_", "-" and "."`);
  if (request.queue) (await import('../../storage/queue-bullmq.js')).parseBullUri(request.queue);
  const kind = request.model ?? 'gbdt';
  const table = await readTable(request.file);
  const fixed = requestParams(table, request);
  const task = taskOf(String(fixed.objective));
  const metric = request.metric ?? DEFAULT_METRIC[task];
  if (!TASK_METRICS[task].includes(metric)) throw invalidArgument(`metric "${metric}" is not one of ${TASK_METRICS[task].join(', ')} for ${String(fixed.objective)}`);
  const direction: Direction = MAXIMIZED_METRICS.has(metric) ? 'maximize' : 'minimize';
  const evalMetric = kind === 'gbdt' ? roundMetric(metric, task) : undefined;
  if (evalMetric && fixed.eval_metric === undefined) fixed.eval_metric = evalMetric;
  checkSpace(kind, fixed, request.space);
  const sampler: Sampler = makeSampler(request.sampler ?? 'tpe', request.space, { multivariate: request.multivariate });
  const pruner: Pruner = makePruner(request.pruner ?? (kind === 'gbdt' ? 'median' : 'none'));
  const data: PreparedData = await prepareTable(table, { ...request, text: textEncodingFor(kind, request.text), validFraction: request.valid ? undefined : request.validFraction ?? 0.2 }, String(fixed.objective), request.seed ?? 0);
  const valueKey = `val_${metric}`;
  const curveKey = evalMetric ? `validation-${evalMetric}` : undefined;

  const trials: TrialRecord[] = [];
  let parentRunId: string | undefined;
  let resumed = 0;
  const experiment = request.experiment ?? (tracker ? 'Default' : undefined);
  if (tracker && experiment) {
    parentRunId = await tracker.findRun(experiment, { modelport_study: studyName });
    if (parentRunId) {
      for (const run of await tracker.childRuns(parentRunId)) {
        const trial = trialFromRun(run, request.space, valueKey);
        if (run.status === 'RUNNING') await tracker.endRun(run.runId, 'FAILED');
        if (curveKey && trial.state !== 'FAIL') for (const p of await tracker.history(run.runId, curveKey)) trial.intermediate.set(p.step, p.value);
        trials.push(trial);
      }
      resumed = trials.length;
    } else {
      parentRunId = await tracker.startRun({ experiment, name: `study-${studyName}`, tags: { modelport_study: studyName, modelport_role: 'study' } });
      await tracker.log(parentRunId, {
        params: { study: studyName, sampler: sampler.name, pruner: pruner.name, metric, direction, model: kind, ...Object.fromEntries(Object.entries(fixed).map(([k, v]) => [k, String(v)])) },
      });
      await tracker.logArtifact(parentRunId, 'search_space.json', new TextEncoder().encode(JSON.stringify(request.space, null, 1)));
    }
  }

  const rand = mulberry32((request.seed ?? 0) + trials.length * 7919);
  // Parallel trials already keep the cores busy: a helper thread per trial would only contend.
  const workers = request.queue ? await (await import('./queue-fitter.js')).QueueFitter.open(request.queue) : parallel > 1 ? new WorkerFitter(1) : undefined;
  const fitter: Fitter = workers ? workers.fit : fit;
  const started = Date.now();
  const fittedByTrial = new Map<number, Fitted>();
  const runIdByTrial = new Map<number, string>();
  let nextNumber = trials.reduce((m, t) => Math.max(m, t.number + 1), 0);
  const better = (a: number, b: number) => (direction === 'maximize' ? a > b : a < b);
  const bestTrial = () => trials.filter((t) => t.state === 'COMPLETE' && Number.isFinite(t.value)).reduce<TrialRecord | undefined>((b, t) => (b === undefined || better(t.value!, b.value!) ? t : b), undefined);
  let bestValue: number | undefined = bestTrial()?.value;

  const runTrial = async (trial: TrialRecord): Promise<void> => {
    let resolved: ResolvedParams;
    try {
      resolved = resolveParams(kind, { ...fixed, ...trial.params });
    } catch (err) {
      trial.state = 'FAIL';
      throw err;
    }
    const result = await trainPrepared(
      data,
      resolved,
      {
        experiment: parentRunId ? experiment : undefined,
        parentRunId,
        runName: `trial-${trial.number}`,
        tags: { modelport_trial: String(trial.number), modelport_trial_params: JSON.stringify(trial.params), modelport_study: `${studyName}/trial` },
        dataset: request.dataset,
      },
      tracker && parentRunId ? tracker : undefined,
      (report) => {
        if (!evalMetric || !report.validation) return false;
        trial.intermediate.set(report.round, report.validation[evalMetric]);
        return pruner.shouldPrune(trial, report.round, trials, direction);
      },
      fitter,
    );
    if (result.runId) runIdByTrial.set(trial.number, result.runId);
    if (result.pruned) {
      trial.state = 'PRUNED';
      return;
    }
    trial.value = result.metrics[valueKey];
    trial.state = trial.value !== undefined && Number.isFinite(trial.value) ? 'COMPLETE' : 'FAIL';
    if (trial.state === 'COMPLETE' && (bestValue === undefined || better(trial.value!, bestValue))) {
      bestValue = trial.value;
      fittedByTrial.clear();
      fittedByTrial.set(trial.number, result.fitted);
    }
  };

  const failures: Error[] = [];
  let launched = 0;
  const running = new Set<Promise<void>>();
  try {
    for (;;) {
      const timedOut = request.timeoutSeconds !== undefined && Date.now() - started >= request.timeoutSeconds * 1000;
      while (!timedOut && running.size < parallel && launched < request.trials) {
        const params = sampler.sample(request.space, trials, direction, rand);
        if (!params) break;
        const trial: TrialRecord = { number: nextNumber++, state: 'RUNNING', params, intermediate: new Map() };
        trials.push(trial);
        launched++;
        const p: Promise<void> = runTrial(trial)
          .catch((err: Error) => {
            trial.state = 'FAIL';
            failures.push(err);
          })
          .finally(() => {
            running.delete(p);
            request.onTrial?.(trial, bestTrial());
          });
        running.add(p);
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
  } finally {
    await Promise.allSettled([...running]);
    await workers?.close();
  }
  // Every trial failing means the search itself is wrong (say, a parameter combination XGBoost refuses): say why.
  if (launched > 0 && failures.length === launched) throw failures[0];

  const best = bestTrial();
  const out: StudyResult = { study: studyName, direction, metric, parentRunId, trials, best, resumed, encoding: data.encoding };
  if (best) {
    out.bestRunId = runIdByTrial.get(best.number);
    out.bestFitted = fittedByTrial.get(best.number) ?? (await fit(resolveParams(kind, { ...fixed, ...best.params }), data.train, { valid: data.valid }));
  }
  if (tracker && parentRunId) {
    if (best) {
      await tracker.log(parentRunId, {
        metrics: [{ key: `best_${valueKey}`, value: best.value!, step: 0 }],
        tags: { best_trial: String(best.number), best_params: JSON.stringify(best.params), ...(out.bestRunId ? { best_run_id: out.bestRunId } : {}) },
      });
    }
    if (request.register && out.bestFitted) {
      const dataset = await tracker.recordDataset(undefined, data.file, request.dataset);
      out.modelVersion = (await registerFitted(tracker, request.register, out.bestFitted, data.encoding, { runId: out.bestRunId, dataset })).version;
    }
    await tracker.endRun(parentRunId, 'FINISHED');
  }
  return out;
}
