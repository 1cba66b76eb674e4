/**
 * The pipelines' built-in `train` step: the built-in trainer on an upstream table (the split
 * step's train.csv by default). It writes the model folder a `model.register` step registers
 * and the validation metrics the run records; the curve goes to the step's own tracking run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { readTable } from '../data/read-table.js';
import type { BuiltinStep, StepContext } from '../pipelines/context.js';
import { inputFile, num, str } from '../pipelines/builtins.js';
import { modelArtifact, objectiveOf, resolveParams, MODEL_KINDS, type ModelKind } from './fit.js';
import { prepareTable, requestParams, textEncodingFor, trainPrepared } from './session.js';
import { WorkerFitter } from './search/worker-fitter.js';

const list = (ctx: StepContext, key: string): string[] | undefined => {
  const v = ctx.with[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw invalidArgument(`step ${ctx.step}: with.${key} must be a list of column names`);
};

const kindOf = (options: Record<string, unknown>): ModelKind => {
  const kind = options.model ?? 'gbdt';
  if (typeof kind !== 'string' || !(MODEL_KINDS as readonly string[]).includes(kind)) throw invalidArgument(`with.model: "${String(kind)}" must be one of ${MODEL_KINDS.join(', ')}`);
  return kind as ModelKind;
};

export const trainStep: BuiltinStep = {
  description: 'trains the built-in GBDT or linear model on train.csv (with: target, drop, features, model, params, text, validFraction, split, from) and writes model/, encoding.json and metrics.json',
  outputs: (options) => [kindOf(options) === 'gbdt' ? 'model/model.json' : 'model/model.onnx', 'encoding.json', 'metrics.json'],
  async run(ctx) {
    const kind = kindOf(ctx.with);
    const table = await readTable(inputFile(ctx, str(ctx, 'file', 'train.csv')));
    const target = str(ctx, 'target');
    const given = ctx.with.params ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidArgument(`step ${ctx.step}: with.params must be an object of parameters`);
    const resolved = resolveParams(kind, requestParams(table, { target, params: given as Record<string, unknown> }));
    const validFraction = num(ctx, 'validFraction', 0.2);
    const split = str(ctx, 'split', 'tail');
    if (split !== 'tail' && split !== 'random') throw invalidArgument(`step ${ctx.step}: with.split "${split}" must be tail or random`);
    const text = ctx.with.text === undefined ? undefined : str(ctx, 'text');
    // Text columns encoded as `modelport train` does (category codes for a GBDT by default).
    const data = await prepareTable(table, { file: table.source, target, features: list(ctx, 'features'), drop: list(ctx, 'drop'), validFraction, split, text: textEncodingFor(kind, text) }, objectiveOf(resolved), resolved.kind === 'gbdt' ? resolved.params.seed : 0);
    const curve: { key: string; value: number; step: number; timestamp: number }[] = [];
    // The fit runs on a thread of its own: on a server's process (the local queue) it would
    // otherwise hold the event loop, and every request with it, until its last round. A
    // cancelled or timed-out step stops it there.
    ctx.signal.throwIfAborted();
    const fitter = new WorkerFitter();
    const stop = () => void fitter.close();
    ctx.signal.addEventListener('abort', stop, { once: true });
    let result: Awaited<ReturnType<typeof trainPrepared>>;
    try {
      result = await trainPrepared(
        data,
        resolved,
        {},
        undefined,
        (r) => {
          const at = Date.now();
          for (const [set, values] of Object.entries({ train: r.train, validation: r.validation })) {
            for (const [metric, value] of Object.entries(values ?? {})) if (Number.isFinite(value)) curve.push({ key: `${set}-${metric}`, value, step: r.round, timestamp: at });
          }
        },
        fitter.fit,
      );
    } finally {
      ctx.signal.removeEventListener('abort', stop);
      await fitter.close();
    }
    const artifact = modelArtifact(result.fitted);
    const dir = join(ctx.outputDir, 'model');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, artifact.file), artifact.bytes);
    await writeFile(join(ctx.outputDir, 'encoding.json'), JSON.stringify(result.encoding, null, 1));
    await writeFile(join(ctx.outputDir, 'metrics.json'), JSON.stringify(result.metrics));
    if (ctx.trackingRunId) {
      const runId = ctx.trackingRunId;
      await ctx.services.tracking.logBatch(runId, { params: Object.entries({ model: kind, ...result.params }).map(([key, value]) => ({ key, value })) });
      for (let i = 0; i < curve.length; i += 1000) await ctx.services.tracking.logBatch(runId, { metrics: curve.slice(i, i + 1000) });
    }
    const shown = Object.entries(result.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
    ctx.log(`trained ${kind} on ${data.train.rows} rows × ${data.train.numFeature} features, ${result.rounds} rounds: ${shown}`);
  },
};
