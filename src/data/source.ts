/**
 * Where a dataset's rows come from: a file or a folder of files (CSV, JSON Lines, Parquet), read
 * by DuckDB straight from disk so that a large file never passes through JavaScript memory.
 * Read failures become one-line messages naming the file, line and column where DuckDB knows
 * them.
 */
import { openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api';
import { invalidArgument, notFound, ModelportError } from '../core/errors.js';
import { sqlIdent, sqlString, tableFormatOf, type TableFormat } from './read-table.js';
import type { ColumnType } from './types.js';

export interface TableSource {
  /** The path the user gave (file or folder), for messages. */
  path: string;
  kind: 'file' | 'folder';
  /** Absolute paths of the data files, sorted. */
  files: string[];
  format: TableFormat;
  /** CSV only. */
  delimiter: string;
  sizeBytes: number;
}

export interface SourceOptions {
  /** Overrides detection from the file extension(s). */
  format?: TableFormat;
  /** CSV field separator; default ',' (tab for .tsv). */
  delimiter?: string;
}

export interface SourceColumn {
  name: string;
  /** DuckDB's type as read. */
  sourceType: string;
  type: ColumnType;
}

export { sqlIdent, sqlString } from './read-table.js';

const FORMATS: readonly TableFormat[] = ['csv', 'jsonl', 'parquet'];

export function checkFormat(format: string | undefined): TableFormat | undefined {
  if (format === undefined || format === '') return undefined;
  if (!(FORMATS as readonly string[]).includes(format)) throw invalidArgument(`format: "${format}" is not one of ${FORMATS.join(', ')}`);
  return format as TableFormat;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Hidden files are editor or VCS droppings (.DS_Store, .git); "_" files are Hadoop/Spark
    // markers (_SUCCESS, _metadata). Neither is data.
    if (entry.name.startsWith('.') || entry.name.startsWith('_')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Finds the data files behind a path and the format they share. */
export function resolveSource(path: string, options: SourceOptions = {}): TableSource {
  const abs = resolve(path);
  let stat;
  try {
    stat = statSync(abs);
  } catch {
    throw notFound(`${path}: no such file or folder`);
  }
  let files: string[];
  let format = options.format;
  if (stat.isDirectory()) {
    const all = listFiles(abs).sort();
    files = format ? all.filter((f) => tableFormatOf(f) === format || tableFormatOf(f) === undefined) : all.filter((f) => tableFormatOf(f));
    if (files.length === 0) throw invalidArgument(`${path}: folder holds no .csv, .tsv, .jsonl or .parquet files`);
    const formats = [...new Set(files.map((f) => tableFormatOf(f) ?? format))];
    if (formats.length > 1) {
      throw invalidArgument(`${path}: folder mixes formats (${formats.join(', ')}); a dataset version is one format`);
    }
    format ??= formats[0];
  } else {
    files = [abs];
    format ??= tableFormatOf(abs);
    if (!format) throw invalidArgument(`${path}: unknown table format; use .csv, .tsv, .jsonl or .parquet, or pass a format`);
  }
  const delimiter = options.delimiter ?? (files.every((f) => f.toLowerCase().endsWith('.tsv')) ? '\t' : ',');
  if (delimiter.length !== 1) throw invalidArgument(`delimiter: "${delimiter}" must be a single character`);
  const sizeBytes = files.reduce((s, f) => s + statSync(f).size, 0);
  for (const f of files) if (statSync(f).size === 0) throw invalidArgument(`${f}: file is empty`);
  return { path, kind: stat.isDirectory() ? 'folder' : 'file', files, format: format!, delimiter, sizeBytes };
}

/** Relative, '/'-separated names of a folder source's files (the manifest's keys). */
export function relativeNames(source: TableSource): string[] {
  const root = resolve(source.path);
  return source.files.map((f) => relative(root, f).split(sep).join('/'));
}

function fileList(files: string[]): string {
  return files.length === 1 ? sqlString(files[0]) : `[${files.map(sqlString).join(', ')}]`;
}

/** The DuckDB table function that reads the source; `textColumns` of a CSV are read as text, as written. */
export function readerSql(source: TableSource, textColumns: string[] = []): string {
  const files = fileList(source.files);
  const many = source.files.length > 1 ? ', union_by_name = true' : '';
  const types = textColumns.length ? `, types = {${textColumns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ')}}` : '';
  switch (source.format) {
    case 'csv':
      return `read_csv(${files}, header = true, delim = ${sqlString(source.delimiter)}, quote = '"', escape = '"'${many}${types})`;
    case 'jsonl':
      return `read_json(${files}, format = 'newline_delimited'${many})`;
    case 'parquet':
      return `read_parquet(${files}${many})`;
  }
}

const INT = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const FLOAT = /^(FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?)$/;
const TIME = /^(DATE|TIMESTAMP.*)$/;

/** The dataset column type for a DuckDB type; undefined for JSON (values of mixed types). */
export function columnTypeOf(duckType: string): ColumnType | undefined {
  if (INT.test(duckType)) return 'int';
  if (FLOAT.test(duckType)) return 'float';
  if (duckType === 'BOOLEAN') return 'bool';
  if (TIME.test(duckType)) return 'timestamp';
  if (duckType === 'JSON') return undefined;
  return 'string';
}

/** One in-memory DuckDB database for one piece of work. */
export class DuckSession {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly con: DuckDBConnection,
  ) {}

  /** `tempDirectory`: where DuckDB spills sorts and hash tables bigger than memory (else the OS temp folder). */
  static async open(tempDirectory = join(tmpdir(), 'modelport-duckdb')): Promise<DuckSession> {
    const instance = await (await import('@duckdb/node-api')).DuckDBInstance.create(':memory:', { temp_directory: tempDirectory });
    const con = await instance.connect();
    return new DuckSession(instance, con);
  }

  /** Rows as JS values; BIGINT counts come back as numbers. */
  async rows(sql: string): Promise<unknown[][]> {
    const reader = await this.con.runAndReadAll(sql);
    return reader.getRowsJS().map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  }

  async run(sql: string): Promise<void> {
    await this.con.run(sql);
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }
}

/** The first line of a DuckDB message without its "Xxx Error: " prefix. */
function firstLine(msg: string): string {
  return msg.split('\n')[0].replace(/^[A-Za-z ]*Error: /, '').trim();
}

/** A CSV error DuckDB reported with a line number, as "FILE: line N[, column "c"]: what". */
function csvLineError(msg: string, fallbackFile: string): ModelportError | undefined {
  const line = /CSV Error on Line: (\d+)/.exec(msg);
  if (!line) return undefined;
  const file = /^\s*file = (.+)$/m.exec(msg)?.[1]?.trim() ?? fallbackFile;
  const conv = /Error when converting column "([^"]*)"\. Could not convert string "([^"]*)" to '([^']+)'/.exec(msg);
  if (conv) {
    return invalidArgument(
      `${file}: line ${line[1]}, column "${conv[1]}": "${conv[2]}" is not ${conv[3]} like the values above it (mixed types in one column)`,
      { file, line: Number(line[1]), column: conv[1] },
    );
  }
  const lines = msg.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Original Line:'));
  const what = (i >= 0 ? lines[i + 1] : undefined)?.trim() || firstLine(msg);
  return invalidArgument(`${file}: line ${line[1]}: ${what}`, { file, line: Number(line[1]) });
}

/** Splits a CSV header line, honouring double quotes. */
function splitHeader(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === delim && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function headerLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0];
  } finally {
    closeSync(fd);
  }
}

/**
 * DuckDB's dialect sniffer says only that it could not detect the dialect; a strict read with
 * the header's columns and no sniffing names the first bad line instead.
 */
async function locateCsvProblem(session: DuckSession, file: string, delim: string): Promise<ModelportError | undefined> {
  const names = splitHeader(headerLine(file), delim);
  const columns = `{${names.map((n, i) => `${sqlString(n || `column${i}`)}: 'VARCHAR'`).join(', ')}}`;
  try {
    await session.rows(
      `SELECT count(*) FROM read_csv(${sqlString(file)}, auto_detect = false, header = true, delim = ${sqlString(delim)}, quote = '"', escape = '"', columns = ${columns})`,
    );
  } catch (err) {
    return csvLineError((err as Error).message, file);
  }
  return undefined;
}

/** Turns a DuckDB read failure into a one-line InvalidArgument naming file, line and column. */
export async function explainReadError(session: DuckSession, source: TableSource, err: unknown): Promise<ModelportError> {
  if (err instanceof ModelportError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const fromLine = csvLineError(msg, source.files[0]);
  if (fromLine) return fromLine;
  const sniffFile = /Error when sniffing file "([^"]+)"/.exec(msg)?.[1];
  if (source.format === 'csv' && (sniffFile || /dialect/i.test(msg))) {
    for (const file of sniffFile ? [sniffFile] : source.files) {
      const located = await locateCsvProblem(session, file, source.delimiter);
      if (located) return located;
    }
  }
  const magic = /No magic bytes found at end of file '([^']+)'/.exec(msg);
  if (magic) return invalidArgument(`${magic[1]}: not a Parquet file, or truncated (no Parquet footer)`, { file: magic[1] });
  const json = /Malformed JSON in file "([^"]+)", at byte \d+ in line (\d+): ([^.]*)/.exec(msg);
  if (json) return invalidArgument(`${json[1]}: line ${json[2]}: malformed JSON (${json[3].trim()})`, { file: json[1], line: Number(json[2]) });
  return invalidArgument(`${source.path}: cannot read as ${source.format}: ${firstLine(msg)}`);
}

/** Runs `fn`, turning DuckDB read failures into clear messages about the source. */
export async function reading<T>(session: DuckSession, source: TableSource, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw await explainReadError(session, source, err);
  }
}

const OTHER_DELIMITERS = [';', '\t', '|'];

/**
 * The source's columns and their types, refusing what would register as nonsense: a CSV read
 * with the wrong delimiter (one wide column) or a JSON column whose values change type.
 */
export async function describeSource(session: DuckSession, source: TableSource): Promise<SourceColumn[]> {
  const from = readerSql(source);
  const described = await reading(session, source, () => session.rows(`DESCRIBE SELECT * FROM ${from}`));
  const columns = described.map((r) => ({ name: String(r[0]), sourceType: String(r[1]) }));
  if (source.format === 'csv' && columns.length === 1) {
    const header = headerLine(source.files[0]);
    const other = OTHER_DELIMITERS.find((d) => d !== source.delimiter && header.includes(d));
    if (other) {
      const shown = other === '\t' ? '\\t' : other;
      throw invalidArgument(
        `${source.files[0]}: line 1 has no "${source.delimiter === '\t' ? '\\t' : source.delimiter}" but contains "${shown}": the file looks "${shown}"-delimited; pass delimiter "${shown}"`,
        { file: source.files[0], line: 1 },
      );
    }
  }
  const out: SourceColumn[] = [];
  for (const c of columns) {
    const type = columnTypeOf(c.sourceType);
    if (!type) throw await mixedJsonColumn(session, source, c.name);
    out.push({ ...c, type });
  }
  return out;
}

const JSON_KINDS: Record<string, string> = {
  UBIGINT: 'number',
  BIGINT: 'number',
  DOUBLE: 'number',
  VARCHAR: 'string',
  BOOLEAN: 'boolean',
  OBJECT: 'object',
  ARRAY: 'array',
};

async function mixedJsonColumn(session: DuckSession, source: TableSource, column: string): Promise<ModelportError> {
  const id = sqlIdent(column);
  const rows = await session.rows(
    `SELECT json_type(${id}) AS t, min(rn) AS first FROM (SELECT row_number() OVER () AS rn, ${id} FROM ${readerSql(source)}) WHERE ${id} IS NOT NULL GROUP BY t ORDER BY first`,
  );
  const [a, b] = rows;
  const kind = (t: unknown) => JSON_KINDS[String(t)] ?? String(t).toLowerCase();
  const where = source.kind === 'file' ? `${source.files[0]}: line ${b?.[1]}` : `${source.path}: row ${Number(b?.[1]) - 1}`;
  return invalidArgument(
    `${where}, column "${column}": a ${kind(b?.[0])} where line ${a?.[1]} has a ${kind(a?.[0])} (mixed types in one column)`,
    { column },
  );
}
