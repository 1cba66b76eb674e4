/**
 * Search spaces: each parameter a float (uniform or log-uniform), an integer (optionally on a
 * log scale or a step) or a categorical choice, optionally active only when other parameters
 * take given values (`when`). A space is checked whole before any trial starts.
 */
import { invalidArgument } from '../../core/errors.js';

export type Distribution =
  | { type: 'float'; low: number; high: number; log?: boolean }
  | { type: 'int'; low: number; high: number; log?: boolean; step?: number }
  | { type: 'categorical'; choices: (string | number | boolean)[] };

export type ParamSpec = Distribution & {
  /** Active only when each named parameter has one of the listed values. */
  when?: Record<string, (string | number | boolean)[] | string | number | boolean>;
};

export type SearchSpace = Record<string, ParamSpec>;
export type ParamValue = string | number | boolean;

const TYPES = ['float', 'int', 'categorical', 'uniform', 'loguniform'];

/** Checks a space as read from JSON or YAML; `uniform`/`loguniform` are accepted as float types. */
export function parseSpace(raw: unknown, source = 'search space'): SearchSpace {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument(`${source}: expected an object of parameter name → distribution`);
  const space: SearchSpace = {};
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw invalidArgument(`${source}: no parameters to search`);
  for (const [name, value] of entries) {
    const where = `${source}: parameter "${name}"`;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      const type = String(v.type ?? (Array.isArray(v.choices) ? 'categorical' : ''));
      if (!TYPES.includes(type)) throw invalidArgument(`${where}: type "${type}" is not one of float, int, categorical (or uniform, loguniform)`);
      const when = v.when as ParamSpec['when'];
      if (when !== undefined && (typeof when !== 'object' || when === null || Array.isArray(when))) throw invalidArgument(`${where}: "when" must map parameter names to values`);
      if (type === 'categorical') {
        if (!Array.isArray(v.choices) || v.choices.length === 0) throw invalidArgument(`${where}: "choices" must be a non-empty list`);
        if (!v.choices.every((c) => ['string', 'number', 'boolean'].includes(typeof c))) throw invalidArgument(`${where}: choices must be strings, numbers or booleans`);
        space[name] = { type: 'categorical', choices: v.choices as ParamValue[], when };
        continue;
      }
      const low = Number(v.low);
      const high = Number(v.high);
      const log = type === 'loguniform' || v.log === true;
      if (!Number.isFinite(low) || !Number.isFinite(high)) throw invalidArgument(`${where}: "low" and "high" must be numbers`);
      if (!(low <= high)) throw invalidArgument(`${where}: the range [${low}, ${high}] is empty (low > high)`);
      if (log && low <= 0) throw invalidArgument(`${where}: a log scale needs low > 0, got ${low}`);
      if (type === 'int') {
        if (!Number.isInteger(low) || !Number.isInteger(high)) throw invalidArgument(`${where}: an int range needs whole-number bounds, got [${low}, ${high}]`);
        const step = v.step === undefined ? 1 : Number(v.step);
        if (!(Number.isInteger(step) && step >= 1)) throw invalidArgument(`${where}: "step" must be a whole number ≥ 1`);
        if (log && step !== 1) throw invalidArgument(`${where}: "step" cannot be combined with a log scale`);
        space[name] = { type: 'int', low, high, log, step, when };
      } else {
        space[name] = { type: 'float', low, high, log, when };
      }
      continue;
    }
    throw invalidArgument(`${where}: expected {type, low, high} or {choices}`);
  }
  for (const [name, spec] of Object.entries(space)) {
    for (const parent of Object.keys(spec.when ?? {})) {
      if (!(parent in space)) throw invalidArgument(`${source}: parameter "${name}" depends on "${parent}", which is not in the space`);
    }
  }
  return space;
}

/** Whether a parameter is active given the values chosen so far. */
export function isActive(spec: ParamSpec, chosen: Record<string, ParamValue>): boolean {
  for (const [parent, allowed] of Object.entries(spec.when ?? {})) {
    const list = Array.isArray(allowed) ? allowed : [allowed];
    if (!(parent in chosen) || !list.some((a) => String(a) === String(chosen[parent]))) return false;
  }
  return true;
}

/** Parameters in an order where every parent comes before the parameters that depend on it. */
export function orderedNames(space: SearchSpace): string[] {
  const out: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (out.includes(name)) return;
    if (visiting.has(name)) throw invalidArgument(`search space: the conditions of "${name}" form a cycle`);
    visiting.add(name);
    for (const parent of Object.keys(space[name].when ?? {})) visit(parent);
    visiting.delete(name);
    out.push(name);
  };
  for (const name of Object.keys(space)) visit(name);
  return out;
}

/** A parameter's value read back from its text (as tracking stores it). */
export function parseValue(spec: Distribution, text: string): ParamValue {
  if (spec.type === 'categorical') return spec.choices.find((c) => String(c) === text) ?? text;
  return Number(text);
}

/** A value from [0, 1) mapped into the distribution (uniform in its own scale). */
export function fromUnit(spec: Distribution, u: number): ParamValue {
  if (spec.type === 'categorical') return spec.choices[Math.min(spec.choices.length - 1, Math.floor(u * spec.choices.length))];
  if (spec.type === 'float') return spec.log ? Math.exp(Math.log(spec.low) + u * (Math.log(spec.high) - Math.log(spec.low))) : spec.low + u * (spec.high - spec.low);
  if (spec.log) return Math.min(spec.high, Math.max(spec.low, Math.round(Math.exp(Math.log(spec.low - 0.5) + u * (Math.log(spec.high + 0.5) - Math.log(spec.low - 0.5))))));
  const step = spec.step ?? 1;
  const count = Math.floor((spec.high - spec.low) / step) + 1;
  return spec.low + Math.min(count - 1, Math.floor(u * count)) * step;
}
