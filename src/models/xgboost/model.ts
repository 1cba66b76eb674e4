/**
 * Reads an XGBoost model as `Booster.save_model` writes it (JSON or UBJSON; XGBoost 1.0 to 3.x)
 * into plain trees, objective and base margins. Evaluation lives in forest.ts.
 */
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import { decodeUbjson, type UbjValue } from './ubjson.js';

export interface XgbTree {
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  splitIndex: ArrayLike<number>;
  /** Split threshold of a numeric split; the leaf value of a leaf. */
  splitCondition: ArrayLike<number>;
  defaultLeft: ArrayLike<number | boolean>;
  /** 0 numeric, 1 categorical (absent in models without categorical splits). */
  splitType?: ArrayLike<number>;
  /** Categories that go right, per categorical node id. */
  categories: Map<number, number[]>;
  /** Sum of training hessians per node (`sum_hessian`): the weights TreeSHAP follows. */
  cover?: ArrayLike<number>;
}

export interface XgbModel {
  version: number[];
  objective: string;
  booster: 'gbtree' | 'dart';
  numFeature: number;
  /** Width of the margin: classes for multi:*, targets for multi-target models, else 1. */
  numGroups: number;
  /** Base margin per group, already in margin space. */
  baseMargin: number[];
  /** The stored base_score, as text. */
  baseScore: string;
  trees: XgbTree[];
  /** Output group of each tree. */
  treeGroup: number[];
  /** Dart weight per tree (1 for gbtree). */
  treeWeight: number[];
  /** Index of the first tree of each boosting round, plus the end. */
  roundStart: number[];
  featureNames?: string[];
  featureTypes?: string[];
  bestIteration?: number;
}

type Obj = { [key: string]: UbjValue };

function obj(v: UbjValue | undefined, where: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw invalidArgument(`XGBoost model: ${where} is missing or not an object`);
  }
  return v as Obj;
}

function nums(v: UbjValue | undefined, where: string): ArrayLike<number> {
  if (ArrayBuffer.isView(v)) return v as ArrayLike<number>;
  if (Array.isArray(v)) return v.map(Number);
  throw invalidArgument(`XGBoost model: ${where} is not an array`);
}

function optionalNums(v: UbjValue | undefined, where: string): ArrayLike<number> | undefined {
  return v === undefined ? undefined : nums(v, where);
}

function num(v: UbjValue | undefined, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

function strings(v: UbjValue | undefined): string[] | undefined {
  return Array.isArray(v) && v.length > 0 ? v.map(String) : undefined;
}

/** XGBoost ≥2 writes base_score as "[5E-1]" (3.x multi-class: one value per class). */
function parseBaseScore(text: string): number[] {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const values = inner.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw invalidArgument(`XGBoost model: base_score "${text}" is not a number`);
  }
  return values;
}

const SIGMOID = new Set(['binary:logistic', 'reg:logistic']);
const EXPONENTIAL = new Set(['count:poisson', 'reg:gamma', 'reg:tweedie', 'survival:cox', 'survival:aft']);

/** base_score is stored in prediction space; the margin starts from its inverse link. */
function toMargin(objective: string, score: number): number {
  if (SIGMOID.has(objective)) return -Math.log(1 / score - 1);
  if (EXPONENTIAL.has(objective)) return Math.log(score);
  return score;
}

function parseTree(t: Obj, index: number): XgbTree {
  const where = `tree ${index}`;
  const sizeLeafVector = num(obj(t.tree_param, `${where} tree_param`).size_leaf_vector, 0);
  if (sizeLeafVector > 1) {
    throw failedPrecondition(`XGBoost model: ${where} has vector leaves (multi_strategy="multi_output_tree"), which modelport does not support yet`);
  }
  const categories = new Map<number, number[]>();
  const catNodes = optionalNums(t.categories_nodes, `${where} categories_nodes`);
  if (catNodes && catNodes.length > 0) {
    const cats = nums(t.categories, `${where} categories`);
    const segments = nums(t.categories_segments, `${where} categories_segments`);
    const sizes = nums(t.categories_sizes, `${where} categories_sizes`);
    for (let i = 0; i < catNodes.length; i++) {
      categories.set(catNodes[i], Array.from({ length: sizes[i] }, (_, k) => cats[segments[i] + k]));
    }
  }
  const tree: XgbTree = {
    left: nums(t.left_children, `${where} left_children`),
    right: nums(t.right_children, `${where} right_children`),
    splitIndex: nums(t.split_indices, `${where} split_indices`),
    splitCondition: nums(t.split_conditions, `${where} split_conditions`),
    defaultLeft: nums(t.default_left, `${where} default_left`),
    splitType: optionalNums(t.split_type, `${where} split_type`),
    categories,
    cover: optionalNums(t.sum_hessian, `${where} sum_hessian`),
  };
  const n = tree.left.length;
  for (const [name, arr] of [['right_children', tree.right], ['split_indices', tree.splitIndex], ['split_conditions', tree.splitCondition], ['default_left', tree.defaultLeft]] as const) {
    if (arr.length !== n) throw invalidArgument(`XGBoost model: ${where} has ${arr.length} ${name} for ${n} nodes`);
  }
  return tree;
}

/**
 * XGBoost writes NaN and ±Infinity as bare tokens (e.g. split_conditions of categorical nodes),
 * which JSON.parse rejects; outside strings they become the strings "NaN"/"Infinity", which
 * Number() reads back.
 */
function parseJsonWithNaN(text: string): UbjValue {
  try {
    return JSON.parse(text) as UbjValue;
  } catch {
    const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : `"${m}"`));
    return JSON.parse(fixed) as UbjValue;
  }
}

/** Parses the bytes of a .json or .ubj model file (the format is sniffed, not taken from the name). */
export function parseXgboost(bytes: Uint8Array): XgbModel {
  let doc: UbjValue;
  let first = 0;
  while (first < bytes.length && (bytes[first] === 0x20 || bytes[first] === 0x0a || bytes[first] === 0x0d || bytes[first] === 0x09)) first++;
  if (bytes[first] !== 0x7b) {
    throw invalidArgument('XGBoost model: not JSON or UBJSON (XGBoost\'s legacy binary format is not supported: re-save it with save_model("model.json"))');
  }
  let second = first + 1;
  while (second < bytes.length && (bytes[second] === 0x20 || bytes[second] === 0x0a || bytes[second] === 0x0d || bytes[second] === 0x09)) second++;
  const isJson = bytes[second] === 0x22 || bytes[second] === 0x7d;
  try {
    doc = isJson ? parseJsonWithNaN(new TextDecoder().decode(bytes)) : decodeUbjson(bytes);
  } catch (err) {
    throw invalidArgument(`XGBoost model: cannot parse ${isJson ? 'JSON' : 'UBJSON'}: ${(err as Error).message}`);
  }
  return fromDocument(obj(doc, 'document'));
}

function fromDocument(doc: Obj): XgbModel {
  const learner = obj(doc.learner, 'learner');
  const version = Array.isArray(doc.version) || ArrayBuffer.isView(doc.version) ? Array.from(nums(doc.version, 'version')) : [];
  const param = obj(learner.learner_model_param, 'learner.learner_model_param');
  const objective = String(obj(learner.objective, 'learner.objective').name);
  let booster = obj(learner.gradient_booster, 'learner.gradient_booster');
  const boosterName = String(booster.name);
  let weights: ArrayLike<number> | undefined;
  if (boosterName === 'dart') {
    weights = nums(booster.weight_drop, 'dart weight_drop');
    booster = obj(booster.gbtree, 'dart gbtree');
  } else if (boosterName !== 'gbtree') {
    throw failedPrecondition(`XGBoost model: booster "${boosterName}" is not supported (gbtree and dart are)`);
  }
  const model = obj(booster.model, 'gradient_booster.model');
  const trees = (model.trees as UbjValue[] | undefined)?.map((t, i) => parseTree(obj(t, `tree ${i}`), i));
  if (!trees) throw invalidArgument('XGBoost model: gradient_booster.model.trees is missing');
  const treeGroup = Array.from(nums(model.tree_info ?? new Array(trees.length).fill(0), 'tree_info'));
  const numClass = num(param.num_class, 0);
  const numTarget = num(param.num_target, 1);
  const numGroups = Math.max(1, numClass, numTarget);
  const numParallel = num(obj(model.gbtree_model_param ?? {}, 'gbtree_model_param').num_parallel_tree, 1);
  let roundStart: number[];
  if (model.iteration_indptr !== undefined) {
    roundStart = Array.from(nums(model.iteration_indptr, 'iteration_indptr'));
  } else {
    const perRound = numParallel * numGroups;
    roundStart = [];
    for (let t = 0; t <= trees.length; t += perRound) roundStart.push(t);
    if (roundStart[roundStart.length - 1] !== trees.length) roundStart.push(trees.length);
  }
  const baseScore = String(param.base_score ?? '0.5');
  const scores = parseBaseScore(baseScore);
  const multi = objective.startsWith('multi:');
  // Multi-class base scores are margins already (and softmax ignores a constant shift).
  const baseMargin = Array.from({ length: numGroups }, (_, g) => {
    const s = scores.length === numGroups ? scores[g] : scores[0];
    return multi ? s : toMargin(objective, s);
  });
  const attributes = learner.attributes ? obj(learner.attributes, 'attributes') : {};
  const best = attributes.best_iteration;
  return {
    version,
    objective,
    booster: boosterName as 'gbtree' | 'dart',
    numFeature: num(param.num_feature, 0),
    numGroups,
    baseMargin,
    baseScore,
    trees,
    treeGroup,
    treeWeight: weights ? Array.from(weights) : new Array(trees.length).fill(1),
    roundStart,
    featureNames: strings(learner.feature_names),
    featureTypes: strings(learner.feature_types),
    bestIteration: best === undefined ? undefined : Number(best),
  };
}

/** How predictions are derived from margins. */
export type Transform = 'identity' | 'sigmoid' | 'exp' | 'softmax' | 'argmax' | 'hinge';

export function transformOf(objective: string): Transform {
  if (objective === 'multi:softprob') return 'softmax';
  if (objective === 'multi:softmax') return 'argmax';
  if (objective === 'binary:logistic' || objective === 'reg:logistic') return 'sigmoid';
  if (EXPONENTIAL.has(objective)) return 'exp';
  if (objective === 'binary:hinge') return 'hinge';
  if (
    objective.startsWith('rank:') ||
    objective.startsWith('reg:') ||
    objective === 'binary:logitraw'
  ) {
    return 'identity';
  }
  throw failedPrecondition(`XGBoost model: objective "${objective}" is not supported`);
}
