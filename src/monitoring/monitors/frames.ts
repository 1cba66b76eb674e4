/**
 * Typed tables for drift from rows of JSON values (inline records, logged inputs) and the
 * compact JSON form a drift reference is stored in.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '../../core/errors.js';
import { readTable, type Table, type TableColumn, type TableFormat } from '../../data/read-table.js';
import type { DriftTable } from '../drift/index.js';

export interface SkippedInput {
  column: string;
  reason: string;
}

/** The length of a column whose values are all flat numeric vectors of one length, else undefined. */
function vectorLength(records: readonly Record<string, unknown>[], name: string): number | undefined {
  let k: number | undefined;
  for (const r of records) {
    const v = r[name];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' || x === null)) return undefined;
    if (k === undefined) k = v.length;
    else if (v.length !== k) return undefined;
  }
  return k;
}

/**
 * Columns of every key seen; all-number columns become numeric (null → NaN), other scalars text.
 * A column of flat numeric vectors of one length (a tensor input such as `input: [30]`) becomes
 * one numeric column per element, `input[0]` ... `input[29]`; other vectors and objects are left
 * out with a reason.
 */
export function recordsToTable(records: readonly Record<string, unknown>[], source: string): { table: DriftTable; skipped: SkippedInput[] } {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  const skipped: SkippedInput[] = [];
  const columns: TableColumn[] = [];
  const n = records.length;
  for (const name of names) {
    // One pass decides the column's kind and, for the common all-number column, fills it.
    const numbers = new Float64Array(n);
    let numeric = true;
    let structured = false;
    for (let i = 0; i < n; i++) {
      const v = records[i][name];
      if (typeof v === 'number') numbers[i] = v;
      else if (v === undefined || v === null) numbers[i] = NaN;
      else {
        numeric = false;
        if (typeof v === 'object') {
          structured = true;
          break;
        }
      }
    }
    if (structured) {
      const k = vectorLength(records, name);
      if (k === undefined) {
        skipped.push({ column: name, reason: `column "${name}" holds nested or ragged values; drift is computed for scalars and flat numeric vectors only` });
        continue;
      }
      for (let e = 0; e < k; e++) {
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const x = (records[i][name] as (number | null)[] | null | undefined)?.[e];
          values[i] = typeof x === 'number' ? x : NaN;
        }
        columns.push({ name: `${name}[${e}]`, type: 'number', values });
      }
      continue;
    }
    if (numeric) {
      columns.push({ name, type: 'number', values: numbers });
      continue;
    }
    const values = records.map((r) => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      return typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
    });
    columns.push({ name, type: 'string', values });
  }
  return { table: { source, rowCount: records.length, columns }, skipped };
}

interface StoredColumn {
  name: string;
  type: 'number' | 'string';
  values: (number | string | null)[];
}

/** JSON for the blob store; NaN is written as null and read back as NaN. */
export function tableToJson(table: DriftTable): string {
  const columns: StoredColumn[] = table.columns.map((c) =>
    c.type === 'number' ? { name: c.name, type: 'number', values: Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)) } : { name: c.name, type: 'string', values: c.values },
  );
  return JSON.stringify({ source: table.source, rowCount: table.rowCount, columns });
}

export function tableFromJson(text: string): DriftTable {
  const parsed = JSON.parse(text) as { source?: string; rowCount: number; columns: StoredColumn[] };
  const columns: TableColumn[] = parsed.columns.map((c) =>
    c.type === 'number'
      ? { name: c.name, type: 'number', values: Float64Array.from(c.values, (v) => (v === null ? NaN : (v as number))) }
      : { name: c.name, type: 'string', values: c.values as (string | null)[] },
  );
  return { source: parsed.source, rowCount: parsed.rowCount, columns };
}

/** Reads a reference file given to a monitor, with the file named in errors. */
export async function readReferenceFile(path: string, field = 'drift.reference.path'): Promise<Table> {
  const table = await readTable(path);
  if (table.rowCount === 0) throw invalidArgument(`${field}: ${path} has no rows`);
  return table;
}

/** What monitoring needs of the datasets domain (DatasetsService satisfies it). */
export interface DatasetSource {
  open(ref: { name: string; version?: number }): Promise<{ version: { name: string; version: number; format: TableFormat }; stream: Readable }>;
}

/** A registered dataset version as a table: spooled to a temp file, read, and the file removed. */
export async function readDataset(datasets: DatasetSource, name: string, version?: number): Promise<{ table: Table; version: number }> {
  const opened = await datasets.open({ name, version });
  const dir = await mkdtemp(join(tmpdir(), 'mp-ref-'));
  try {
    const path = join(dir, `reference.${opened.version.format}`);
    await pipeline(opened.stream, createWriteStream(path));
    const table = await readReferenceFile(path, 'drift.reference.dataset');
    return { table: { ...table, source: `${opened.version.name}@${opened.version.version}` }, version: opened.version.version };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
