/**
 * The story's training tables: the feature store's point-in-time output with its text columns
 * one-hot encoded, so that the table a model trains on, the holdout its gate scores and the
 * requests it serves all carry the same columns.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { csvCell } from '../data/csv.js';
import type { Table, TableColumn } from '../data/read-table.js';
import { encodeLoans, type LoansEncoding } from './loans-encoding.js';

/** Numeric columns as themselves and text columns one-hot over the levels `table` holds; `keep` columns are left out. */
export function encodingOf(table: Table, keep: readonly string[]): LoansEncoding {
  const numeric: LoansEncoding['numeric'] = [];
  const oneHot: LoansEncoding['oneHot'] = [];
  for (const c of table.columns) {
    if (keep.includes(c.name)) continue;
    if (c.type === 'number') numeric.push({ feature: c.name, column: c.name });
    else {
      const levels = [...new Set(c.values.filter((v): v is string => v !== null))].sort();
      oneHot.push({ column: c.name, levels: levels.map((level) => ({ level, feature: `${c.name}=${level}` })) });
    }
  }
  return { featureNames: [...numeric.map((n) => n.feature), ...oneHot.flatMap((o) => o.levels.map((l) => l.feature))], numeric, oneHot };
}

/** The `keep` columns as they are, then the encoded features. */
export function encodeTable(table: Table, encoding: LoansEncoding, keep: readonly string[]): Table {
  const features = encodeLoans(table.columns, encoding);
  const kept = keep.map((name) => table.columns.find((c) => c.name === name)!);
  const encoded: TableColumn[] = Object.entries(features).map(([name, data]) => ({ name, type: 'number', values: Float64Array.from(data) }));
  return { ...table, columns: [...kept, ...encoded] };
}

/** Rows of `b` after the rows of `a` (same columns). */
export function concatTables(a: Table, b: Table): Table {
  const columns = a.columns.map((c): TableColumn => {
    const other = b.columns.find((x) => x.name === c.name)!;
    if (c.type === 'number') {
      const values = new Float64Array(a.rowCount + b.rowCount);
      values.set(c.values);
      values.set(other.values as Float64Array, a.rowCount);
      return { ...c, values };
    }
    return { ...c, values: [...c.values, ...(other.values as (string | null)[])] };
  });
  return { ...a, rowCount: a.rowCount + b.rowCount, columns };
}

/** Rows [from, to) of a table. */
export function sliceTable(table: Table, from: number, to = table.rowCount): Table {
  const columns = table.columns.map((c) => ({ ...c, values: c.values.slice(from, to) }) as TableColumn);
  return { ...table, rowCount: Math.max(0, Math.min(to, table.rowCount) - from), columns };
}

export async function writeCsv(path: string, table: Table): Promise<void> {
  const out = createWriteStream(path);
  const cell = (c: TableColumn, i: number) => {
    const v = c.values[i];
    return csvCell(v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v));
  };
  out.write(`${table.columns.map((c) => csvCell(c.name)).join(',')}\n`);
  for (let i = 0; i < table.rowCount; i++) {
    if (!out.write(`${table.columns.map((c) => cell(c, i)).join(',')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
