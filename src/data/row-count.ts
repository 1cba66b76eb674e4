/**
 * How many rows a table file has, before or without reading it: for a batch job's progress and
 * ETA, and for a streamed read to know it got every row. Parquet keeps the count in its footer.
 * Counting a CSV or JSON Lines file through DuckDB parses it whole, a second time: a quarter of a
 * CSV job's CPU and ~150 MiB of peak memory at 1M rows. Its line breaks say the same when no
 * quote can hide one (JSON strings escape theirs); a CSV file with a quote is left to DuckDB.
 */
import { open } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TableFormat } from './read-table.js';

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const READ_BYTES = 1 << 20;

/** Records (non-empty lines) in a text file; undefined for a CSV file holding a quote or an empty line. */
async function countLines(path: string, format: TableFormat): Promise<number | undefined> {
  let lines = 0;
  let last = NEWLINE;
  // One buffer for the whole file: after a read stream's fresh 1 MiB buffer per read, V8 kept
  // starting full collections for the rest of a CSV batch job, ~20 of them at 1M rows (~0.8 µs a row).
  const whole = Buffer.allocUnsafe(READ_BYTES);
  const fh = await open(path, 'r');
  try {
    for (let n = (await fh.read(whole, 0, READ_BYTES)).bytesRead; n > 0; n = (await fh.read(whole, 0, READ_BYTES)).bytesRead) {
      const buf = whole.subarray(0, n);
      if (format !== 'jsonl' && buf.indexOf(QUOTE) >= 0) return undefined;
      for (let i = buf.indexOf(NEWLINE); i >= 0; i = buf.indexOf(NEWLINE, i + 1)) {
        // An empty line (a second break in a row, also across buffers) holds no JSON record, but
        // DuckDB reads one in a one-column CSV file as a null: only its own count can tell.
        const before = i > 0 ? buf[i - 1] : last;
        if (before !== NEWLINE && !(before === 0x0d && (i > 1 ? buf[i - 2] : last) === NEWLINE)) lines++;
        else if (format === 'csv') return undefined;
      }
      last = buf[n - 1];
    }
  } finally {
    await fh.close();
  }
  return last === NEWLINE ? lines : lines + 1;
}

/**
 * The rows of `from` (a DuckDB reader of `path`) where they can be known without parsing it:
 * exact for Parquet, from line breaks where they tell; undefined otherwise.
 */
export async function knownRows(con: DuckDBConnection, from: string, path: string, format: TableFormat): Promise<number | undefined> {
  if (format === 'parquet') return Number((await con.runAndReadAll(`SELECT count(*) FROM ${from}`)).getRowsJS()[0][0]);
  const lines = await countLines(path, format);
  return lines === undefined ? undefined : Math.max(0, format === 'csv' ? lines - 1 : lines);
}

/** The rows of `from`: `knownRows`, or DuckDB's count when only a full parse can tell. */
export async function inputRows(con: DuckDBConnection, from: string, path: string, format: TableFormat): Promise<number> {
  return (await knownRows(con, from, path, format)) ?? Number((await con.runAndReadAll(`SELECT count(*) FROM ${from}`)).getRowsJS()[0][0]);
}
