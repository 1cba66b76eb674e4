/**
 * One chunk of a batch job's output as text: the kept columns, then one column per model output
 * (a vector output becomes NAME_0, NAME_1, ...). The same rows always give the same bytes, which
 * is what lets a resumed job stitch an output identical to an uninterrupted run's.
 */
import { csvCell } from '../../data/csv.js';
import { fromFloat16Bits, rowSize, type Batch, type DType, type NumericArray } from '../../models/index.js';
import { writeFloat32 } from './number-text.js';
import type { KeptColumn } from './plan.js';
import type { KeptText } from './kept-text.js';

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

/** A cell's text: a number's shortest round-trip form, null when missing. */
type Cell = (row: number) => string | null;

/** One reader per flattened prediction column of `out`; no per-column array of texts is built. */
function predictionCells(out: Batch): Cell[] {
  const cells: Cell[] = [];
  for (const col of out.columns.values()) {
    const size = rowSize(col.shape);
    for (let j = 0; j < size; j++) {
      if (col.dtype === 'string') {
        const data = col.data as string[];
        cells.push((r) => data[r * size + j]);
      } else if (col.dtype === 'bool') {
        const data = col.data as NumericArray;
        cells.push((r) => String(data[r * size + j] === 1));
      } else {
        const data = col.data as NumericArray;
        const half = col.dtype === 'float16';
        cells.push((r) => {
          const raw = data[r * size + j];
          const v = half ? fromFloat16Bits(raw as number) : raw;
          return typeof v === 'number' && !Number.isFinite(v) ? null : String(v);
        });
      }
    }
  }
  return cells;
}

/** Writes a cell of row r into a CSV chunk. */
type CsvWriter = (row: number, sink: ChunkBytes) => void;

/**
 * One writer per flattened prediction column. A number's text (ASCII, never quoted) is copied
 * straight into the bytes: through a Cell and the general write, a chunk took ~30% longer to encode.
 */
function csvPredictionWriters(out: Batch): CsvWriter[] {
  const cells = predictionCells(out);
  const writers: CsvWriter[] = [];
  for (const col of out.columns.values()) {
    const size = rowSize(col.shape);
    for (let j = 0; j < size; j++) {
      const cell = cells[writers.length];
      if (col.dtype === 'string') {
        writers.push((r, sink) => sink.write(csvCell(cell(r))));
      } else if (col.dtype === 'bool' || col.dtype === 'float16') {
        writers.push((r, sink) => {
          const v = cell(r);
          if (v !== null) sink.ascii(v);
        });
      } else if (col.dtype === 'float32') {
        const data = col.data as Float32Array;
        writers.push((r, sink) => {
          const v = data[r * size + j];
          if (Number.isFinite(v)) sink.float32(v);
        });
      } else {
        const data = col.data as NumericArray;
        writers.push((r, sink) => {
          const v = data[r * size + j];
          if (typeof v !== 'number' || Number.isFinite(v)) sink.ascii(String(v));
        });
      }
    }
  }
  return writers;
}

/**
 * The longest float32 text: 17 digits after five zeros, as String() writes a negative value
 * between -1e-5 and -1e-6 ("-0.0000012345677760094986"); exponent forms are shorter.
 */
export const FLOAT32_TEXT_BYTES = 25;

const NOT_JSON_NUMBER = /^(nan|-?inf(inity)?)$/i;

/**
 * A chunk's bytes, written into one buffer that grows as needed and is reused by later chunks once
 * their part is written. Building the text as a string left a chain of ~7 string pieces per row,
 * then a flattened copy and its UTF-8 encoding: most of a job's garbage, and the collector's work
 * that came with it.
 */
export class ChunkBytes {
  private buf = new Uint8Array(1 << 16);
  private length = 0;
  private readonly utf8 = new TextEncoder();

  /** Appends `s` as UTF-8: byte by byte while it is ASCII, as a number's text always is. */
  write(s: string): void {
    const len = s.length;
    if (this.length + 3 * len > this.buf.length) this.grow(3 * len);
    const buf = this.buf;
    let n = this.length;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        n += this.utf8.encodeInto(s.slice(i), buf.subarray(n)).written;
        break;
      }
      buf[n++] = c;
    }
    this.length = n;
  }

  private grow(more: number): void {
    const bigger = new Uint8Array(Math.max(2 * this.buf.length, this.length + more));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  /** Appends `s`, known to be ASCII (a number's text). */
  ascii(s: string): void {
    const len = s.length;
    if (this.length + len > this.buf.length) this.grow(len);
    const buf = this.buf;
    let n = this.length;
    for (let i = 0; i < len; i++) buf[n++] = s.charCodeAt(i);
    this.length = n;
  }

  /** Appends a finite float32 value's text, as String() writes it. */
  float32(v: number): void {
    if (this.length + FLOAT32_TEXT_BYTES > this.buf.length) this.grow(FLOAT32_TEXT_BYTES);
    this.length = writeFloat32(v, this.buf, this.length);
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  writeBytes(src: Uint8Array, from: number, to: number): void {
    if (this.length + to - from > this.buf.length) this.grow(to - from);
    const buf = this.buf;
    let n = this.length;
    for (let i = from; i < to; i++) buf[n++] = src[i];
    this.length = n;
  }

  /** The bytes written since the last call; valid until the next write. */
  take(): Uint8Array {
    const bytes = this.buf.subarray(0, this.length);
    this.length = 0;
    return bytes;
  }
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** Rows of one chunk into `sink`: `kept` holds the kept columns' text as read. */
export function encodeChunk(format: OutputFormat, layout: readonly OutputColumn[], kept: readonly KeptText[], out: Batch, sink = new ChunkBytes()): Uint8Array {
  encodeRows(format, layout, kept, out, sink, 0, out.rows);
  return sink.take();
}

/** Rows `from` to `to` of one chunk appended to `sink`, as encodeChunk writes them. */
export function encodeRows(format: OutputFormat, layout: readonly OutputColumn[], kept: readonly KeptText[], out: Batch, sink: ChunkBytes, from: number, to: number): void {
  if (format === 'jsonl') {
    const cells: Cell[] = [...kept.map((values): Cell => (r) => values.text(r)), ...predictionCells(out)];
    // A prediction's number needs no JSON check: its text is digits, '.', '-', 'e' and '+'.
    const plain = layout.map((c, i) => i >= kept.length && c.bare);
    const keys = layout.map((c, i) => `${i > 0 ? ',' : '{'}${JSON.stringify(c.name)}:`);
    for (let r = from; r < to; r++) {
      for (let c = 0; c < layout.length; c++) {
        const v = cells[c](r);
        sink.write(keys[c]);
        if (v === null) sink.write('null');
        else if (plain[c]) sink.write(v);
        else if (layout[c].bare) sink.write(NOT_JSON_NUMBER.test(v) ? 'null' : v);
        else sink.write(JSON.stringify(v));
      }
      sink.write('}\n');
    }
  } else {
    const writers = csvPredictionWriters(out);
    for (let r = from; r < to; r++) {
      for (let c = 0; c < kept.length; c++) {
        if (c > 0) sink.byte(COMMA);
        kept[c].writeCsv(r, sink);
      }
      for (let c = 0; c < writers.length; c++) {
        if (c > 0 || kept.length > 0) sink.byte(COMMA);
        writers[c](r, sink);
      }
      sink.byte(NEWLINE);
    }
  }
}
