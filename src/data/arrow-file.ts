/**
 * Writes a DuckDB query's result as an Arrow IPC file (Feather v2), streamed in record batches.
 * DuckDB's Node API cannot produce Arrow and its Arrow extension would be downloaded, so the
 * rows come out of DuckDB as values and apache-arrow lays them out and writes the file.
 */
import { open } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import {
  Bool,
  DateDay,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { checkStreamed, describe, sqlIdent } from './read-table.js';

/** Rows per record batch: large enough for columnar readers, small enough to stream. */
const BATCH_ROWS = 65_536;

/** A batch's text column ends early past this: Utf8 offsets are 32-bit. */
const MAX_BATCH_TEXT_BYTES = 1 << 30;

type Kind = 'int64' | 'float64' | 'bool' | 'timestamp' | 'timestamptz' | 'date' | 'utf8';

interface Column {
  name: string;
  kind: Kind;
  type: DataType;
  sql: string;
}

/** How a DuckDB column type travels: the Arrow type and the projection DuckDB hands it over in. */
function columnOf(name: string, duckType: string): Column {
  const id = sqlIdent(name);
  const as = (kind: Kind, type: DataType, sql: string): Column => ({ name, kind, type, sql: `${sql} AS ${id}` });
  // 64-bit unsigned and 128-bit integers do not fit Int64; a double keeps their magnitude.
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/.test(duckType)) return as('int64', new Int64(), `CAST(${id} AS BIGINT)`);
  if (/^(UBIGINT|HUGEINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(duckType)) return as('float64', new Float64(), `CAST(${id} AS DOUBLE)`);
  if (duckType === 'BOOLEAN') return as('bool', new Bool(), id);
  // DuckDB's own vectors already hold Arrow's layout: microseconds (UTC with a zone) and days
  // since the epoch; its ±infinity are the extreme values, as its own Arrow export writes them.
  if (duckType === 'TIMESTAMP WITH TIME ZONE') return as('timestamptz', new TimestampMicrosecond('UTC'), id);
  if (/^TIMESTAMP(_S|_MS|_NS)?$/.test(duckType)) return as('timestamp', new TimestampMicrosecond(), `CAST(${id} AS TIMESTAMP)`);
  if (duckType === 'DATE') return as('date', new DateDay(), id);
  return as('utf8', new Utf8(), `CAST(${id} AS VARCHAR)`);
}

/** DuckDB's result vectors hold at most this many rows. */
const VECTOR_ROWS = 2048;

/** Bytes per value in DuckDB's vector of each fixed-width kind (BOOLEAN is a byte a row there). */
const WIDTH: Record<Exclude<Kind, 'utf8'>, number> = { int64: 8, float64: 8, timestamp: 8, timestamptz: 8, date: 4, bool: 1 };

/**
 * One column of the record batch being filled. Fixed-width values are copied out of DuckDB's
 * vectors as bytes (its validity mask has Arrow's layout: a bit a row, least significant first,
 * 1 = present), text goes through JS strings.
 */
class ColumnBuffer {
  private data: Uint8Array;
  private valid: Uint8Array;
  private nulls = 0;
  private text = Buffer.alloc(0);
  textBytes = 0;
  private offsets = new Int32Array(0);

  constructor(private readonly column: Column) {
    const width = column.kind === 'utf8' ? 0 : WIDTH[column.kind];
    this.data = new Uint8Array((BATCH_ROWS + VECTOR_ROWS) * width);
    this.valid = new Uint8Array((BATCH_ROWS + VECTOR_ROWS + 7) >> 3);
    if (column.kind === 'utf8') {
      this.offsets = new Int32Array(BATCH_ROWS + VECTOR_ROWS + 1);
      this.text = Buffer.allocUnsafe(1 << 20);
    }
  }

  append(chunk: DuckDBDataChunk, c: number, at: number): void {
    const n = chunk.rowCount;
    if (this.column.kind === 'utf8') {
      const values = chunk.getColumnValues(c) as (string | null)[];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null) this.nulls++;
        else {
          this.valid[(at + i) >> 3] |= 1 << ((at + i) & 7);
          // A UTF-16 unit takes at most 3 bytes in UTF-8.
          if (this.textBytes + v.length * 3 > this.text.length) {
            const grown = Buffer.allocUnsafe(Math.max(this.text.length * 2, this.textBytes + v.length * 3));
            this.text.copy(grown, 0, 0, this.textBytes);
            this.text = grown;
          }
          this.textBytes += this.text.write(v, this.textBytes, 'utf8');
        }
        this.offsets[at + i + 1] = this.textBytes;
      }
      return;
    }
    const width = WIDTH[this.column.kind];
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
    this.data.set(duckdb.vector_get_data(vector, n * width), at * width);
    // No mask means every row is present.
    const mask = duckdb.vector_get_validity(vector, ((n + 63) >> 6) * 8);
    const masked = mask !== null && mask.length > 0;
    for (let i = 0; i < n; i++) {
      if (masked && ((mask[i >> 3] >> (i & 7)) & 1) === 0) this.nulls++;
      else this.valid[(at + i) >> 3] |= 1 << ((at + i) & 7);
    }
  }

  finish(length: number): Data {
    const { kind, type } = this.column;
    const nulls = { nullCount: this.nulls, nullBitmap: this.valid.slice(0, (length + 7) >> 3) };
    if (kind === 'utf8') {
      const text = this.text.subarray(0, this.textBytes);
      return makeData({ type: type as Utf8, length, data: new Uint8Array(text.buffer, text.byteOffset, text.length), valueOffsets: this.offsets.slice(0, length + 1), ...nulls });
    }
    const bytes = this.data.buffer.slice(0, length * WIDTH[kind]);
    switch (kind) {
      case 'float64':
        return makeData({ type: type as Float64, length, data: new Float64Array(bytes), ...nulls });
      case 'date':
        return makeData({ type: type as DateDay, length, data: new Int32Array(bytes), ...nulls });
      case 'bool': {
        const bits = new Uint8Array((length + 7) >> 3);
        const flags = new Uint8Array(bytes);
        for (let i = 0; i < length; i++) if (flags[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
        return makeData({ type: type as Bool, length, data: bits, ...nulls });
      }
      default:
        return makeData({ type: type as Int64, length, data: new BigInt64Array(bytes), ...nulls });
    }
  }
}

/**
 * Writes the rows of `sql` to `path` as an Arrow IPC file; returns how many rows it wrote.
 * `expected`, the rows the caller knows the query gives, lets a stream that failed part-way
 * (which DuckDB's Node client ends like a finished one) raise its error instead of ending short.
 */
export async function writeArrowFile(con: DuckDBConnection, sql: string, path: string, expected?: number): Promise<number> {
  const columns = (await describe(con, `(${sql})`)).map((c) => columnOf(c.name, c.type));
  const schema = new Schema(columns.map((c) => new Field(c.name, c.type, true)));
  const struct = new Struct(schema.fields);
  let rows = 0;
  async function* batches(): AsyncGenerator<RecordBatch> {
    const projected = `SELECT ${columns.map((c) => c.sql).join(', ')} FROM (${sql})`;
    const result = await con.stream(projected);
    let buffers = columns.map((c) => new ColumnBuffer(c));
    let length = 0;
    const flush = () => {
      const children = buffers.map((b) => b.finish(length));
      const batch = new RecordBatch(schema, makeData({ type: struct, length, nullCount: 0, children }));
      buffers = columns.map((c) => new ColumnBuffer(c));
      length = 0;
      return batch;
    };
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      buffers.forEach((b, c) => b.append(chunk, c, length));
      length += chunk.rowCount;
      rows += chunk.rowCount;
      if (length >= BATCH_ROWS || buffers.some((b) => b.textBytes > MAX_BATCH_TEXT_BYTES)) yield flush();
    }
    if (expected === undefined || rows < expected) await checkStreamed(con, projected, rows);
    if (length > 0 || rows === 0) yield flush();
  }
  // Opened first: a file that cannot be created fails the call before any work.
  const handle = await open(path, 'w');
  const writer = new RecordBatchFileWriter();
  // The writer queues each batch's bytes; this writes them while DuckDB reads the next rows.
  const pump = (async () => {
    for await (const bytes of writer) await handle.write(bytes);
  })();
  let failure: { err: unknown } | undefined;
  pump.catch((err: unknown) => (failure = { err }));
  try {
    for await (const batch of batches()) {
      if (failure) throw failure.err;
      writer.write(batch);
    }
    writer.finish().close();
    await pump;
  } catch (err) {
    writer.close();
    await pump.catch(() => undefined);
    throw err;
  } finally {
    await handle.close();
  }
  return rows;
}
