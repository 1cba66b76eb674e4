/**
 * Columns already in memory (a batch of serving requests, a decoded table) loaded into DuckDB
 * so that they are validated and profiled by the same SQL as files. NaN in a numeric array
 * means missing, as in read-table's columns and the serving Batch.
 */
import { invalidArgument } from '../core/errors.js';
import { columnTypeOf, sqlIdent, type DuckSession, type SourceColumn } from './source.js';
import type { Relation } from './validate.js';

type Scalar = string | number | boolean | bigint | null | undefined;

export type MemoryValues =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | readonly Scalar[];

export interface MemoryColumn {
  name: string;
  values: MemoryValues;
}

type SqlType = 'DOUBLE' | 'BIGINT' | 'BOOLEAN' | 'VARCHAR';

function sqlTypeOf(values: MemoryValues): SqlType {
  if (values instanceof BigInt64Array) return 'BIGINT';
  if (ArrayBuffer.isView(values)) return 'DOUBLE';
  const kinds = new Set<string>();
  for (const v of values as readonly Scalar[]) if (v !== null && v !== undefined) kinds.add(typeof v);
  if (kinds.size === 1) {
    const [k] = kinds;
    if (k === 'number') return 'DOUBLE';
    if (k === 'bigint') return 'BIGINT';
    if (k === 'boolean') return 'BOOLEAN';
  }
  // Numbers mixed with text stay text: the schema's type check then names the odd values.
  return 'VARCHAR';
}

export async function loadColumns(session: DuckSession, columns: MemoryColumn[], table = 'batch'): Promise<Relation> {
  if (columns.length === 0) throw invalidArgument('columns: at least one column is needed');
  const rows = columns[0].values.length;
  const names = new Set<string>();
  for (const c of columns) {
    if (c.values.length !== rows) {
      throw invalidArgument(`column "${c.name}" has ${c.values.length} values, but "${columns[0].name}" has ${rows}`);
    }
    if (names.has(c.name)) throw invalidArgument(`column "${c.name}" is given twice`);
    names.add(c.name);
  }
  const types = columns.map((c) => sqlTypeOf(c.values));
  await session.run(`CREATE OR REPLACE TABLE ${sqlIdent(table)} (${columns.map((c, i) => `${sqlIdent(c.name)} ${types[i]}`).join(', ')})`);
  const appender = await session.con.createAppender(table);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < columns.length; i++) {
      const v = (columns[i].values as ArrayLike<Scalar>)[r];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) appender.appendNull();
      else if (types[i] === 'DOUBLE') appender.appendDouble(Number(v));
      else if (types[i] === 'BIGINT') appender.appendBigInt(BigInt(v));
      else if (types[i] === 'BOOLEAN') appender.appendBoolean(v as boolean);
      else appender.appendVarchar(String(v));
    }
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
  const described: SourceColumn[] = columns.map((c, i) => ({ name: c.name, sourceType: types[i], type: columnTypeOf(types[i])! }));
  return { session, from: sqlIdent(table), columns: described };
}
