/**
 * Typed tables for drift from rows of JSON values (inline records, logged inputs) and the
 * compact JSON form a drift reference is stored in.
 */
import { invalidArgument } from '../../core/errors.js';
import type { Table, TableColumn } from '../../data/read-table.js';
import type { DriftTable } from '../drift/index.js';

export interface SkippedInput {
  column: string;
  reason: string;
}

/**
 * Columns of every key seen; all-number columns become numeric (null → NaN), other scalars text.
 * Vector-valued columns (embeddings, tensors) are not compared column-wise: they are left out
 * with a reason.
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
  const scalarNames = names.filter((name) => {
    const vector = records.some((r) => r[name] !== null && typeof r[name] === 'object');
    if (vector) skipped.push({ column: name, reason: `column "${name}" holds vectors or objects; drift is computed for scalar columns only` });
    return !vector;
  });
  const columns: TableColumn[] = scalarNames.map((name) => {
    const numeric = records.every((r) => {
      const v = r[name];
      return v === undefined || v === null || typeof v === 'number';
    });
    if (numeric) {
      const values = new Float64Array(records.length);
      records.forEach((r, i) => (values[i] = typeof r[name] === 'number' ? (r[name] as number) : NaN));
      return { name, type: 'number', values };
    }
    const values = records.map((r) => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      return typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
    });
    return { name, type: 'string', values };
  });
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
export async function readReferenceFile(path: string): Promise<Table> {
  const { readTable } = await import('../../data/read-table.js');
  const table = await readTable(path);
  if (table.rowCount === 0) throw invalidArgument(`drift.reference.path: ${path} has no rows`);
  return table;
}
