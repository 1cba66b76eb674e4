/**
 * On-demand transforms: the stored source text of `(row) => ({...})`, compiled once into a
 * function that runs the same way for a training set and for an online request.
 */
import vm from 'node:vm';
import { invalidArgument } from '../core/errors.js';
import type { FeatureRepo } from './repo.js';
import type { FeatureSpec, OnDemandViewSpec, Value } from './types.js';

export type Transform = (row: Record<string, Value>) => Record<string, Value>;

/**
 * Compiled in a context of its own so the function sees only JavaScript's built-ins, not the
 * server's modules or globals; definitions are applied by users with the manage permission.
 */
export function compileTransform(view: OnDemandViewSpec, field: string): Transform {
  let fn: unknown;
  try {
    fn = new vm.Script(`(${view.transform})`, { filename: `on_demand_feature_views/${view.name}` }).runInContext(vm.createContext({}), { timeout: 1000 });
  } catch (err) {
    throw invalidArgument(`${field}.transform: does not compile: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof fn !== 'function') throw invalidArgument(`${field}.transform: must be a function of one row, e.g. (row) => ({ ratio: row.a / row.b })`);
  const f = fn as (row: Record<string, Value>) => unknown;
  return (row) => {
    let out: unknown;
    try {
      out = f(row);
    } catch (err) {
      throw invalidArgument(`on-demand view ${view.name}: the transform failed: ${(err as Error).message}`);
    }
    if (!out || typeof out !== 'object') throw invalidArgument(`on-demand view ${view.name}: the transform must return an object of features`);
    return out as Record<string, Value>;
  };
}

/** A transform's output value, coerced to its declared dtype (null stays null; NaN becomes null). */
export function coerceValue(value: unknown, feature: FeatureSpec): Value {
  if (value === null || value === undefined) return null;
  switch (feature.dtype) {
    case 'string':
      return String(value);
    case 'bool':
      return Boolean(value);
    case 'int64':
    case 'int32': {
      const n = Number(value);
      return Number.isFinite(n) ? Math.trunc(n) : null;
    }
    default: {
      const n = Number(value);
      return Number.isNaN(n) ? null : n;
    }
  }
}

/** One argument field of a transform: a request value, or a source view's feature. */
export type TransformInput = { name: string; request: FeatureSpec } | { name: string; view: string; feature: string };

/**
 * The fields a transform's row holds, the same offline and online: its request values, then
 * each source view's features as `VIEW__FEATURE` and as `FEATURE` (the first view named wins
 * a shared name).
 */
export function transformInputs(repo: FeatureRepo, view: OnDemandViewSpec): TransformInput[] {
  const out: TransformInput[] = [];
  const seen = new Set<string>();
  const add = (input: TransformInput) => {
    if (!seen.has(input.name)) out.push(input);
    seen.add(input.name);
  };
  for (const r of view.request ?? []) add({ name: r.name, request: r });
  for (const s of view.sources) {
    for (const f of repo.views.get(s)!.spec.features) {
      add({ name: `${s}__${f.name}`, view: s, feature: f.name });
      add({ name: f.name, view: s, feature: f.name });
    }
  }
  return out;
}
