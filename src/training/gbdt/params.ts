/**
 * GBDT parameters under XGBoost's names and with XGBoost 1.7's defaults, so an XGBoost user's
 * settings carry over. Every value is checked before training starts; an unknown name or an
 * out-of-range value is an error naming it.
 */
import { invalidArgument } from '../../core/errors.js';

export const OBJECTIVES = ['binary:logistic', 'multi:softprob', 'reg:squarederror', 'count:poisson'] as const;
export type Objective = (typeof OBJECTIVES)[number];
export const EVAL_METRICS = ['logloss', 'auc', 'aucpr', 'error', 'mlogloss', 'merror', 'rmse', 'mae', 'poisson-nloglik'] as const;
export type EvalMetric = (typeof EVAL_METRICS)[number];

export interface GbdtParams {
  objective: Objective;
  n_estimators: number;
  eta: number;
  max_depth: number;
  max_leaves: number;
  max_bin: number;
  grow_policy: 'depthwise' | 'lossguide';
  lambda: number;
  alpha: number;
  gamma: number;
  min_child_weight: number;
  max_delta_step: number;
  subsample: number;
  colsample_bytree: number;
  scale_pos_weight: number;
  base_score: number;
  num_class: number;
  seed: number;
  early_stopping_rounds: number;
  eval_metric: EvalMetric[];
  /** A categorical feature with fewer categories than this splits one category against the rest. */
  max_cat_to_onehot: number;
  /** The most categories a partition split sends right. */
  max_cat_threshold: number;
}

/** XGBoost's aliases, resolved to the canonical name. */
const ALIASES: Record<string, keyof GbdtParams> = {
  learning_rate: 'eta',
  reg_lambda: 'lambda',
  reg_alpha: 'alpha',
  min_split_loss: 'gamma',
  num_boost_round: 'n_estimators',
  random_state: 'seed',
};

type Rule = { min: number; max: number; minOpen?: boolean; integer?: boolean };
const NUMERIC: Partial<Record<keyof GbdtParams, Rule>> = {
  n_estimators: { min: 1, max: 100_000, integer: true },
  eta: { min: 0, max: 1, minOpen: true },
  max_depth: { min: 0, max: 64, integer: true },
  max_leaves: { min: 0, max: 1 << 20, integer: true },
  max_bin: { min: 2, max: 256, integer: true },
  lambda: { min: 0, max: Infinity },
  alpha: { min: 0, max: Infinity },
  gamma: { min: 0, max: Infinity },
  min_child_weight: { min: 0, max: Infinity },
  max_delta_step: { min: 0, max: Infinity },
  subsample: { min: 0, max: 1, minOpen: true },
  colsample_bytree: { min: 0, max: 1, minOpen: true },
  scale_pos_weight: { min: 0, max: Infinity, minOpen: true },
  base_score: { min: -Infinity, max: Infinity },
  num_class: { min: 0, max: 10_000, integer: true },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true },
  early_stopping_rounds: { min: 0, max: 100_000, integer: true },
  max_cat_to_onehot: { min: 1, max: 1 << 24, integer: true },
  max_cat_threshold: { min: 1, max: 1 << 24, integer: true },
};

export function defaultMetric(objective: Objective): EvalMetric {
  return objective === 'binary:logistic' ? 'logloss' : objective === 'multi:softprob' ? 'mlogloss' : objective === 'count:poisson' ? 'poisson-nloglik' : 'rmse';
}

export const GBDT_PARAM_NAMES: readonly string[] = [
  'objective', 'n_estimators', 'eta', 'max_depth', 'max_leaves', 'max_bin', 'grow_policy', 'lambda', 'alpha', 'gamma', 'min_child_weight',
  'max_delta_step', 'subsample', 'colsample_bytree', 'scale_pos_weight', 'base_score', 'num_class', 'seed', 'early_stopping_rounds', 'eval_metric',
  'max_cat_to_onehot', 'max_cat_threshold', ...Object.keys(ALIASES),
];

/** Parameters as the CLI or a search space give them (text or numbers), checked and completed with defaults. */
export function gbdtParams(input: Record<string, unknown>): GbdtParams {
  const given: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const key = ALIASES[rawKey] ?? rawKey;
    if (!GBDT_PARAM_NAMES.includes(key)) {
      throw invalidArgument(`parameter "${rawKey}" is not a GBDT parameter (known: ${GBDT_PARAM_NAMES.join(', ')})`);
    }
    if (key in given) throw invalidArgument(`parameter "${key}" is given twice (as "${rawKey}" and under another name)`);
    given[key] = value;
  }
  const objective = String(given.objective ?? 'binary:logistic');
  if (!(OBJECTIVES as readonly string[]).includes(objective)) {
    throw invalidArgument(`parameter "objective": "${objective}" is not one of ${OBJECTIVES.join(', ')}`);
  }
  const params: GbdtParams = {
    objective: objective as Objective,
    n_estimators: 100,
    eta: 0.3,
    max_depth: 6,
    max_leaves: 0,
    max_bin: 256,
    grow_policy: 'depthwise',
    lambda: 1,
    alpha: 0,
    gamma: 0,
    min_child_weight: 1,
    max_delta_step: objective === 'count:poisson' ? 0.7 : 0,
    subsample: 1,
    colsample_bytree: 1,
    scale_pos_weight: 1,
    base_score: 0.5,
    num_class: 0,
    seed: 0,
    early_stopping_rounds: 0,
    eval_metric: [defaultMetric(objective as Objective)],
    max_cat_to_onehot: 4,
    max_cat_threshold: 64,
  };
  for (const [key, rule] of Object.entries(NUMERIC) as [keyof GbdtParams, Rule][]) {
    if (!(key in given)) continue;
    const raw = given[key];
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) throw invalidArgument(`parameter "${key}": "${String(raw)}" is not a number`);
    if (rule.integer && !Number.isInteger(value)) throw invalidArgument(`parameter "${key}": ${value} is not a whole number`);
    if (value < rule.min || value > rule.max || (rule.minOpen && value === rule.min)) {
      throw invalidArgument(`parameter "${key}": ${value} is out of range (${rule.minOpen ? '>' : '≥'} ${rule.min}${rule.max === Infinity ? '' : ` and ≤ ${rule.max}`})`);
    }
    (params as unknown as Record<string, number>)[key] = value;
  }
  if (given.grow_policy !== undefined) {
    if (given.grow_policy !== 'depthwise' && given.grow_policy !== 'lossguide') {
      throw invalidArgument(`parameter "grow_policy": "${String(given.grow_policy)}" is not one of depthwise, lossguide`);
    }
    params.grow_policy = given.grow_policy;
  }
  if (given.eval_metric !== undefined) {
    const list = Array.isArray(given.eval_metric) ? given.eval_metric.map(String) : String(given.eval_metric).split(',').map((s) => s.trim());
    for (const m of list) {
      if (!(EVAL_METRICS as readonly string[]).includes(m)) throw invalidArgument(`parameter "eval_metric": "${m}" is not one of ${EVAL_METRICS.join(', ')}`);
    }
    params.eval_metric = list as EvalMetric[];
  }
  if (params.objective === 'binary:logistic' || params.objective === 'count:poisson') {
    if (!(params.base_score > 0 && (params.objective === 'count:poisson' || params.base_score < 1))) {
      throw invalidArgument(`parameter "base_score": ${params.base_score} is outside the range of ${params.objective} (${params.objective === 'count:poisson' ? '> 0' : 'between 0 and 1'})`);
    }
  }
  if (params.grow_policy === 'depthwise' && params.max_depth === 0) {
    throw invalidArgument('parameter "max_depth": 0 (no limit) needs grow_policy=lossguide');
  }
  if (params.grow_policy === 'lossguide' && params.max_depth === 0 && params.max_leaves === 0) {
    throw invalidArgument('parameters "max_depth" and "max_leaves": at least one must limit a lossguide tree');
  }
  return params;
}
