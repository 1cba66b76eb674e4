/**
 * `modelport tune FILE --target COL --trials N`: a hyperparameter search (TPE by default, with
 * median pruning on the boosting rounds), every trial a nested run of the study's run, the
 * best model registered when asked. Running it again with the same --study resumes the study.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { yaml } from '../core/yaml.js';
import { invalidArgument } from '../core/errors.js';
import { runStudy } from '../client/training.js';
import { MODEL_KINDS, type ModelKind } from '../training/fit.js';
import { OBJECTIVES } from '../training/gbdt/params.js';
import { defaultSpace } from '../training/search/defaults.js';
import { PRUNERS } from '../training/search/pruners.js';
import { SAMPLERS } from '../training/search/samplers.js';
import { parseSpace, type SearchSpace } from '../training/search/space.js';
import { dataRequest, fmtMetric, parseParams, TEXT_HELP, withTracker, type DataFlags } from './train.js';
import { progress } from './progress.js';
import { configFrom } from './context.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function readSpace(file: string): SearchSpace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw invalidArgument(`--space: cannot read ${file}`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? yaml().parse(text) : JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`--space: ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  return parseSpace(raw, file);
}

function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw invalidArgument(`${flag}: "${raw}" must be a whole number ≥ ${min}`);
  return v;
}

export function registerTuneCommand(program: Command): void {
  program
    .command('tune')
    .description('search hyperparameters (TPE, random or grid; median or ASHA pruning), each trial a tracked run; with --queue redis://… the trials run on `modelport worker` processes')
    .argument('<file>', 'training table: .csv, .jsonl or .parquet')
    .requiredOption('--target <column>', 'the column to predict')
    .requiredOption('--trials <n>', 'number of trials to run')
    .option('--space <file>', 'search space (JSON or YAML): {"eta": {"type": "float", "low": 0.01, "high": 0.3, "log": true}, ...}')
    .option('--model <kind>', `${MODEL_KINDS.join(' | ')}`, 'gbdt')
    .option('--objective <objective>', `${OBJECTIVES.join(' | ')} (default: from the target)`)
    .option('--param <name=value>', 'a parameter every trial shares (repeatable)', collect, [])
    .option('--sampler <name>', SAMPLERS.join(' | '), 'tpe')
    .option('--multivariate', 'TPE: draw the parameters jointly (Optuna multivariate=True)')
    .option('--pruner <name>', PRUNERS.join(' | '))
    .option('--metric <name>', 'validation metric to optimise (default: roc_auc, log_loss, rmse or poisson_nloglik by objective)')
    .option('--timeout <seconds>', 'start no new trial after this many seconds')
    .option('--parallel <k>', 'trials at once, each in a worker thread', '1')
    .option('--seed <n>', 'seed of the sampler and the split', '0')
    .option('--valid <file>', 'validation table')
    .option('--valid-fraction <f>', 'hold out this fraction of the rows for validation (default 0.2)')
    .option('--split <how>', 'held-out rows: random (stratified) | tail (the last rows)', 'random')
    .option('--features <columns>', 'comma-separated feature columns')
    .option('--drop <columns>', 'comma-separated columns to leave out')
    .option('--text <encoding>', TEXT_HELP)
    .option('--experiment <name>', 'experiment of the study and its trials (default: Default)')
    .option('--study <name>', 'study name; the same name resumes the study (default: FILE-TARGET)')
    .option('--register <name>', 'register the best model under this name')
    .option('--dataset <name>', 'register the training file as a version of this dataset')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: DataFlags & Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      const model = String(opts.model);
      if (!(MODEL_KINDS as readonly string[]).includes(model)) throw invalidArgument(`--model: "${model}" is not one of ${MODEL_KINDS.join(', ')}`);
      const params: Record<string, unknown> = parseParams(opts.param as string[]);
      if (opts.objective) params.objective = opts.objective;
      const trials = wholeNumber('--trials', opts.trials as string, 1)!;
      const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
      if (timeout !== undefined && !(timeout > 0)) throw invalidArgument(`--timeout: "${String(opts.timeout)}" must be a positive number of seconds`);
      const space = opts.space ? readSpace(String(opts.space)) : defaultSpace(model as ModelKind);
      const { queue } = configFrom(cmd);
      const bar = progress('trials', trials);
      const result = await withTracker(cmd, true, (tracker) =>
        runStudy(
          {
            ...dataRequest(file, opts),
            model: model as ModelKind,
            params,
            space,
            sampler: String(opts.sampler),
            multivariate: opts.multivariate === true,
            pruner: opts.pruner as string | undefined,
            trials,
            timeoutSeconds: timeout,
            parallel: wholeNumber('--parallel', opts.parallel as string, 1),
            // The global --queue (or MODELPORT_QUEUE): a redis:// queue runs the trials on its workers.
            queue: queue.kind === 'redis' ? queue.url : undefined,
            seed: wholeNumber('--seed', opts.seed as string, 0),
            metric: opts.metric as string | undefined,
            experiment: opts.experiment as string | undefined,
            study: opts.study as string | undefined,
            register: opts.register as string | undefined,
            dataset: opts.dataset as string | undefined,
            onTrial: () => bar.tick(),
          },
          tracker,
        ),
      );
      bar.done();
      const counts = { COMPLETE: 0, PRUNED: 0, FAIL: 0, RUNNING: 0 };
      for (const t of result.trials) counts[t.state]++;
      if (opts.json) {
        const { bestFitted: _f, trials: list, ...rest } = result;
        process.stdout.write(`${JSON.stringify({ ...rest, counts, trials: list.map((t) => ({ ...t, intermediate: undefined })) }, null, 2)}\n`);
        return;
      }
      const out = process.stdout;
      out.write(`study ${result.study}: ${result.trials.length} trials (${counts.COMPLETE} complete, ${counts.PRUNED} pruned, ${counts.FAIL} failed${result.resumed ? `; ${result.resumed} resumed from before` : ''})\n`);
      if (result.best) {
        out.write(`best trial ${result.best.number}: val_${result.metric} ${fmtMetric(result.best.value!)} (${result.direction})\n`);
        for (const [k, v] of Object.entries(result.best.params)) out.write(`  ${k.padEnd(18)} ${typeof v === 'number' ? fmtMetric(v) : String(v)}\n`);
      }
      if (result.parentRunId) out.write(`study run ${result.parentRunId}${result.bestRunId ? `, best trial run ${result.bestRunId}` : ''}\n`);
      if (result.modelVersion !== undefined) out.write(`registered ${String(opts.register)} version ${result.modelVersion}\n`);
    });
}
