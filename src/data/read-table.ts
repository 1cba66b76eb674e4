/**
 * Reads a CSV, JSON Lines or Parquet file into typed columns through DuckDB: numbers become
 * Float64Array (NaN = missing), everything else text ((string | null)[]). One small API that
 * drift, batch scoring and datasets share; errors name the file and, where the reader knows
 * it, the line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, basename } from 'node:path';
import type { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api';
import { invalidArgument, notFound } from '../core/errors.js';
import { knownRows } from './row-count.js';

export type TableFormat = 'csv' | 'jsonl' | 'parquet';

export interface NumericColumn {
  name: string;
  type: 'number';
  /** One value per row; NaN where the cell is missing. */
  values: Float64Array;
}

export interface TextColumn {
  name: string;
  type: 'string';
  /** One value per row; null where the cell is missing. */
  values: (string | null)[];
}

export type TableColumn = NumericColumn | TextColumn;

export interface Table {
  /** The path the table was read from (used in messages). */
  source: string;
  format: TableFormat;
  rowCount: number;
  columns: TableColumn[];
}

export interface ReadTableOptions {
  /** Overrides detection from the file extension. */
  format?: TableFormat;
  /** Read only these columns, in this order; unknown names are an error that lists the real ones. */
  columns?: string[];
}

const EXTENSIONS: Record<string, TableFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The format implied by a file name, or undefined when the extension is not one we read. */
export function tableFormatOf(path: string): TableFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

export const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?)$/;

export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export const csvDelimiter = (path: string) => (extname(path).toLowerCase() === '.tsv' ? '\t' : ',');

export function readerSql(path: string, format: TableFormat, options: { csvBufferBytes?: number } = {}): string {
  switch (format) {
    case 'csv': {
      // The delimiter is fixed by the extension: left to the sniffer, a ragged comma file is
      // silently read as one wide text column instead of failing.
      const buffer = options.csvBufferBytes === undefined ? '' : `, buffer_size = ${options.csvBufferBytes}`;
      return `read_csv(${sqlString(path)}, header = true, delim = ${sqlString(csvDelimiter(path))}, quote = '"', escape = '"'${buffer})`;
    }
    case 'jsonl':
      return `read_json(${sqlString(path)}, format = 'newline_delimited')`;
    case 'parquet':
      return `read_parquet(${sqlString(path)})`;
  }
}

/** Fields in one CSV record, honouring double quotes; used only to explain a failed read. */
function countCsvFields(line: string, delim: string): number {
  let fields = 1;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === delim && !quoted) fields++;
  }
  return fields;
}

/**
 * DuckDB's sniffer reports a ragged CSV only as "could not detect the dialect"; find the first
 * record whose field count differs from the header's so the user learns where to look.
 */
function locateCsvProblem(path: string): string | undefined {
  if (statSync(path).size > 256 * 2 ** 20) return undefined;
  const delim = csvDelimiter(path);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const expected = countCsvFields(lines[0] ?? '', delim);
  let record = '';
  let start = 0;
  for (let i = 1; i < lines.length; i++) {
    if (record === '') start = i;
    record = record === '' ? lines[i] : `${record}\n${lines[i]}`;
    // An odd number of quotes so far means a quoted field continues on the next line.
    if ((record.split('"').length - 1) % 2 === 1) continue;
    if (record !== '' && countCsvFields(record, delim) !== expected) {
      return `line ${start + 1}: ${countCsvFields(record, delim)} fields, but the header has ${expected}`;
    }
    record = '';
  }
  if (record !== '') return `line ${start + 1}: quoted field is never closed`;
  return undefined;
}

/** The useful part of a DuckDB error: its first line, without the SQL echo. */
function duckMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].replace(/^(Invalid Input|IO|Conversion|Binder|Parser) Error: /, '').trim();
}

export function readError(path: string, format: TableFormat, err: unknown) {
  const msg = duckMessage(err);
  const where = format === 'csv' && /sniffing|dialect|Expected Number of Columns/i.test(msg) ? locateCsvProblem(path) : undefined;
  return invalidArgument(`${path}: cannot read as ${format}: ${where ?? msg}`);
}

export async function describe(con: DuckDBConnection, from: string): Promise<{ name: string; type: string }[]> {
  const r = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
  return r.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
}

function selectExpression(name: string, type: string): { sql: string; numeric: boolean } {
  const id = sqlIdent(name);
  if (NUMERIC_TYPE.test(type)) return { sql: `CAST(${id} AS DOUBLE)`, numeric: true };
  // JSON Lines with mixed value types come back as JSON; ->> gives the bare string.
  if (type === 'JSON') return { sql: `${id} ->> '$'`, numeric: false };
  return { sql: `CAST(${id} AS VARCHAR)`, numeric: false };
}

class Float64Builder {
  private buf = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  finish(): Float64Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * DuckDB's Node client ends a streamed result that failed part-way (a value that does not parse
 * or cast, found after the first chunks) exactly as one that is exhausted: fetching gives no
 * chunk in both cases and the error is not exposed. A reader that streamed `streamed` rows calls
 * this when it has reason to doubt the end (fewer rows than it expected, or no expectation at
 * all): the query counted in one statement raises the error itself. Counting every column makes
 * DuckDB compute each of them without holding any row.
 */
export async function checkStreamed(con: DuckDBConnection, sql: string, streamed: number): Promise<void> {
  const reader = await con.runAndReadAll(`SELECT count(*), count(COLUMNS(*)) FROM (${sql})`);
  const rows = Number(reader.getRows()[0][0]);
  if (rows !== streamed) throw new Error(`the reader stopped after ${streamed} of ${rows} rows with no error from DuckDB`);
}

/** Reads a whole table into memory as typed columns. */
export async function readTable(path: string, options: ReadTableOptions = {}): Promise<Table> {
  if (!existsSync(path)) throw notFound(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw invalidArgument(`${path}: is a directory, expected a file`);
  const format = options.format ?? tableFormatOf(path);
  if (!format) {
    throw invalidArgument(`${path}: unknown table format "${extname(path) || basename(path)}"; use .csv, .tsv, .jsonl or .parquet`);
  }
  const instance = await (await import('@duckdb/node-api')).DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    const from = readerSql(path, format);
    let schema: { name: string; type: string }[];
    try {
      schema = await describe(con, from);
    } catch (err) {
      throw readError(path, format, err);
    }
    const wanted = options.columns ?? schema.map((c) => c.name);
    const byName = new Map(schema.map((c) => [c.name, c]));
    const unknown = wanted.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw invalidArgument(
        `${path}: no column ${unknown.map((n) => `"${n}"`).join(', ')}; columns are ${schema.map((c) => c.name).join(', ')}`,
      );
    }
    const exprs = wanted.map((n) => selectExpression(n, byName.get(n)!.type));
    const sql = `SELECT ${exprs.map((e) => e.sql).join(', ')} FROM ${from}`;
    const numeric = exprs.map((e) => (e.numeric ? new Float64Builder() : undefined));
    const text = exprs.map((e) => (e.numeric ? undefined : ([] as (string | null)[])));
    let rowCount = 0;
    try {
      const expected = await knownRows(con, from, path, format);
      const result = await con.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (let c = 0; c < exprs.length; c++) {
          const values = chunk.getColumnValues(c);
          const nb = numeric[c];
          if (nb) for (const v of values) nb.push(v === null ? Number.NaN : (v as number));
          else {
            const tb = text[c]!;
            for (const v of values) tb.push(v === null ? null : String(v));
          }
        }
        rowCount += chunk.rowCount;
      }
      // A second scan only when the file's own count does not vouch for the stream's end.
      if (rowCount !== expected) await checkStreamed(con, sql, rowCount);
    } catch (err) {
      throw readError(path, format, err);
    }
    const columns: TableColumn[] = wanted.map((name, c) =>
      numeric[c] ? { name, type: 'number', values: numeric[c]!.finish() } : { name, type: 'string', values: text[c]! },
    );
    return { source: path, format, rowCount, columns };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
