/**
 * Feature sources read by DuckDB where they lie: a CSV or Parquet file, or a registered
 * dataset version. Event and created times become epoch microseconds (BIGINT) so that joins
 * and windows compare plain integers whatever the file's timestamp type.
 */
import { invalidArgument, notFound } from '../core/errors.js';
import { describeSource, reading, readerSql, resolveSource, sqlIdent, sqlString, type DuckSession, type TableSource } from '../data/source.js';
import { describePostgres, loadPostgres } from './postgres.js';
import type { FeatureRepo } from './repo.js';
import type { Dtype, SourceSpec } from './types.js';

/** Turns a dataset reference into the local file holding that version. */
export type DatasetFiles = (ref: string) => Promise<string>;

export interface ReadableSource {
  spec: SourceSpec;
  /** Column name → DuckDB type. */
  columns: Map<string, string>;
  /** The table function (or temp table) that reads it. */
  from: string;
  /** Runs a query over it, turning read failures into messages about the source. */
  read<T>(fn: () => Promise<T>): Promise<T>;
}

/** `loaded`: a table of the session that already holds the source's rows (read instead of the source). */
export async function openSource(session: DuckSession, spec: SourceSpec, datasetFiles: DatasetFiles, loaded?: string): Promise<ReadableSource> {
  if (loaded !== undefined) {
    const columns = new Map((await session.rows(`DESCRIBE ${sqlIdent(loaded)}`)).map((r) => [String(r[0]), String(r[1])]));
    return { spec, columns, from: sqlIdent(loaded), read: (fn) => fn() };
  }
  if (spec.table !== undefined || spec.query !== undefined) {
    const into = `__pg_${spec.name}`;
    await loadPostgres(session, spec, into);
    const columns = new Map((await session.rows(`DESCRIBE ${sqlIdent(into)}`)).map((r) => [String(r[0]), String(r[1])]));
    return { spec, columns, from: sqlIdent(into), read: (fn) => fn() };
  }
  const path = spec.path ?? (await datasetFiles(spec.dataset!));
  let table: TableSource;
  try {
    table = resolveSource(path);
  } catch (err) {
    throw notFound(`source ${spec.name}: ${(err as Error).message}`);
  }
  const columns = new Map((await describeSource(session, table)).map((c) => [c.name, c.sourceType]));
  return { spec, columns, from: readerSql(table), read: (fn) => reading(session, table, fn) };
}

export const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
const TIME = /^(DATE|TIMESTAMP.*)$/;

export const DUCK_TYPES: Record<Dtype, string> = { float64: 'DOUBLE', float32: 'FLOAT', int64: 'BIGINT', int32: 'INTEGER', string: 'VARCHAR', bool: 'BOOLEAN' };

/**
 * ORDER BY terms settling rows with equal keys, event and created times: the greatest values
 * win, compared in the view's feature order with a null lowest. Materialize and historical
 * retrieval share it, so both stores take the same row.
 */
export function valueTieBreak(features: readonly { name: string; dtype: Dtype }[], qualifier = ''): string {
  return features.map((f) => `CAST(${qualifier}${sqlIdent(f.name)} AS ${DUCK_TYPES[f.dtype]}) DESC NULLS LAST`).join(', ');
}

function fits(dtype: Dtype, duckType: string): boolean {
  if (dtype === 'string') return true;
  if (dtype === 'bool') return duckType === 'BOOLEAN';
  return NUMERIC.test(duckType) || duckType === 'BOOLEAN';
}

/**
 * Plan-time check of every view's columns against its source: the timestamp fields, the join
 * keys and each feature must exist (named when they do not) with a type the dtype can hold.
 */
export async function checkSourceColumns(session: DuckSession, repo: FeatureRepo, datasetFiles: DatasetFiles): Promise<void> {
  const opened = new Map<string, ReadableSource>();
  for (const [i, s] of repo.spec.sources.entries()) {
    const src = await openSource(session, s, datasetFiles);
    opened.set(s.name, src);
    const where = `sources[${i}]`;
    const has = (col: string, field: string) => {
      if (!src.columns.has(col)) throw invalidArgument(`${where}.${field}: column "${col}" is not in ${describe(src)}; it has ${[...src.columns.keys()].join(', ')}`);
    };
    has(s.timestamp_field, 'timestamp_field');
    if (s.created_timestamp_field) has(s.created_timestamp_field, 'created_timestamp_field');
  }
  for (const [i, v] of repo.spec.feature_views.entries()) {
    const view = repo.views.get(v.name)!;
    const src = opened.get(v.source)!;
    const missing = (col: string, field: string) =>
      invalidArgument(`feature_views[${i}].${field}: column "${col}" is not in source ${v.source} (${describe(src)}); it has ${[...src.columns.keys()].join(', ')}`);
    for (const key of view.joinKeys) if (!src.columns.has(key)) throw missing(key, 'entities (join key)');
    v.features.forEach((f, j) => {
      const type = src.columns.get(f.name);
      if (type === undefined) throw missing(f.name, `features[${j}]`);
      if (!fits(f.dtype, type)) throw invalidArgument(`feature_views[${i}].features[${j}]: column "${f.name}" of ${describe(src)} holds ${type}, which is not a ${f.dtype}`);
    });
  }
}

function describe(src: ReadableSource): string {
  if (src.spec.table !== undefined || src.spec.query !== undefined) return describePostgres(src.spec);
  return src.spec.path ?? `dataset ${src.spec.dataset}`;
}

const ZONED = String.raw`\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|UTC|[+-]\d\d(:?\d\d)?)$`;
const EPOCH = String.raw`^\s*-?\d+(\.\d+)?\s*$`;

/** Epoch numbers: seconds, or milliseconds when too large to be seconds (after year 5138). */
const epochUs = (x: string) => `CAST(CASE WHEN abs(${x}) < 1e11 THEN ${x} * 1e6 ELSE ${x} * 1e3 END AS BIGINT)`;

/**
 * SQL giving the column as epoch microseconds. Text columns are checked first: every value must
 * parse, and zoned and zone-less values may not be mixed (zone-less alone are read as UTC).
 * `what` names the table and column in errors; rows are numbered from 1.
 */
export async function timestampExpr(session: DuckSession, from: string, column: string, duckType: string, what: string): Promise<string> {
  const id = sqlIdent(column);
  if (NUMERIC.test(duckType)) return epochUs(`CAST(${id} AS DOUBLE)`);
  if (TIME.test(duckType)) return `epoch_us(CAST(${id} AS TIMESTAMPTZ))`;
  if (duckType !== 'VARCHAR') throw invalidArgument(`${what}: holds ${duckType}, not timestamps`);
  const v = `trim(${id})`;
  const parsed = `CASE WHEN regexp_matches(${v}, ${sqlString(EPOCH)}) THEN ${epochUs(`CAST(${v} AS DOUBLE)`)} ELSE epoch_us(TRY_CAST(${v} AS TIMESTAMPTZ)) END`;
  const [row] = await session.rows(`
    SELECT count(*) FILTER (WHERE regexp_matches(${v}, ${sqlString(ZONED)})),
           count(*) FILTER (WHERE NOT regexp_matches(${v}, ${sqlString(ZONED)}) AND NOT regexp_matches(${v}, ${sqlString(EPOCH)})),
           min(rn) FILTER (WHERE ${parsed} IS NULL), arg_min(${id}, rn) FILTER (WHERE ${parsed} IS NULL)
    FROM (SELECT row_number() OVER () AS rn, ${id} FROM ${from}) WHERE ${id} IS NOT NULL`);
  const [zoned, naive, badRow, badValue] = row as [number, number, number | null, string | null];
  if (badRow !== null) throw invalidArgument(`${what}: row ${badRow}: "${badValue}" is not a timestamp (use ISO 8601 with a zone, e.g. 2025-01-01T00:00:00Z, or epoch seconds)`);
  if (zoned > 0 && naive > 0) throw invalidArgument(`${what}: mixes timestamps with and without a time zone (${zoned} with, ${naive} without); give every value a zone`);
  return parsed;
}
