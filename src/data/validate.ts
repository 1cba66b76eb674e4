/**
 * Validation of data against a dataset schema, with anomaly kinds like TFDV's. Every check is
 * one SQL aggregate in DuckDB over the data (a file, a folder, or columns loaded from memory);
 * only the counts, and a few example rows per anomaly, come back.
 */
import type { Anomaly, ColumnSchema, ColumnType, DatasetSchema, Profile, ValidationReport } from './types.js';
import { sqlIdent, sqlString, type DuckSession, type SourceColumn } from './source.js';
import { profileRelation, sqlDouble, type ProfileColumn } from './profile.js';
import { driftAnomalies } from './compare.js';

/** Rows a relation's SQL reads, with the columns it has. */
export interface Relation {
  session: DuckSession;
  from: string;
  columns: SourceColumn[];
}

/** Offending rows listed per anomaly. */
export const EXAMPLE_ROWS = 10;

/**
 * The value of raw column `r` as `type`, or NULL when it cannot be one: ints must be whole
 * numbers (DuckDB's own cast would round "720.5"), and text is parsed the way a CSV reader would.
 */
export function typedExpr(r: string, type: ColumnType): string {
  switch (type) {
    case 'int': {
      const d = `TRY_CAST(${r} AS DOUBLE)`;
      return `CASE WHEN isfinite(${d}) AND ${d} = trunc(${d}) THEN ${d} END`;
    }
    case 'float':
      return `TRY_CAST(${r} AS DOUBLE)`;
    case 'bool':
      return `TRY_CAST(${r} AS BOOLEAN)`;
    case 'timestamp':
      return `TRY_CAST(${r} AS TIMESTAMPTZ)`;
    case 'string':
      return `CAST(${r} AS VARCHAR)`;
  }
}

const pct = (x: number) => `${Number((x * 100).toFixed(2))}%`;
const article = (type: ColumnType) => (type === 'int' ? 'an' : 'a');
const list = (values: string[]) => values.map((v) => JSON.stringify(v)).join(', ');

interface Check {
  kind: Anomaly['kind'];
  column: ColumnSchema;
  /** SQL condition over r{i} (raw) and t{i} (typed) that marks an offending row. */
  cond: string;
  expected: string;
  describe(count: number, examples: { row: number; value: string | null }[]): { seen: string; message: string };
}

function checksFor(col: ColumnSchema, i: number, sourceType: string, rowCount: () => number): Check[] {
  const r = `r${i}`;
  const t = `t${i}`;
  const checks: Check[] = [];
  const name = `column "${col.name}"`;
  const shown = (ex: { value: string | null }[]) => list([...new Set(ex.map((e) => String(e.value)))]);
  checks.push({
    kind: 'type_mismatch',
    column: col,
    cond: `${r} IS NOT NULL AND ${t} IS NULL`,
    expected: col.type,
    describe: (n, ex) => ({
      seen: `${n} value${n === 1 ? '' : 's'} not ${col.type} (read as ${sourceType}), e.g. ${shown(ex)}`,
      message: `${name}: expected ${col.type}, but ${n} value${n === 1 ? ' is' : 's are'} not: ${ex.map((e) => `${JSON.stringify(e.value)} (row ${e.row})`).join(', ')}`,
    }),
  });
  if (col.min !== undefined) {
    checks.push({
      kind: 'out_of_range',
      column: col,
      cond: `${t} < ${sqlDouble(col.min)}`,
      expected: `>= ${col.min}`,
      describe: (n, ex) => ({
        seen: `${n} value${n === 1 ? '' : 's'} below ${col.min}, e.g. ${shown(ex)}`,
        message: `${name}: ${n} value${n === 1 ? '' : 's'} below the minimum ${col.min}: ${ex.map((e) => `${e.value} (row ${e.row})`).join(', ')}`,
      }),
    });
  }
  if (col.max !== undefined) {
    checks.push({
      kind: 'out_of_range',
      column: col,
      cond: `${t} > ${sqlDouble(col.max)}`,
      expected: `<= ${col.max}`,
      describe: (n, ex) => ({
        seen: `${n} value${n === 1 ? '' : 's'} above ${col.max}, e.g. ${shown(ex)}`,
        message: `${name}: ${n} value${n === 1 ? '' : 's'} above the maximum ${col.max}: ${ex.map((e) => `${e.value} (row ${e.row})`).join(', ')}`,
      }),
    });
  }
  if (col.domain !== undefined) {
    const domain = col.domain.length ? `[${col.domain.map(sqlString).join(', ')}]` : `CAST([] AS VARCHAR[])`;
    checks.push({
      kind: 'out_of_domain',
      column: col,
      cond: `${t} IS NOT NULL AND NOT list_contains(${domain}, ${t})`,
      expected: `one of ${list(col.domain)}`,
      describe: (n, ex) => ({
        seen: `${shown(ex)} in ${n} row${n === 1 ? '' : 's'}`,
        message: `${name}: ${n} value${n === 1 ? '' : 's'} outside the domain ${list(col.domain!)}: ${shown(ex)} (rows ${ex.map((e) => e.row).join(', ')})`,
      }),
    });
  }
  if (col.pattern !== undefined) {
    checks.push({
      kind: 'pattern_mismatch',
      column: col,
      cond: `${t} IS NOT NULL AND NOT regexp_full_match(${t}, ${sqlString(col.pattern)})`,
      expected: `matches /${col.pattern}/`,
      describe: (n, ex) => ({
        seen: `${n} value${n === 1 ? '' : 's'} not matching, e.g. ${shown(ex)}`,
        message: `${name}: ${n} value${n === 1 ? '' : 's'} do not match /${col.pattern}/: ${ex.map((e) => `${JSON.stringify(e.value)} (row ${e.row})`).join(', ')}`,
      }),
    });
  }
  if (col.minPresence !== undefined) {
    const allowed = col.minPresence;
    checks.push({
      kind: 'too_many_missing',
      column: col,
      cond: `${r} IS NULL`,
      expected: `a value in at least ${pct(allowed)} of rows`,
      describe: (n) => {
        const present = rowCount() > 0 ? 1 - n / rowCount() : 0;
        return {
          seen: `${pct(present)} present (${n} of ${rowCount()} rows missing)`,
          message: `${name}: ${n} of ${rowCount()} rows (${pct(n / Math.max(rowCount(), 1))}) have no value; at least ${pct(allowed)} must`,
        };
      },
    });
  }
  return checks;
}

/** Counts of offending rows are only anomalies past the schema's allowance. */
function isViolation(check: Check, count: number, rowCount: number): boolean {
  if (check.kind !== 'too_many_missing') return count > 0;
  return rowCount > 0 && 1 - count / rowCount < check.column.minPresence!;
}

export async function validateRelation(
  rel: Relation,
  schema: DatasetSchema,
  previous?: { version: number; profile: Profile },
): Promise<{ report: ValidationReport; profile: Profile }> {
  const { session } = rel;
  const anomalies: Anomaly[] = [];
  const present = new Map(rel.columns.map((c) => [c.name, c]));
  const expected = new Set(schema.columns.map((c) => c.name));
  for (const col of schema.columns) {
    if (present.has(col.name) || !col.required) continue;
    anomalies.push({
      kind: 'missing_column',
      column: col.name,
      expected: `${article(col.type)} ${col.type} column`,
      seen: 'no such column',
      message: `column "${col.name}" is missing (the schema requires ${article(col.type)} ${col.type} column)`,
    });
  }
  for (const c of rel.columns) {
    if (expected.has(c.name)) continue;
    anomalies.push({
      kind: 'new_column',
      column: c.name,
      expected: 'no such column',
      seen: `${article(c.type)} ${c.type} column`,
      message: `column "${c.name}" is not in the schema (new ${c.type} column)`,
    });
  }

  const cols = schema.columns.filter((c) => present.has(c.name));
  const select = cols.flatMap((c, i) => {
    const raw = sqlIdent(c.name);
    return [`${raw} AS r${i}`, `${typedExpr(raw, c.type)} AS t${i}`];
  });
  const checked = `(SELECT ${select.length ? select.join(', ') : '1 AS one'} FROM ${rel.from}) AS checked`;
  let rowCount = 0;
  const checks = cols.flatMap((c, i) => checksFor(c, i, present.get(c.name)!.sourceType, () => rowCount));
  const uniques = cols.map((c, i) => ({ c, i })).filter(({ c }) => c.unique);
  const aggs = ['count(*)', ...checks.map((k) => `count(*) FILTER (WHERE ${k.cond})`), ...uniques.map(({ i }) => `count(t${i}) - count(DISTINCT t${i})`)];
  const [row] = await session.rows(`SELECT ${aggs.join(', ')} FROM ${checked}`);
  rowCount = Number(row[0]);
  if (rowCount === 0) {
    anomalies.push({ kind: 'no_rows', column: '', expected: 'at least one row', seen: 'no rows', message: 'the data has no rows' });
  }

  const numbered = `(SELECT row_number() OVER () - 1 AS __row, * FROM ${checked}) AS numbered`;
  for (const [k, check] of checks.entries()) {
    const count = Number(row[1 + k]);
    if (!isViolation(check, count, rowCount)) continue;
    const i = cols.indexOf(check.column);
    const examples = (
      await session.rows(`SELECT __row, CAST(r${i} AS VARCHAR) FROM ${numbered} WHERE ${check.cond} ORDER BY __row LIMIT ${EXAMPLE_ROWS}`)
    ).map(([r, v]) => ({ row: Number(r), value: v === null ? null : String(v) }));
    const { seen, message } = check.describe(count, examples);
    anomalies.push({ kind: check.kind, column: check.column.name, expected: check.expected, seen, message, count, examples });
  }
  for (const [u, { c, i }] of uniques.entries()) {
    const dupes = Number(row[1 + checks.length + u]);
    if (dupes === 0) continue;
    const top = await session.rows(
      `SELECT CAST(t${i} AS VARCHAR), count(*) AS n FROM ${checked} WHERE t${i} IS NOT NULL GROUP BY t${i} HAVING count(*) > 1 ORDER BY n DESC, 1 LIMIT ${EXAMPLE_ROWS}`,
    );
    const shown = top.map(([v, n]) => `${JSON.stringify(String(v))} ×${n}`).join(', ');
    anomalies.push({
      kind: 'not_unique',
      column: c.name,
      expected: 'every value distinct',
      seen: `${dupes} repeated value${dupes === 1 ? '' : 's'}: ${shown}`,
      message: `column "${c.name}": values must be unique, but ${dupes} row${dupes === 1 ? ' repeats' : 's repeat'} an earlier value: ${shown}`,
      count: dupes,
    });
  }

  const profileColumns: ProfileColumn[] = cols.map((c, i) => ({ name: c.name, type: c.type, sourceType: present.get(c.name)!.sourceType, expr: `t${i}` }));
  const profile = await profileRelation(session, checked, profileColumns);
  if (previous && rowCount > 0) anomalies.push(...driftAnomalies(schema, previous.profile, profile, previous.version));
  const report: ValidationReport = { valid: anomalies.length === 0, rowCount, anomalies };
  if (previous) report.comparedWith = previous.version;
  return { report, profile };
}
