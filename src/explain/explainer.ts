/**
 * One explanation request against one loaded model: the method chosen for the model (TreeSHAP
 * where it is exact, else KernelSHAP) or asked for, run on the request's rows.
 */
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { conform, PreprocessedPredictor, type Batch, type Predictor } from '../models/index.js';
import type { Background } from './background.js';
import { kernelShap } from './kernel-shap.js';
import { lime } from './lime.js';
import { batchToMatrix, chooseOutput, featureLayout, predictorFn, type FeatureLayout } from './tabular.js';
import { treeShap, treeShapInteractions, type TreeEnsemble } from './tree-shap.js';
import type { Attributions } from './types.js';

export type ExplainMethod = 'tree' | 'kernel' | 'lime';
export const METHODS: readonly ExplainMethod[] = ['tree', 'kernel', 'lime'];

export interface ExplainOptions {
  method?: ExplainMethod;
  /** The model output to explain (kernel and LIME); TreeSHAP explains the margin. */
  output?: string;
  /** KernelSHAP coalitions per row. */
  budget?: number;
  seed?: number;
  /** TreeSHAP interaction values as well. */
  interactions?: boolean;
  /** LIME: perturbed samples per row and features kept. */
  samples?: number;
  topK?: number;
}

export interface Explanation {
  method: ExplainMethod;
  /** The model output explained ("margin" for TreeSHAP). */
  output: string;
  featureNames: string[];
  attributions: Attributions;
  /** rows × groups × features × features, when asked for (TreeSHAP). */
  interactions?: Float64Array;
  /** LIME's local slopes per feature, in the features' own units. */
  limeWeights?: Float64Array;
}

/** What an explainer may need beyond the predictor, fetched only when the method needs it. */
export interface ExplainContext {
  predictor: Predictor;
  /** The version's trees, or undefined when it is not a tree model TreeSHAP can read. */
  trees(): Promise<TreeEnsemble | undefined>;
  background(layout: FeatureLayout): Promise<Background>;
}

export function checkMethod(method: unknown): ExplainMethod | undefined {
  if (method === undefined) return undefined;
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
    throw invalidArgument(`parameters.method: "${String(method)}" must be one of ${METHODS.join(', ')}`);
  }
  return method as ExplainMethod;
}

/**
 * Explanations run on the calling thread; these bound one request's work (rows for TreeSHAP,
 * model evaluations for the sampling methods) so a request cannot hold a server for minutes.
 */
export const MAX_TREE_ROWS = 10_000;
export const MAX_EVALUATIONS = 50_000_000;

/**
 * A model with a preprocessing step is explained on the features it was trained on; SHAP values
 * are additive, so a raw column's attribution is the sum over its features (a one-hot column's
 * levels), and callers read the explanation in the columns they sent. LIME's local slopes stay
 * per feature: a slope of a category column has no meaning.
 */
function byInputColumn(p: PreprocessedPredictor, e: Explanation): Explanation {
  if (e.method === 'lime') return e;
  const names = p.signature.inputs.map((s) => s.name);
  const target = p.featureColumn.map((c) => names.indexOf(c));
  const { rows, groups, features, values, base } = e.attributions;
  const C = names.length;
  const grouped = new Float64Array(rows * groups * C);
  for (let m = 0; m < rows * groups; m++) for (let j = 0; j < features; j++) grouped[m * C + target[j]] += values[m * features + j];
  const out: Explanation = { ...e, featureNames: names, attributions: { rows, groups, features: C, values: grouped, base } };
  if (e.interactions) {
    const inter = new Float64Array(rows * groups * C * C);
    for (let m = 0; m < rows * groups; m++) {
      for (let i = 0; i < features; i++) {
        for (let j = 0; j < features; j++) inter[(m * C + target[i]) * C + target[j]] += e.interactions[(m * features + i) * features + j];
      }
    }
    out.interactions = inter;
  }
  return out;
}

export async function explainBatch(ctx: ExplainContext, input: Batch, options: ExplainOptions = {}): Promise<Explanation> {
  const { predictor } = ctx;
  if (predictor instanceof PreprocessedPredictor) {
    return byInputColumn(predictor, await explainBatch({ ...ctx, predictor: predictor.inner }, predictor.encode(input), options));
  }
  const layout = featureLayout(predictor.signature);
  const batch = conform(input, predictor.signature.inputs);
  if (batch.rows > MAX_TREE_ROWS) throw invalidArgument(`inputs: ${batch.rows} rows is more than the ${MAX_TREE_ROWS} one explanation request may hold`);
  const x = batchToMatrix(layout, batch);
  const rows = batch.rows;
  const trees = options.method === undefined || options.method === 'tree' ? await ctx.trees() : undefined;
  const method = options.method ?? (trees ? 'tree' : 'kernel');
  if (options.interactions && method !== 'tree') throw invalidArgument('parameters.interactions: interaction values are computed by the tree method only');
  if (method === 'tree') {
    if (!trees) throw failedPrecondition(`parameters.method: the tree method explains XGBoost tree models; this model's flavor is ${predictor.flavor} (use kernel or lime)`);
    if (options.output !== undefined && options.output !== 'margin') {
      throw invalidArgument(`parameters.output: the tree method explains the margin; use method kernel to explain "${options.output}"`);
    }
    const x32 = Float32Array.from(x);
    const phi = treeShap(trees, x32, rows);
    const F = trees.numFeature;
    const G = trees.numGroups;
    const values = new Float64Array(rows * G * F);
    const base = new Float64Array(rows * G);
    for (let i = 0; i < rows * G; i++) {
      values.set(phi.subarray(i * (F + 1), i * (F + 1) + F), i * F);
      base[i] = phi[i * (F + 1) + F];
    }
    const explanation: Explanation = { method, output: 'margin', featureNames: layout.names, attributions: { rows, groups: G, features: F, values, base } };
    if (options.interactions) {
      const all = treeShapInteractions(trees, x32, rows);
      const C = F + 1;
      const inter = new Float64Array(rows * G * F * F);
      for (let m = 0; m < rows * G; m++) for (let i = 0; i < F; i++) inter.set(all.subarray((m * C + i) * C, (m * C + i) * C + F), (m * F + i) * F);
      explanation.interactions = inter;
    }
    return explanation;
  }
  const output = chooseOutput(predictor.signature, predictor.flavor, options.output);
  const f = predictorFn(predictor, layout, output);
  const bg = await ctx.background(layout);
  const perRow = method === 'kernel' ? (options.budget ?? 2 * layout.names.length + 2048) * bg.rows : (options.samples ?? 5000);
  if (rows * perRow > MAX_EVALUATIONS) {
    throw invalidArgument(`inputs: ${rows} rows × ${perRow} model evaluations each is more than ${MAX_EVALUATIONS} for one request; send fewer rows or lower parameters.${method === 'kernel' ? 'budget' : 'samples'}`);
  }
  if (method === 'kernel') {
    const attributions = await kernelShap(f, output.groups, bg, x, rows, { budget: options.budget, seed: options.seed });
    return { method, output: output.name, featureNames: layout.names, attributions };
  }
  const result = await lime(f, output.groups, bg, x, rows, { samples: options.samples, topK: options.topK, seed: options.seed });
  return { method, output: output.name, featureNames: layout.names, attributions: result, limeWeights: result.weights };
}
