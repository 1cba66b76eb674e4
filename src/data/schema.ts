/**
 * Dataset schemas: inferred from a version's profile the way TFDV's infer_schema does, then
 * edited by people; an edited schema is checked here before it is stored.
 */
import { Value } from '@sinclair/typebox/value';
import { invalidArgument } from '../core/errors.js';
import { DatasetSchemaSchema, type ColumnSchema, type DatasetSchema, type Profile } from './types.js';

/** TFDV's max_string_domain_size: a string column with more distinct values gets no domain. */
export const MAX_DOMAIN_SIZE = 100;
/** Drift thresholds written into inferred schemas (TFDV has none; its docs' examples use 0.01). */
export const DEFAULT_INFINITY_NORM = 0.1;
export const DEFAULT_JENSEN_SHANNON = 0.1;

/**
 * A schema that every version like this one should satisfy:
 * - every column required, of the profiled type;
 * - `minPresence` 1 for a column that was never missing (TFDV presence.min_fraction);
 * - numeric ranges only where the sign or unit interval is evident (min 0 when no value was
 *   negative; max 1 for a float that stayed within [0, 1]), never the observed extremes, which
 *   the next version would break for no reason;
 * - a domain for string columns with at most 100 distinct values, fewer than their rows;
 * - `unique` for string and int columns whose values were all distinct (identifiers);
 * - drift thresholds (L-infinity for categories, Jensen–Shannon for numbers) except on
 *   identifiers and timestamps.
 */
export function inferSchema(profile: Profile): DatasetSchema {
  const columns = profile.columns.map((p): ColumnSchema => {
    const col: ColumnSchema = { name: p.name, type: p.type, required: true };
    if (p.count > 0 && p.missing === 0) col.minPresence = 1;
    const unique = (p.type === 'string' || p.type === 'int') && p.count > 1 && p.distinct === p.count && p.missing === 0;
    if (unique) col.unique = true;
    if ((p.type === 'int' || p.type === 'float') && typeof p.min === 'number' && typeof p.max === 'number') {
      if (p.min >= 0) col.min = 0;
      if (p.type === 'float' && p.min >= 0 && p.max <= 1) col.max = 1;
    }
    if (p.type === 'string' && p.categories && p.distinct <= MAX_DOMAIN_SIZE && p.distinct < p.count) {
      col.domain = p.categories.map((c) => c.value).sort();
    }
    if (!unique && (p.type === 'string' || p.type === 'bool')) col.drift = { infinityNorm: DEFAULT_INFINITY_NORM };
    if (!unique && (p.type === 'int' || p.type === 'float')) col.drift = { jensenShannon: DEFAULT_JENSEN_SHANNON };
    return col;
  });
  return { columns };
}

/** Checks a schema a person wrote; every problem is an InvalidArgument naming the column. */
export function checkSchema(input: unknown): DatasetSchema {
  if (!Value.Check(DatasetSchemaSchema, input)) {
    const first = Value.Errors(DatasetSchemaSchema, input).First();
    const where = first?.path ? `schema${first.path.replace(/\//g, '.')}` : 'schema';
    throw invalidArgument(`${where}: ${first?.message ?? 'is not a dataset schema'}`);
  }
  const schema = input as DatasetSchema;
  const seen = new Set<string>();
  for (const c of schema.columns) {
    const where = `schema: column "${c.name}"`;
    if (seen.has(c.name)) throw invalidArgument(`${where} appears twice`);
    seen.add(c.name);
    const numeric = c.type === 'int' || c.type === 'float';
    if ((c.min !== undefined || c.max !== undefined) && !numeric) throw invalidArgument(`${where}: min/max apply to int and float columns, not ${c.type}`);
    if (c.min !== undefined && c.max !== undefined && c.min > c.max) throw invalidArgument(`${where}: min ${c.min} is above max ${c.max}`);
    if (c.domain !== undefined && c.type !== 'string') throw invalidArgument(`${where}: a domain applies to string columns, not ${c.type}`);
    if (c.pattern !== undefined) {
      if (c.type !== 'string') throw invalidArgument(`${where}: a pattern applies to string columns, not ${c.type}`);
      try {
        new RegExp(c.pattern);
      } catch (err) {
        throw invalidArgument(`${where}: pattern is not a regular expression (${(err as Error).message})`);
      }
    }
  }
  return schema;
}
