/**
 * `modelport explain NAME --input FILE | --request-id ID`: attributions for rows of a file (CSV,
 * JSON Lines, Parquet, or a JSON V2 request or list of records) through deployment NAME, or
 * for a logged prediction after the fact. `modelport explain importance NAME VERSION
 * --dataset D[@v] [--label COL]` computes and stores a version's global importance.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { readTable } from '../data/read-table.js';
import { ExplainClient, type ExplainParameters, type ExplainResponse, type ImportanceResponse, type LoggedExplanation } from '../client/explain.js';
import type { V2Request, V2Tensor } from '../serving/index.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';

interface ExplainFlags {
  input?: string;
  requestId?: string;
  version?: string;
  method?: string;
  output?: string;
  explain?: string;
  budget?: string;
  seed?: string;
  background?: string;
  topK?: string;
  interactions?: boolean;
  top: string;
}

const METHODS = ['tree', 'kernel', 'lime'];

function whole(raw: string | undefined, flag: string, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min) throw invalidArgument(`${flag}: "${raw}" is not a whole number${min > 0 ? ` >= ${min}` : ''}`);
  return Number(raw);
}

function tensorOf(name: string, values: unknown[]): V2Tensor {
  const numeric = values.every((v) => v === null || typeof v === 'number');
  return { name, shape: [values.length], datatype: numeric ? 'FP64' : 'BYTES', data: values };
}

/** Records (one object per row) as one V2 tensor per key. */
function fromRecords(records: Record<string, unknown>[]): V2Request {
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return { inputs: names.map((n) => tensorOf(n, records.map((r) => r[n] ?? null))) };
}

/** The rows to explain as a V2 request: a V2 body or records in JSON, else a table file. */
export async function requestFromFile(path: string): Promise<V2Request> {
  if (extname(path).toLowerCase() === '.json') {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw invalidArgument(`--input: ${path}: ${(err as Error).message}`);
    }
    if (doc && typeof doc === 'object' && Array.isArray((doc as V2Request).inputs)) return doc as V2Request;
    if (Array.isArray(doc) && doc.every((r) => r && typeof r === 'object' && !Array.isArray(r))) return fromRecords(doc as Record<string, unknown>[]);
    throw invalidArgument(`--input: ${path} holds neither a V2 request ({"inputs": [...]}) nor a list of records`);
  }
  const table = await readTable(path);
  if (table.rowCount === 0) throw invalidArgument(`--input: ${path} has no rows`);
  return {
    inputs: table.columns.map((c) => tensorOf(c.name, c.type === 'number' ? Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)) : c.values)),
  };
}

/** Per row (and class), the features with the largest attributions. */
export function renderExplanation(e: ExplainResponse | LoggedExplanation, top: number): string {
  const attributions = e.outputs.find((o) => o.name === 'attributions')!;
  const F = e.feature_names.length;
  const rows = attributions.shape[0];
  const groups = attributions.shape.length === 3 ? attributions.shape[1] : 1;
  const data = attributions.data as number[];
  let text = `model ${e.model_name} version ${e.model_version}, method ${e.method}, explaining "${e.explained_output}"\n`;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const base = groups > 1 ? (e.base_values as number[][])[r][g] : (e.base_values as number[])[r];
      const phi = data.slice((r * groups + g) * F, (r * groups + g + 1) * F);
      const total = phi.reduce((a, b) => a + b, base);
      text += `\nrow ${r}${groups > 1 ? ` class ${g}` : ''}: base ${base.toPrecision(6)} + attributions = ${total.toPrecision(6)}\n`;
      const order = phi.map((_, j) => j).sort((a, b) => Math.abs(phi[b]) - Math.abs(phi[a])).slice(0, top);
      text += renderTable(['FEATURE', 'ATTRIBUTION'], order.map((j) => [e.feature_names[j], (phi[j] >= 0 ? '+' : '') + phi[j].toPrecision(4)]));
    }
  }
  return text;
}

export function renderImportance(imp: ImportanceResponse): string {
  let text = '';
  if (imp.shap) {
    const s = imp.shap;
    const order = s.mean.map((_, j) => j).sort((a, b) => s.mean[b] - s.mean[a]);
    text += `mean |SHAP| (${s.method}, "${s.output}") on ${s.dataset}, ${s.rows} rows\n`;
    text += renderTable(['FEATURE', 'MEAN |SHAP|'], order.map((j) => [s.featureNames[j], s.mean[j].toPrecision(4)]));
  }
  if (imp.permutation) {
    const p = imp.permutation;
    const order = p.mean.map((_, j) => j).sort((a, b) => p.mean[b] - p.mean[a]);
    text += `permutation importance on ${p.dataset} (label ${p.label}, ${p.metric} ${p.baseline.toPrecision(4)}, ${p.repeats} repeats)\n`;
    text += renderTable(['FEATURE', `${p.metric.toUpperCase()} LOSS`, 'STD'], order.map((j) => [p.featureNames[j], p.mean[j].toPrecision(4), p.std[j].toPrecision(2)]));
  }
  return text || 'no global importance stored (run modelport explain importance)\n';
}

export function registerExplainCommand(program: Command): void {
  const explain = program
    .command('explain')
    .description('explain predictions of a deployment (TreeSHAP, KernelSHAP or LIME), or a logged prediction by its request id')
    .argument('[deployment]', 'deployment name')
    .option('--input <file>', 'rows to explain (.csv, .jsonl, .parquet, or .json: a V2 request or a list of records)')
    .option('--request-id <id>', 'explain a logged prediction, against the model version that answered it')
    .option('--version <n>', 'a version the deployment serves')
    .option('--method <method>', 'tree (exact TreeSHAP, XGBoost), kernel (KernelSHAP) or lime; default: tree where exact, else kernel')
    .option('--explain <output>', 'the model output to explain (kernel, lime; default: the margin or the probabilities)')
    .option('--budget <n>', 'KernelSHAP coalitions per row (default 2M + 2048)')
    .option('--seed <n>', 'seed of the sampled methods')
    .option('--background <dataset>', 'dataset[@version] summarised as the background (else the stored one)')
    .option('--top-k <n>', 'LIME: features kept')
    .option('--interactions', 'TreeSHAP interaction values as well')
    .option('--top <n>', 'features printed per row', '10')
    .option('--output <file>', 'write the full response as JSON instead of printing a summary')
    .action(async (deployment: string | undefined, flags: ExplainFlags, cmd: Command) => {
      if (flags.method !== undefined && !METHODS.includes(flags.method)) throw invalidArgument(`--method: "${flags.method}" must be one of ${METHODS.join(', ')}`);
      if ((flags.input === undefined) === (flags.requestId === undefined)) throw invalidArgument('give --input FILE or --request-id ID (one of them)');
      if (flags.input !== undefined && !deployment) throw invalidArgument('DEPLOYMENT: name the deployment whose model explains the rows');
      const top = whole(flags.top, '--top', 1)!;
      const parameters: ExplainParameters = {
        method: flags.method as ExplainParameters['method'],
        output: flags.explain,
        budget: whole(flags.budget, '--budget', 1),
        seed: whole(flags.seed, '--seed'),
        background: flags.background,
        top_k: whole(flags.topK, '--top-k', 1),
        interactions: flags.interactions,
      };
      for (const k of Object.keys(parameters) as (keyof ExplainParameters)[]) if (parameters[k] === undefined) delete parameters[k];
      const version = whole(flags.version, '--version', 1);
      const request = flags.input !== undefined ? await requestFromFile(flags.input) : undefined;
      await withClient(cmd, async (client) => {
        const sdk = new ExplainClient(client);
        const answer = request
          ? await sdk.explain(deployment!, { ...request, parameters: { ...request.parameters, ...parameters } }, version)
          : await sdk.explainLogged(flags.requestId!, parameters);
        if (flags.output) {
          await writeFile(flags.output, JSON.stringify(answer));
          process.stdout.write(`wrote the explanation (${answer.method}) to ${flags.output}\n`);
        } else process.stdout.write(renderExplanation(answer, top));
      });
    });

  explain
    .command('importance')
    .description("compute and store a model version's global importance on a dataset version (mean |SHAP|; permutation importance with --label)")
    .argument('<model>', 'registered model name')
    .argument('<version>', 'model version')
    .requiredOption('--dataset <name[@version]>', 'registered dataset version')
    .option('--label <column>', 'label column: permutation importance as well')
    .option('--rows <n>', 'rows explained for mean |SHAP| (default 1000 with TreeSHAP, 100 otherwise)')
    .option('--background-size <n>', 'background rows kept for kernel and LIME explanations', '100')
    .option('--method <method>', 'tree, kernel or lime')
    .option('--seed <n>', 'seed')
    .action(async (model: string, versionText: string, flags: { dataset: string; label?: string; rows?: string; backgroundSize: string; method?: string; seed?: string }, cmd: Command) => {
      if (flags.method !== undefined && !METHODS.includes(flags.method)) throw invalidArgument(`--method: "${flags.method}" must be one of ${METHODS.join(', ')}`);
      const version = whole(versionText, 'VERSION', 1)!;
      await withClient(cmd, async (client) => {
        process.stderr.write(`computing global importance of ${model} version ${version} on ${flags.dataset}...\n`);
        const result = await new ExplainClient(client).computeImportance(model, version, {
          dataset: flags.dataset,
          label: flags.label,
          rows: whole(flags.rows, '--rows', 1),
          background_size: whole(flags.backgroundSize, '--background-size', 1),
          seed: whole(flags.seed, '--seed'),
          parameters: flags.method ? { method: flags.method as ExplainParameters['method'] } : undefined,
        });
        process.stdout.write(renderImportance(result));
      });
    });

  explain
    .command('report')
    .description("write a model version's self-contained HTML explanation report to FILE (after explain importance)")
    .argument('<model>', 'registered model name')
    .argument('<version>', 'model version')
    .argument('<file>', 'the .html file to write')
    .option('--row <n>', 'the row drawn as a waterfall', '0')
    .option('--class <n>', 'the class drawn, for a multi-class model')
    .action(async (model: string, versionText: string, file: string, flags: { row: string; class?: string }, cmd: Command) => {
      const version = whole(versionText, 'VERSION', 1)!;
      const row = whole(flags.row, '--row');
      const group = whole(flags.class, '--class');
      await withClient(cmd, async (client) => {
        const html = await new ExplainClient(client).report(model, version, { row, group });
        await writeFile(file, html);
        process.stdout.write(`wrote the explanation report of ${model} version ${version} to ${file}\n`);
      });
    });

  explain
    .command('logging')
    .description("explain RATE (0..1) of a deployment's requests as they are served, so --request-id answers from the stored explanation")
    .argument('<deployment>', 'deployment name')
    .argument('<rate>', 'share of requests, 0..1')
    .action(async (deployment: string, rateText: string, _flags: unknown, cmd: Command) => {
      const rate = Number(rateText);
      if (rateText.trim() === '' || !(rate >= 0 && rate <= 1)) throw invalidArgument(`RATE: "${rateText}" must be a number in [0, 1]`);
      await withClient(cmd, async (client) => {
        await new ExplainClient(client).setLogging(deployment, rate);
        process.stdout.write(`deployment ${deployment}: explaining ${rate * 100}% of requests as they are served\n`);
      });
    });
}
