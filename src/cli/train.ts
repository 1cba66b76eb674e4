/**
 * `modelport train FILE --target COL`: trains a GBDT (XGBoost parameter names) or a linear
 * model on a table, prints the validation metrics, writes the model file, and tracks and
 * registers it when asked (embedded, or against --server).
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { ClientTrainingTracker, trainFile, type TrainRequest } from '../client/training.js';
import type { TrainingTracker } from '../training/tracker.js';
import { MODEL_KINDS, type ModelKind } from '../training/fit.js';
import { OBJECTIVES } from '../training/gbdt/params.js';
import type { TextEncoding } from '../training/prepare.js';
import { globalOptions, withClient } from './context.js';
import { progress, type Progress } from './progress.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);

/** --param k=v (repeatable, or comma-separated k=v,k=v) into a record. */
export function parseParams(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of raw.flatMap((r) => r.split(/,(?=[A-Za-z_]+=)/))) {
    const i = item.indexOf('=');
    if (i <= 0) throw invalidArgument(`--param: "${item}" is not NAME=VALUE`);
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

export interface DataFlags {
  target: string;
  features?: string;
  drop?: string;
  valid?: string;
  validFraction?: string;
  split?: string;
  text?: string;
}

export function dataRequest(file: string, opts: DataFlags): Pick<TrainRequest, 'file' | 'target' | 'features' | 'drop' | 'valid' | 'validFraction' | 'split' | 'text'> {
  const validFraction = opts.validFraction === undefined ? undefined : Number(opts.validFraction);
  if (validFraction !== undefined && !(validFraction > 0 && validFraction < 1)) throw invalidArgument(`--valid-fraction: "${opts.validFraction}" must be a number between 0 and 1`);
  if (opts.split !== undefined && opts.split !== 'random' && opts.split !== 'tail') throw invalidArgument(`--split: "${opts.split}" is not one of random, tail`);
  return { file, target: opts.target, features: list(opts.features), drop: list(opts.drop), valid: opts.valid, validFraction, split: opts.split as 'random' | 'tail' | undefined, text: opts.text as TextEncoding | undefined };
}

/** Runs `fn` with a tracker when the command tracks or registers, else without one (no data folder is touched). */
export async function withTracker<T>(cmd: Command, needed: boolean, fn: (tracker: TrainingTracker | undefined) => Promise<T>): Promise<T> {
  if (!needed) return fn(undefined);
  const opts = globalOptions(cmd);
  const server = opts.server ?? process.env.MODELPORT_SERVER;
  const token = opts.token ?? process.env.MODELPORT_TOKEN;
  return withClient(cmd, (client) => fn(new ClientTrainingTracker(client, server ? { url: server, token } : undefined)));
}

export const TEXT_HELP = 'text columns as: categorical (category codes the trees split natively; gbdt default) | one-hot (column=level features; linear)';

export const fmtMetric = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1000 ? v.toFixed(1) : v.toPrecision(4));

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a gradient-boosted tree (XGBoost parameters) or linear model on a table')
    .argument('<file>', 'training table: .csv, .jsonl or .parquet')
    .requiredOption('--target <column>', 'the column to predict')
    .option('--model <kind>', `${MODEL_KINDS.join(' | ')}`, 'gbdt')
    .option('--objective <objective>', `${OBJECTIVES.join(' | ')} (default: from the target)`)
    .option('--param <name=value>', 'a parameter by XGBoost\'s name (max_depth, eta, n_estimators, ...; repeatable)', collect, [])
    .option('--valid <file>', 'validation table')
    .option('--valid-fraction <f>', 'hold out this fraction of the rows for validation (e.g. 0.2)')
    .option('--split <how>', 'held-out rows: random (stratified) | tail (the last rows, for time-ordered data)', 'random')
    .option('--features <columns>', 'comma-separated feature columns (default: all but the target)')
    .option('--drop <columns>', 'comma-separated columns to leave out (ids, timestamps)')
    .option('--text <encoding>', TEXT_HELP)
    .option('--output <file>', 'write the model here (XGBoost JSON for gbdt, ONNX for linear)')
    .option('--experiment <name>', 'track the run (parameters, curve, metrics, model) in this experiment')
    .option('--register <name>', 'register the model under this name')
    .option('--dataset <name>', 'register the training file as a version of this dataset and link run and model to it')
    .option('--run-name <name>', 'name of the tracked run')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: DataFlags & { model: string; objective?: string; param: string[]; output?: string; experiment?: string; register?: string; dataset?: string; runName?: string; json?: boolean }, cmd: Command) => {
      if (!(MODEL_KINDS as readonly string[]).includes(opts.model)) throw invalidArgument(`--model: "${opts.model}" is not one of ${MODEL_KINDS.join(', ')}`);
      const params: Record<string, unknown> = parseParams(opts.param);
      if (opts.objective) {
        if (params.objective !== undefined && params.objective !== opts.objective) throw invalidArgument(`--objective ${opts.objective} and --param objective=${String(params.objective)} disagree`);
        params.objective = opts.objective;
      }
      const request: TrainRequest = {
        ...dataRequest(file, opts),
        model: opts.model as ModelKind,
        params,
        output: opts.output,
        experiment: opts.experiment ?? (opts.register ? 'Default' : undefined),
        register: opts.register,
        dataset: opts.dataset,
        runName: opts.runName,
      };
      let bar: Progress | undefined;
      const result = await withTracker(cmd, Boolean(opts.experiment || opts.register || opts.dataset), (tracker) =>
        trainFile(request, tracker, (_, total) => (bar ??= progress('training', total)).tick()),
      );
      bar?.done();
      if (opts.json) {
        const { fitted: _fitted, ...rest } = result;
        process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
        return;
      }
      const out = process.stdout;
      out.write(`${result.fitted.kind} ${result.params.objective}: ${result.rounds} ${result.fitted.kind === 'gbdt' ? 'rounds' : 'iterations'}${result.bestIteration !== undefined ? `, best iteration ${result.bestIteration}` : ''}, ${result.encoding.featureNames.length} features\n`);
      for (const [k, v] of Object.entries(result.metrics)) out.write(`  ${k.padEnd(18)} ${fmtMetric(v)}\n`);
      if (result.importance) {
        const top = Object.entries(result.importance).sort((a, b) => b[1] - a[1]).slice(0, 5);
        out.write(`  top features (gain): ${top.map(([f, v]) => `${f} ${fmtMetric(v)}`).join(', ')}\n`);
      }
      if (opts.output) out.write(`model written to ${opts.output}\n`);
      if (result.preprocessOutput) out.write(`text columns are category codes: their preprocessing written to ${result.preprocessOutput} (needed to score new rows)\n`);
      if (result.runId) out.write(`run ${result.runId} in experiment ${request.experiment}\n`);
      if (result.modelVersion !== undefined) out.write(`registered ${opts.register} version ${result.modelVersion} (training data ${result.dataset})\n`);
    });
}
