/**
 * One chunk of a batch job's output as text: the kept columns, then one column per model output
 * (a vector output becomes NAME_0, NAME_1, ...). The same rows always give the same bytes, which
 * is what lets a resumed job stitch an output identical to an uninterrupted run's.
 */
import { csvCell } from '../../data/csv.js';
import { fromFloat16Bits, rowSize, type Batch, type DType, type NumericArray } from '../../models/index.js';
import type { KeptColumn } from './plan.js';

export type OutputFormat = 'csv' | 'jsonl' | 'parquet';

export interface OutputColumn {
  name: string;
  /** DuckDB type the column has in a Parquet output. */
  type: string;
  bare: boolean;
}

const SQL_TYPE: Record<DType, string> = {
  float16: 'FLOAT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  int8: 'TINYINT',
  int16: 'SMALLINT',
  int32: 'INTEGER',
  int64: 'BIGINT',
  uint8: 'UTINYINT',
  uint16: 'USMALLINT',
  uint32: 'UINTEGER',
  uint64: 'UBIGINT',
  bool: 'BOOLEAN',
  string: 'VARCHAR',
};

/** The output's columns: the kept ones, then the predictions of `out` flattened. */
export function outputLayout(kept: readonly KeptColumn[], out: Batch): OutputColumn[] {
  const cols: OutputColumn[] = kept.map((k) => ({ name: k.name, type: k.type, bare: k.bare }));
  for (const [name, col] of out.columns) {
    const type = SQL_TYPE[col.dtype];
    const bare = col.dtype !== 'string';
    if (col.shape.length === 0) cols.push({ name, type, bare });
    else for (let i = 0; i < rowSize(col.shape); i++) cols.push({ name: `${name}_${i}`, type, bare });
  }
  return cols;
}

export function csvHeader(layout: readonly OutputColumn[]): string {
  return `${layout.map((c) => csvCell(c.name)).join(',')}\n`;
}

/** The cells of `out` as text, column-major: a number's shortest round-trip form, null when missing. */
function predictionCells(out: Batch): (string | null)[][] {
  const cells: (string | null)[][] = [];
  for (const col of out.columns.values()) {
    const size = rowSize(col.shape);
    for (let j = 0; j < size; j++) {
      const values: (string | null)[] = new Array(out.rows);
      if (col.dtype === 'string') {
        const data = col.data as string[];
        for (let r = 0; r < out.rows; r++) values[r] = data[r * size + j];
      } else {
        const data = col.data as NumericArray;
        for (let r = 0; r < out.rows; r++) {
          const raw = data[r * size + j];
          const v = col.dtype === 'float16' ? fromFloat16Bits(raw as number) : raw;
          values[r] = typeof v === 'number' && !Number.isFinite(v) ? null : col.dtype === 'bool' ? String(v === 1) : String(v);
        }
      }
      cells.push(values);
    }
  }
  return cells;
}

const NOT_JSON_NUMBER = /^(nan|-?inf(inity)?)$/i;

/** Rows of one chunk: `kept` holds the kept columns' values as read (text or null). */
export function encodeChunk(format: OutputFormat, layout: readonly OutputColumn[], kept: (string | null)[][], out: Batch): string {
  const cells = [...kept, ...predictionCells(out)];
  const lines: string[] = new Array(out.rows);
  if (format === 'jsonl') {
    const keys = layout.map((c) => `${JSON.stringify(c.name)}:`);
    for (let r = 0; r < out.rows; r++) {
      let line = '{';
      for (let c = 0; c < layout.length; c++) {
        const v = cells[c][r];
        const text = v === null || (layout[c].bare && NOT_JSON_NUMBER.test(v)) ? 'null' : layout[c].bare ? v : JSON.stringify(v);
        line += `${c > 0 ? ',' : ''}${keys[c]}${text}`;
      }
      lines[r] = `${line}}\n`;
    }
  } else {
    for (let r = 0; r < out.rows; r++) {
      let line = '';
      for (let c = 0; c < layout.length; c++) line += `${c > 0 ? ',' : ''}${csvCell(cells[c][r])}`;
      lines[r] = `${line}\n`;
    }
  }
  return lines.join('');
}
