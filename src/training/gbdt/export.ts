/**
 * A trained GBDT as XGBoost 1.7 writes it with `save_model('model.json')`, which the xgboost
 * flavor serves and XGBoost itself loads; and as the flavor's in-memory model, so modelport
 * predicts new data with the same evaluator that serves it.
 */
import type { XgbModel } from '../../models/xgboost/model.js';
import { compileForest, accumulateMargins, fillBase } from '../../models/xgboost/forest.js';
import type { FeatureMatrix } from '../types.js';
import { checkFeatures, type GbdtModel } from './booster.js';
import { transformMargins } from './objectives.js';

const ROOT_PARENT = 2147483647;

function objectiveJson(model: GbdtModel): Record<string, unknown> {
  const p = model.params;
  switch (p.objective) {
    case 'multi:softprob':
      return { name: p.objective, softmax_multiclass_param: { num_class: String(model.numGroups) } };
    case 'count:poisson':
      return { name: p.objective, poisson_regression_param: { max_delta_step: String(p.max_delta_step) } };
    default:
      return { name: p.objective, reg_loss_param: { scale_pos_weight: String(p.scale_pos_weight) } };
  }
}

/** Arrays XGBoost reads as JSON numbers, which its parser tells apart from integers by the decimal point. */
const FLOAT_ARRAYS = new Set(['base_weights', 'loss_changes', 'split_conditions', 'sum_hessian']);

function floatText(v: number): string {
  // XGBoost's own token for a categorical split's condition (JSON has no NaN).
  if (Number.isNaN(v)) return 'NaN';
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function write(value: unknown, floats: boolean): string {
  if (Array.isArray(value)) return `[${value.map((v) => (floats && typeof v === 'number' ? floatText(v) : write(v, false))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${write(v, FLOAT_ARRAYS.has(k))}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** XGBoost's feature types: "c" marks a categorical feature. */
function featureTypes(model: GbdtModel): string[] {
  return model.featureNames.map((_, f) => (model.categorical?.[f] ? 'c' : 'float'));
}

/** The text of the model's XGBoost JSON file. */
export function xgboostJsonText(model: GbdtModel): string {
  return write(toXgboostJson(model), false);
}

/** The model as XGBoost JSON (a plain object; xgboostJsonText writes it as XGBoost reads it). */
export function toXgboostJson(model: GbdtModel): Record<string, unknown> {
  const numFeature = String(model.numFeature);
  const trees = model.trees.map((t, id) => {
    const n = t.left.length;
    const nodes = [...t.categories.keys()].sort((a, b) => a - b);
    const sizes = nodes.map((nid) => t.categories.get(nid)!.length);
    const segments = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    return {
      base_weights: t.baseWeight,
      categories: nodes.flatMap((nid) => t.categories.get(nid)!),
      categories_nodes: nodes,
      categories_segments: segments,
      categories_sizes: sizes,
      default_left: t.defaultLeft.map((d) => (d ? 1 : 0)),
      id,
      left_children: t.left,
      loss_changes: t.lossChange.map((v) => Math.fround(v)),
      parents: t.parent.map((v) => (v === ROOT_PARENT ? ROOT_PARENT : v)),
      right_children: t.right,
      split_conditions: t.splitCondition,
      split_indices: t.splitIndex,
      split_type: t.splitType,
      sum_hessian: t.sumHessian.map((v) => Math.fround(v)),
      tree_param: { num_deleted: '0', num_feature: numFeature, num_nodes: String(n), size_leaf_vector: '0' },
    };
  });
  const attributes: Record<string, string> = {};
  if (model.bestIteration !== undefined) {
    attributes.best_iteration = String(model.bestIteration);
    attributes.best_ntree_limit = String(model.bestIteration + 1);
    attributes.best_score = String(model.bestScore);
  }
  return {
    learner: {
      attributes,
      feature_names: model.featureNames,
      feature_types: featureTypes(model),
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(trees.length), size_leaf_vector: '0' },
          tree_info: model.treeGroup,
          trees,
        },
        name: 'gbtree',
      },
      learner_model_param: {
        base_score: String(model.params.base_score),
        boost_from_average: '1',
        num_class: String(model.params.objective === 'multi:softprob' ? model.numGroups : 0),
        num_feature: numFeature,
        num_target: '1',
      },
      objective: objectiveJson(model),
    },
    version: [1, 7, 4],
  };
}

/** The flavor's in-memory form of the model (what parseXgboost would make of the JSON). */
export function toXgbModel(model: GbdtModel): XgbModel {
  const k = model.numGroups;
  const rounds = model.trees.length / k;
  const multi = model.params.objective === 'multi:softprob';
  const base = multi ? model.params.base_score : model.params.objective === 'binary:logistic' ? -Math.log(1 / model.params.base_score - 1) : model.params.objective === 'count:poisson' ? Math.log(model.params.base_score) : model.params.base_score;
  return {
    version: [1, 7, 4],
    objective: model.params.objective,
    booster: 'gbtree',
    numFeature: model.numFeature,
    numGroups: k,
    baseMargin: new Array(k).fill(base),
    baseScore: String(model.params.base_score),
    trees: model.trees.map((t) => ({ left: t.left, right: t.right, splitIndex: t.splitIndex, splitCondition: t.splitCondition, defaultLeft: t.defaultLeft, splitType: t.splitType, categories: t.categories })),
    treeGroup: model.treeGroup,
    treeWeight: new Array(model.trees.length).fill(1),
    roundStart: Array.from({ length: rounds + 1 }, (_, r) => r * k),
    featureNames: model.featureNames,
    featureTypes: featureTypes(model),
    bestIteration: model.bestIteration,
  };
}

/**
 * Margins (k per row, row-major, float32 as XGBoost computes them) of the first `rounds` rounds
 * (default: up to the best iteration, else all), with the flavor's evaluator.
 */
export function predictMargins(model: GbdtModel, x: FeatureMatrix, rounds?: number): Float32Array {
  checkFeatures(model, x);
  const k = model.numGroups;
  const useRounds = rounds ?? (model.bestIteration !== undefined ? model.bestIteration + 1 : model.trees.length / k);
  const forest = compileForest(toXgbModel(model), 0, useRounds * k);
  const margins = new Float32Array(x.rows * k);
  fillBase(forest, margins);
  accumulateMargins(forest, x.x, x.numFeature, 0, x.rows, margins);
  return margins;
}

/** Predictions (probabilities for classifiers, means for count:poisson), k per row. */
export function predictGbdt(model: GbdtModel, x: FeatureMatrix, rounds?: number): Float64Array {
  return transformMargins(model.params.objective, predictMargins(model, x, rounds), model.numGroups);
}
