/** Linear-model parameters under scikit-learn's names and defaults (LogisticRegression, ElasticNet-style penalties). */
import { invalidArgument } from '../../core/errors.js';

export const LINEAR_OBJECTIVES = ['binary:logistic', 'multi:softprob', 'reg:squarederror'] as const;
export type LinearObjective = (typeof LINEAR_OBJECTIVES)[number];
export const PENALTIES = ['l2', 'l1', 'elasticnet', 'none'] as const;

export interface LinearParams {
  objective: LinearObjective;
  /** Inverse regularisation strength, as scikit-learn's C: the loss is summed over rows and weighed by C. */
  C: number;
  penalty: (typeof PENALTIES)[number];
  /** Share of the penalty that is L1 under penalty=elasticnet. */
  l1_ratio: number;
  max_iter: number;
  tol: number;
  fit_intercept: boolean;
  /** Scale every feature to mean 0 and variance 1 on the training rows first (default true). */
  standardize: boolean;
}

export const LINEAR_PARAM_NAMES = ['objective', 'C', 'penalty', 'l1_ratio', 'max_iter', 'tol', 'fit_intercept', 'standardize'] as const;

function num(key: string, raw: unknown, min: number, max: number, open = false, integer = false): number {
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(v)) throw invalidArgument(`parameter "${key}": "${String(raw)}" is not a number`);
  if (integer && !Number.isInteger(v)) throw invalidArgument(`parameter "${key}": ${v} is not a whole number`);
  if (v < min || v > max || (open && v === min)) throw invalidArgument(`parameter "${key}": ${v} is out of range (${open ? '>' : '≥'} ${min}${max === Infinity ? '' : ` and ≤ ${max}`})`);
  return v;
}

function bool(key: string, raw: unknown): boolean {
  if (raw === true || raw === 'true' || raw === '1' || raw === 1) return true;
  if (raw === false || raw === 'false' || raw === '0' || raw === 0) return false;
  throw invalidArgument(`parameter "${key}": "${String(raw)}" is not true or false`);
}

export function linearParams(input: Record<string, unknown>): LinearParams {
  for (const key of Object.keys(input)) {
    if (input[key] !== undefined && !(LINEAR_PARAM_NAMES as readonly string[]).includes(key)) {
      throw invalidArgument(`parameter "${key}" is not a linear-model parameter (known: ${LINEAR_PARAM_NAMES.join(', ')})`);
    }
  }
  const objective = String(input.objective ?? 'binary:logistic');
  if (!(LINEAR_OBJECTIVES as readonly string[]).includes(objective)) throw invalidArgument(`parameter "objective": "${objective}" is not one of ${LINEAR_OBJECTIVES.join(', ')} for a linear model`);
  const penalty = String(input.penalty ?? 'l2');
  if (!(PENALTIES as readonly string[]).includes(penalty)) throw invalidArgument(`parameter "penalty": "${penalty}" is not one of ${PENALTIES.join(', ')}`);
  return {
    objective: objective as LinearObjective,
    C: input.C === undefined ? 1 : num('C', input.C, 0, Infinity, true),
    penalty: penalty as LinearParams['penalty'],
    l1_ratio: input.l1_ratio === undefined ? 0.5 : num('l1_ratio', input.l1_ratio, 0, 1),
    max_iter: input.max_iter === undefined ? 1000 : num('max_iter', input.max_iter, 1, 1_000_000, false, true),
    tol: input.tol === undefined ? 1e-8 : num('tol', input.tol, 0, 1, true),
    fit_intercept: input.fit_intercept === undefined ? true : bool('fit_intercept', input.fit_intercept),
    standardize: input.standardize === undefined ? true : bool('standardize', input.standardize),
  };
}
