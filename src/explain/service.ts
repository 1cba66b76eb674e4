/**
 * The explanations service: explains rows against a model version (the loaded serving version
 * or one it loads itself), explains a logged prediction after the fact from the prediction
 * log's stored inputs and the version that answered, keeps each version's background summary,
 * and computes and stores global importance (mean |SHAP| and permutation importance).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TableFormat } from '../data/read-table.js';
import { fromColumns, fromRecords, parseXgboost, PreprocessedPredictor, resolveArtifact, type Batch, type Predictor } from '../models/index.js';
import { treeRange } from '../models/xgboost/flavor.js';
import { readDataset } from '../monitoring/monitors/frames.js';
import type { PayloadCipher } from '../security/sealed-payload.js';
import { summarize, type Background } from './background.js';
import { explainBatch, type ExplainContext, type ExplainOptions, type Explanation } from './explainer.js';
import type { ExplainTables } from './migrations.js';
import { renderExplanationReport, type ReportOptions } from './report.js';
import { SampledExplanationLog } from './sampled-log.js';
import { batchToMatrix, chooseOutput, featureLayout, matrixToBatch, predictorFn, tableToMatrix, type FeatureLayout } from './tabular.js';
import { treeEnsemble, type TreeEnsemble } from './tree-shap.js';
import { evaluate } from './types.js';

/** What explanations need of the model registry. */
export interface ExplainModels {
  /** The version's files on local disk and its recorded flavor. */
  materialize(name: string, version: number): Promise<{ path: string; flavor?: string }>;
  /** Loads the version on the calling thread. */
  load(name: string, version: number): Promise<Predictor>;
}

/** What explanations need of the prediction log. */
export interface ExplainLog {
  get(requestId: string): Promise<{ row: number; deployment: string; model: string; version: number; inputs: Record<string, unknown> }[]>;
}

/** What explanations need of the datasets domain. */
export interface ExplainDatasets {
  open(ref: { name: string; version?: number }): Promise<{ version: { name: string; version: number; format: TableFormat }; stream: Readable }>;
}

export interface ExplainDeps {
  db: Kysely<ExplainTables>;
  clock: Clock;
  models: ExplainModels;
  log: ExplainLog;
  datasets: ExplainDatasets;
  /** The predictor a deployment answers with for `version` now, if loaded (for sampled explanation logging). */
  predictorOf(deployment: string, version: number): Predictor | undefined;
  /** Seals logged explanation bodies when encryption at rest is on. */
  cipher?: PayloadCipher;
}

export interface DatasetRef {
  name: string;
  version?: number;
}

export interface ImportanceInput {
  dataset: DatasetRef;
  /** Label column: when given, permutation importance is computed too. */
  label?: string;
  /** Rows of the dataset explained for mean |SHAP| (default 1000 with TreeSHAP, 100 otherwise). */
  rows?: number;
  /** Background rows kept for kernel and LIME explanations (default 100, k-means). */
  backgroundSize?: number;
  /** Shuffles per feature for permutation importance (default 5). */
  repeats?: number;
  seed?: number;
  explain?: ExplainOptions;
}

export interface ShapImportance {
  kind: 'shap';
  method: string;
  output: string;
  dataset: string;
  rows: number;
  featureNames: string[];
  groups: number;
  /** Mean |SHAP| per feature, summed over the output groups. */
  mean: number[];
  /** groups × features. */
  perGroup: number[][];
  /** The explained rows kept for reports: features, attributions (rows × groups × features) and base values. */
  sample: { rows: number; x: (number | null)[]; values: number[]; base: number[] };
}

export interface PermutationImportance {
  kind: 'permutation';
  metric: 'accuracy' | 'rmse';
  output: string;
  dataset: string;
  label: string;
  rows: number;
  repeats: number;
  baseline: number;
  featureNames: string[];
  /** How much the metric worsens, per feature: mean and standard deviation over the repeats. */
  mean: number[];
  std: number[];
}

export interface VersionImportance {
  model: string;
  version: number;
  shap?: ShapImportance;
  permutation?: PermutationImportance;
}

const SAMPLE_ROWS = 500;

function refText(ref: DatasetRef): string {
  return ref.version === undefined ? ref.name : `${ref.name}@${ref.version}`;
}

function shuffle(order: Int32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
}

export class ExplainService {
  /** TreeSHAP ensembles by artifact path (which names the artifact's content). */
  private readonly trees = new Map<string, Promise<TreeEnsemble | undefined>>();
  private readonly backgrounds = new Map<string, Promise<Background>>();

  /** Explanations of a sampled share of served requests; serving's prediction tap. */
  readonly sampled: SampledExplanationLog;

  constructor(private readonly deps: ExplainDeps) {
    this.sampled = new SampledExplanationLog({
      db: deps.db,
      clock: deps.clock,
      predictorOf: deps.predictorOf,
      cipher: deps.cipher,
      explain: (model, version, predictor, batch) => this.explain(model, version, predictor, batch),
    });
  }

  start(): Promise<void> {
    return this.sampled.start();
  }

  close(): Promise<void> {
    return this.sampled.close();
  }

  /** The version's trees for TreeSHAP, or undefined when it is not an XGBoost model. */
  treesOf(model: string, version: number): Promise<TreeEnsemble | undefined> {
    const key = `${model}\u0000${version}`;
    let found = this.trees.get(key);
    if (!found) {
      found = (async () => {
        const files = await this.deps.models.materialize(model, version);
        const artifact = await resolveArtifact(files.path, files.flavor);
        if (artifact.flavor !== 'xgboost') return undefined;
        const parsed = parseXgboost(new Uint8Array(await readFile(artifact.path)));
        const [begin, end] = treeRange(parsed, {});
        if (parsed.trees.slice(begin, end).some((t) => !t.cover)) return undefined;
        return treeEnsemble(parsed, begin, end);
      })();
      found.catch(() => this.trees.delete(key));
      this.trees.set(key, found);
    }
    return found;
  }

  private context(model: string, version: number, predictor: Predictor, background?: DatasetRef): ExplainContext {
    return {
      predictor,
      trees: () => this.treesOf(model, version),
      background: (layout) => (background ? this.datasetBackground(background, layout, predictor) : this.storedBackground(model, version, layout)),
    };
  }

  /** Explains `batch` with the given predictor of `model` version `version`. */
  explain(model: string, version: number, predictor: Predictor, batch: Batch, options: ExplainOptions & { background?: DatasetRef } = {}): Promise<Explanation> {
    return explainBatch(this.context(model, version, predictor, options.background), batch, options);
  }

  /**
   * Explains a logged prediction: the explanation stored when it was served (sampled logging),
   * unless options ask for another, else computed from the log's stored inputs against the
   * version that answered it.
   */
  async explainLogged(
    requestId: string,
    options: ExplainOptions & { background?: DatasetRef } = {},
  ): Promise<{ deployment: string; model: string; version: number; explanation: Explanation; loggedAtMs?: number }> {
    if (Object.values(options).every((v) => v === undefined)) {
      await this.sampled.flush();
      const stored = await this.sampled.get(requestId);
      if (stored) return { deployment: stored.deployment, model: stored.model, version: stored.version, explanation: stored.explanation, loggedAtMs: stored.timeMs };
    }
    const rows = (await this.deps.log.get(requestId)).sort((a, b) => a.row - b.row);
    const { deployment, model, version } = rows[0];
    const predictor = await this.deps.models.load(model, version);
    try {
      const batch = fromRecords(rows.map((r) => r.inputs), predictor.signature);
      return { deployment, model, version, explanation: await this.explain(model, version, predictor, batch, options) };
    } finally {
      await predictor.close();
    }
  }

  /** A dataset as the model's feature matrix: through the model's preprocessing step when it has one. */
  private async datasetMatrix(ref: DatasetRef, layout: FeatureLayout, skip: string[] = [], predictor?: Predictor) {
    const { table, version } = await readDataset(this.deps.datasets, ref.name, ref.version);
    if (!(predictor instanceof PreprocessedPredictor)) return { table, version, x: tableToMatrix(layout, table, skip) };
    const inputs = new Set(predictor.signature.inputs.map((s) => s.name));
    const raw = fromColumns(Object.fromEntries(table.columns.filter((c) => inputs.has(c.name)).map((c) => [c.name, Array.from(c.values as ArrayLike<unknown>)])), predictor.signature);
    return { table, version, x: batchToMatrix(layout, predictor.encode(raw)) };
  }

  private datasetBackground(ref: DatasetRef, layout: FeatureLayout, predictor: Predictor, size = 100): Promise<Background> {
    const key = `${refText(ref)}\u0000${layout.names.join('\u0000')}\u0000${size}`;
    let found = this.backgrounds.get(key);
    if (!found) {
      found = this.datasetMatrix(ref, layout, [], predictor).then(({ table, x }) => summarize(x, table.rowCount, layout.names.length, { size }));
      found.catch(() => this.backgrounds.delete(key));
      this.backgrounds.set(key, found);
    }
    return found;
  }

  private async storedBackground(model: string, version: number, layout: FeatureLayout): Promise<Background> {
    const row = await this.deps.db.selectFrom('exp_background').selectAll().where('model', '=', model).where('version', '=', version).executeTakeFirst();
    if (!row) {
      throw failedPrecondition(
        `model "${model}" version ${version} has no background data for kernel or LIME explanations: pass parameters.background ("dataset[@version]") or run \`modelport explain importance ${model} ${version} --dataset NAME\``,
      );
    }
    const body = JSON.parse(row.body) as { featureNames: string[]; rows: number; data: (number | null)[]; weights: number[] };
    if (body.featureNames.join('\u0000') !== layout.names.join('\u0000')) throw failedPrecondition(`the stored background of model "${model}" version ${version} has other features than the model`);
    return { rows: body.rows, features: layout.names.length, data: Float64Array.from(body.data, (v) => v ?? NaN), weights: Float64Array.from(body.weights) };
  }

  /**
   * Computes and stores a version's global importance on a dataset version: the background
   * summary (for later kernel and LIME explanations), mean |SHAP| and, with a label column,
   * permutation importance.
   */
  async computeImportance(model: string, version: number, input: ImportanceInput, onProgress?: (step: string) => void): Promise<VersionImportance> {
    const loaded = await this.deps.models.load(model, version);
    // Global importance and the stored background are per feature the model was trained on.
    const predictor = loaded instanceof PreprocessedPredictor ? loaded.inner : loaded;
    try {
      const layout = featureLayout(predictor.signature);
      const F = layout.names.length;
      const { table, version: dsVersion, x } = await this.datasetMatrix(input.dataset, layout, input.label ? [input.label] : [], loaded);
      const dataset = `${input.dataset.name}@${dsVersion}`;
      const now = this.deps.clock.now();
      const bg = summarize(x, table.rowCount, F, { size: input.backgroundSize ?? 100, seed: input.seed });
      const bgBody = JSON.stringify({ featureNames: layout.names, rows: bg.rows, data: Array.from(bg.data, (v) => (Number.isNaN(v) ? null : v)), weights: Array.from(bg.weights) });
      await this.upsert('exp_background', { model, version, source: dataset, body: bgBody, created_ms: now });
      onProgress?.(`background: ${bg.rows} rows summarising ${dataset}`);

      const trees = input.explain?.method === undefined || input.explain.method === 'tree' ? await this.treesOf(model, version) : undefined;
      const limit = Math.min(table.rowCount, input.rows ?? (trees ? 1000 : 100));
      const pick = Int32Array.from({ length: table.rowCount }, (_, i) => i);
      if (limit < table.rowCount) shuffle(pick, mulberry32(input.seed ?? 0));
      const rows = pick.subarray(0, limit);
      const xs = new Float64Array(limit * F);
      rows.forEach((r, i) => xs.set(x.subarray(r * F, (r + 1) * F), i * F));
      const explanation = await this.explain(model, version, predictor, matrixToBatch(layout, xs, limit), input.explain);
      const { values, groups, base } = explanation.attributions;
      const perGroup = Array.from({ length: groups }, (_, g) =>
        Array.from({ length: F }, (_, j) => {
          let s = 0;
          for (let r = 0; r < limit; r++) s += Math.abs(values[(r * groups + g) * F + j]);
          return s / limit;
        }),
      );
      const kept = Math.min(limit, SAMPLE_ROWS);
      const shap: ShapImportance = {
        kind: 'shap',
        method: explanation.method,
        output: explanation.output,
        dataset,
        rows: limit,
        featureNames: layout.names,
        groups,
        mean: layout.names.map((_, j) => perGroup.reduce((s, g) => s + g[j], 0)),
        perGroup,
        sample: {
          rows: kept,
          x: Array.from(xs.subarray(0, kept * F), (v) => (Number.isNaN(v) ? null : v)),
          values: Array.from(values.subarray(0, kept * groups * F)),
          base: Array.from(base.subarray(0, kept * groups)),
        },
      };
      await this.upsert('exp_importance', { model, version, kind: 'shap', body: JSON.stringify(shap), created_ms: now });
      onProgress?.(`mean |SHAP| (${explanation.method}) over ${limit} rows`);
      const result: VersionImportance = { model, version, shap };
      if (input.label) {
        result.permutation = await this.permutation(predictor, layout, x, table, input.label, dataset, input);
        await this.upsert('exp_importance', { model, version, kind: 'permutation', body: JSON.stringify(result.permutation), created_ms: now });
        onProgress?.(`permutation importance (${result.permutation.metric}, ${result.permutation.repeats} repeats)`);
      }
      return result;
    } finally {
      await predictor.close();
    }
  }

  private async permutation(
    predictor: Predictor,
    layout: FeatureLayout,
    x: Float64Array,
    table: { rowCount: number; columns: { name: string; type: string; values: ArrayLike<unknown> }[] },
    label: string,
    dataset: string,
    input: ImportanceInput,
  ): Promise<PermutationImportance> {
    const col = table.columns.find((c) => c.name === label);
    if (!col) throw invalidArgument(`label: the dataset has no column "${label}"`);
    if (col.type !== 'number') throw invalidArgument(`label: column "${label}" must hold numbers (class indexes or targets)`);
    const n = table.rowCount;
    const F = layout.names.length;
    const y = Float64Array.from(col.values as ArrayLike<number>);
    // XGBoost's prediction (probabilities, classes) is what the label is compared with.
    const output = chooseOutput(predictor.signature, predictor.flavor, predictor.flavor === 'xgboost' ? 'prediction' : input.explain?.output);
    const f = predictorFn(predictor, layout, output);
    const G = output.groups;
    const binary = G === 1 && y.every((v) => v === 0 || v === 1);
    const metric: 'accuracy' | 'rmse' = G > 1 || binary ? 'accuracy' : 'rmse';
    const score = (pred: Float64Array) => {
      let s = 0;
      for (let r = 0; r < n; r++) {
        if (metric === 'rmse') s += (pred[r] - y[r]) ** 2;
        else if (G === 1) s += +((pred[r] >= 0.5 ? 1 : 0) === y[r]);
        else {
          let best = 0;
          for (let g = 1; g < G; g++) if (pred[r * G + g] > pred[r * G + best]) best = g;
          s += +(best === y[r]);
        }
      }
      return metric === 'rmse' ? Math.sqrt(s / n) : s / n;
    };
    const baseline = score(await evaluate(f, x, n, F, G));
    const repeats = input.repeats ?? 5;
    if (!Number.isInteger(repeats) || repeats < 1 || repeats > 100) throw invalidArgument(`repeats: ${repeats} must be a whole number in 1..100`);
    const random = mulberry32(input.seed ?? 0);
    const mean: number[] = [];
    const std: number[] = [];
    const shuffled = x.slice();
    const order = Int32Array.from({ length: n }, (_, i) => i);
    for (let j = 0; j < F; j++) {
      const drops: number[] = [];
      for (let k = 0; k < repeats; k++) {
        shuffle(order, random);
        for (let r = 0; r < n; r++) shuffled[r * F + j] = x[order[r] * F + j];
        const s = score(await evaluate(f, shuffled, n, F, G));
        drops.push(metric === 'rmse' ? s - baseline : baseline - s);
      }
      for (let r = 0; r < n; r++) shuffled[r * F + j] = x[r * F + j];
      const m = drops.reduce((a, b) => a + b, 0) / repeats;
      mean.push(m);
      std.push(Math.sqrt(drops.reduce((a, b) => a + (b - m) ** 2, 0) / repeats));
    }
    return { kind: 'permutation', metric, output: output.name, dataset, label, rows: n, repeats, baseline, featureNames: layout.names, mean, std };
  }

  private async upsert(table: 'exp_background' | 'exp_importance', row: ExplainTables['exp_background'] | ExplainTables['exp_importance']): Promise<void> {
    const keys = table === 'exp_background' ? (['model', 'version'] as const) : (['model', 'version', 'kind'] as const);
    await this.deps.db
      .insertInto(table)
      .values(row as never)
      .onConflict((oc) => oc.columns([...keys] as never).doUpdateSet({ body: row.body, created_ms: row.created_ms, ...('source' in row ? { source: row.source } : {}) } as never))
      .execute();
  }

  /** The stored global importance of a version (either part may be absent). */
  async importance(model: string, version: number): Promise<VersionImportance> {
    const rows = await this.deps.db.selectFrom('exp_importance').selectAll().where('model', '=', model).where('version', '=', version).execute();
    const out: VersionImportance = { model, version };
    for (const r of rows) {
      const body = JSON.parse(r.body) as ShapImportance | PermutationImportance;
      if (body.kind === 'shap') out.shap = body;
      else out.permutation = body;
    }
    return out;
  }

  /** The version's self-contained HTML explanation report, from its stored global importance. */
  async report(model: string, version: number, options: ReportOptions = {}): Promise<string> {
    return renderExplanationReport(await this.importance(model, version), options, new Date(this.deps.clock.now()));
  }
}
