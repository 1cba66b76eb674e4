/**
 * Column profiles computed by DuckDB with SQL aggregates over the file itself: three scans
 * (moments and quantiles; histograms; value counts) whatever the row count, and nothing but
 * the results crosses into JavaScript.
 */
import type { ColumnProfile, ColumnType, Profile, ValueCount } from './types.js';
import { sqlIdent, type DuckSession, type SourceColumn } from './source.js';

/** Quantile levels reported for numeric columns. */
export const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;
/** TFDV's defaults: 10 histogram buckets, 20 top values, a 1,000-value rank histogram. */
export const HISTOGRAM_BUCKETS = 10;
export const TOP_VALUES = 20;
export const MAX_CATEGORIES = 1000;
/**
 * Above this many rows quantiles come from DuckDB's t-digest (approx_quantile), as TFDV
 * estimates them on large data, instead of sorting every value; and distinct counts, which stay
 * exact (DuckDB's approx_count_distinct was 15-20% off on test columns), are taken one column
 * per query, so that only one column's hash table is alive at a time.
 */
export const EXACT_ROWS = 1_000_000;
/** Columns with more distinct values than this get no value counts: they would be all ones, at the cost of a hash table of every value. */
export const VALUE_COUNT_LIMIT = 100_000;

export interface ProfileOptions {
  exactRows?: number;
  valueCountLimit?: number;
}

/** A column to profile: `expr` is evaluated over the relation's rows and must yield `type`. */
export interface ProfileColumn {
  name: string;
  type: ColumnType;
  sourceType: string;
  expr: string;
}

export function rawColumns(columns: SourceColumn[]): ProfileColumn[] {
  return columns.map((c) => ({ ...c, expr: sqlIdent(c.name) }));
}

const isNumeric = (t: ColumnType) => t === 'int' || t === 'float';
const isCategorical = (t: ColumnType) => t === 'string' || t === 'bool';

/** A double as a DuckDB literal that parses back to the same double. */
export const sqlDouble = (x: number) => `CAST('${x}' AS DOUBLE)`;

/**
 * The projection every scan reads: `c{i}` the column's value with float NaN turned into NULL,
 * `n{i}` (floats only) whether it was NaN.
 */
function projection(from: string, columns: ProfileColumn[]): string {
  const parts = columns.flatMap((c, i) => {
    if (c.type === 'float') {
      const v = `CAST(${c.expr} AS DOUBLE)`;
      return [`CASE WHEN isnan(${v}) THEN NULL ELSE ${v} END AS c${i}`, `isnan(${v}) AS n${i}`];
    }
    if (c.type === 'int') return [`CAST(${c.expr} AS DOUBLE) AS c${i}`];
    return [`${c.expr} AS c${i}`];
  });
  return `(SELECT ${parts.length ? parts.join(', ') : '1 AS one'} FROM ${from}) AS p`;
}

export function equalWidthEdges(min: number, max: number, buckets = HISTOGRAM_BUCKETS): number[] {
  const edges = Array.from({ length: buckets + 1 }, (_, k) => min + ((max - min) * k) / buckets);
  edges[buckets] = max;
  return edges;
}

export async function profileRelation(session: DuckSession, from: string, columns: ProfileColumn[], options: ProfileOptions = {}): Promise<Profile> {
  await session.run(`SET TimeZone = 'UTC'`);
  const src = projection(from, columns);
  // Parquet answers count(*) from its footer; the count picks the quantile method before the scan.
  const [[total]] = await session.rows(`SELECT count(*) FROM ${from}`);
  const exact = Number(total) <= (options.exactRows ?? EXACT_ROWS);
  const quantile = exact ? 'quantile_cont' : 'approx_quantile';
  const aggs: string[] = ['count(*)'];
  const slots: number[] = [];
  columns.forEach((c, i) => {
    slots.push(aggs.length);
    const x = `c${i}`;
    aggs.push(`count(${x})`, exact ? `count(DISTINCT ${x})` : 'NULL');
    if (c.type === 'float') aggs.push(`count(*) FILTER (WHERE n${i})`);
    if (isNumeric(c.type)) {
      aggs.push(`min(${x})`, `max(${x})`, `avg(${x})`, `stddev_samp(${x})`, `${quantile}(${x}, [${QUANTILES.join(', ')}])`);
    } else if (c.type === 'timestamp' || c.type === 'string') {
      aggs.push(`CAST(min(${x}) AS VARCHAR)`, `CAST(max(${x}) AS VARCHAR)`);
    }
  });
  const [row] = await session.rows(`SELECT ${aggs.join(', ')} FROM ${src}`);
  const rowCount = Number(row[0]);
  const profiles: ColumnProfile[] = columns.map((c, i) => {
    let k = slots[i];
    const nonNull = Number(row[k++]);
    const distinct = Number(row[k++]);
    const nan = c.type === 'float' ? Number(row[k++]) : 0;
    const count = nonNull + nan;
    const missing = rowCount - count;
    const p: ColumnProfile = {
      name: c.name,
      type: c.type,
      sourceType: c.sourceType,
      count,
      missing,
      missingShare: rowCount > 0 ? missing / rowCount : 0,
      distinct,
      topValues: [],
    };
    if (c.type === 'float') p.nan = nan;
    if (isNumeric(c.type)) {
      const [min, max, mean, std, qs] = row.slice(k, k + 5);
      if (min !== null) {
        p.min = Number(min);
        p.max = Number(max);
        p.mean = Number(mean);
        if (std !== null) p.std = Number(std);
        p.quantiles = (qs as unknown[]).map((v, j) => ({ q: QUANTILES[j], value: Number(v) }));
      }
    } else if (c.type === 'timestamp' || c.type === 'string') {
      const [min, max] = row.slice(k, k + 2);
      if (min !== null) {
        p.min = String(min);
        p.max = String(max);
      }
    }
    return p;
  });
  if (!exact) {
    for (const [i, p] of profiles.entries()) {
      const [[d]] = await session.rows(`SELECT count(*) FROM (SELECT c${i} FROM ${src} WHERE c${i} IS NOT NULL GROUP BY c${i})`);
      p.distinct = Number(d);
    }
  }
  await addHistograms(session, src, columns, profiles);
  const limit = options.valueCountLimit ?? VALUE_COUNT_LIMIT;
  await addValueCounts(session, src, columns, profiles, (i) => profiles[i].distinct > 0 && profiles[i].distinct <= limit);
  return { rowCount, columnCount: columns.length, exact, columns: profiles };
}

async function addHistograms(session: DuckSession, src: string, columns: ProfileColumn[], profiles: ColumnProfile[]): Promise<void> {
  const wanted: { i: number; edges: number[] }[] = [];
  for (const [i, p] of profiles.entries()) {
    if (!isNumeric(columns[i].type) || p.min === undefined) continue;
    const min = p.min as number;
    const max = p.max as number;
    if (min === max) p.histogram = [{ low: min, high: max, count: p.count - (p.nan ?? 0) }];
    else if (Number.isFinite(min) && Number.isFinite(max)) wanted.push({ i, edges: equalWidthEdges(min, max) });
  }
  if (wanted.length === 0) return;
  // histogram(x, boundaries) counts each value into the first boundary >= it: buckets (e_k, e_k+1].
  const sql = wanted.map(({ i, edges }) => `histogram(c${i}, [${edges.slice(1).map(sqlDouble).join(', ')}])`);
  const [row] = await session.rows(`SELECT ${sql.join(', ')} FROM ${src}`);
  wanted.forEach(({ i, edges }, j) => {
    const counts = new Array<number>(edges.length - 1).fill(0);
    for (const entry of mapEntries(row[j])) {
      const key = Number(entry.key);
      let b = edges.indexOf(key, 1) - 1;
      if (b < 0) b = key <= edges[1] ? 0 : counts.length - 1;
      counts[b] += Number(entry.value);
    }
    profiles[i].histogram = counts.map((count, b) => ({ low: edges[b], high: edges[b + 1], count }));
  });
}

function mapEntries(value: unknown): { key: unknown; value: unknown }[] {
  if (Array.isArray(value)) return value as { key: unknown; value: unknown }[];
  const entries = (value as { entries?: { key: unknown; value: unknown }[] } | null)?.entries;
  return entries ?? [];
}

async function addValueCounts(
  session: DuckSession,
  src: string,
  columns: ProfileColumn[],
  profiles: ColumnProfile[],
  wanted: (i: number) => boolean,
): Promise<void> {
  const counted = columns.map((_, i) => i).filter(wanted);
  if (counted.length === 0) return;
  const idx = `CASE ${counted.map((i) => `WHEN grouping(c${i}) = 0 THEN ${i}`).join(' ')} END`;
  // Int columns are projected as DOUBLE for the moments; their values read back as whole numbers.
  const text = (i: number) => (columns[i].type === 'int' ? `CAST(CAST(c${i} AS HUGEINT) AS VARCHAR)` : `CAST(c${i} AS VARCHAR)`);
  const value = `COALESCE(${counted.map((i) => `CASE WHEN grouping(c${i}) = 0 THEN ${text(i)} END`).join(', ')})`;
  const limit = `CASE ${counted.map((i) => `WHEN idx = ${i} THEN ${isCategorical(columns[i].type) ? MAX_CATEGORIES : TOP_VALUES}`).join(' ')} END`;
  // One scan counts every wanted column's values (GROUPING SETS), then ranks them per column.
  const sql = `
    SELECT idx, value, n FROM (
      SELECT idx, value, n, row_number() OVER (PARTITION BY idx ORDER BY n DESC, value) AS rk
      FROM (
        SELECT ${idx} AS idx, ${value} AS value, count(*) AS n
        FROM ${src} GROUP BY GROUPING SETS (${counted.map((i) => `(c${i})`).join(', ')})
      ) WHERE value IS NOT NULL
    ) WHERE rk <= ${limit}
    ORDER BY idx, rk`;
  const counts = new Map<number, ValueCount[]>(counted.map((i) => [i, []]));
  for (const [i, v, n] of await session.rows(sql)) counts.get(Number(i))!.push({ value: String(v), count: Number(n) });
  for (const [i, values] of counts) {
    profiles[i].topValues = values.slice(0, TOP_VALUES);
    if (isCategorical(columns[i].type)) profiles[i].categories = values;
  }
}
