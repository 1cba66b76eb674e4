/**
 * Many small values in one buffer: how rows travel from their encoder to the online store, so
 * a batch is one allocation and moves to a writer thread or into a Redis script whole.
 */
export interface PackedRows {
  blob: Buffer;
  /** Row i is `blob[bounds[2i], bounds[2i + 1])`; rows lie in order, each after the one before. */
  bounds: Uint32Array;
}

export const rowCount = (rows: PackedRows) => rows.bounds.length / 2;

export const rowAt = (rows: PackedRows, i: number): Buffer => rows.blob.subarray(rows.bounds[2 * i], rows.bounds[2 * i + 1]);

/** Separate values packed (a copy). */
export function packRows(values: readonly Uint8Array[]): PackedRows {
  return concatRows(values.map((v) => ({ blob: Buffer.from(v.buffer, v.byteOffset, v.byteLength), bounds: Uint32Array.of(0, v.byteLength) })));
}

/** Rows [from, to) with only their bytes, bounds counted from the first: a view, no copy. */
export function sliceRows(rows: PackedRows, from: number, to: number): PackedRows {
  if (to <= from) return { blob: Buffer.alloc(0), bounds: new Uint32Array(0) };
  const start = rows.bounds[2 * from];
  const bounds = rows.bounds.slice(2 * from, 2 * to);
  for (let k = 0; k < bounds.length; k++) bounds[k] -= start;
  return { blob: rows.blob.subarray(start, rows.bounds[2 * to - 1]), bounds };
}

/** Parts one after another, in one new buffer of their bytes alone (in shared memory if asked, for another thread to read). */
export function concatRows(parts: readonly PackedRows[], inSharedMemory = false): PackedRows {
  let n = 0;
  let bytes = 0;
  for (const p of parts) {
    n += rowCount(p);
    if (rowCount(p) > 0) bytes += p.bounds[p.bounds.length - 1] - p.bounds[0];
  }
  const blob = inSharedMemory ? Buffer.from(new SharedArrayBuffer(bytes)) : Buffer.allocUnsafeSlow(bytes);
  const bounds = new Uint32Array(2 * n);
  let at = 0;
  let k = 0;
  for (const p of parts) {
    if (rowCount(p) === 0) continue;
    const first = p.bounds[0];
    p.blob.copy(blob, at, first, p.bounds[p.bounds.length - 1]);
    for (let b = 0; b < p.bounds.length; b++) bounds[k++] = p.bounds[b] - first + at;
    at += p.bounds[p.bounds.length - 1] - first;
  }
  return { blob, bounds };
}

/** A rows buffer being filled: its memory (as bytes and as doubles, one view each) and its rows' bounds. */
export interface RowsArea {
  buf: Buffer;
  f64: Float64Array;
  bounds: Uint32Array;
  /** Byte offset of the first row appended, a multiple of 8. */
  at: number;
  /** Index in `bounds` of the first row appended's start. */
  boundsAt: number;
}

interface Memory {
  buf: Buffer;
  f64: Float64Array;
  bounds: Uint32Array;
  bytes: number;
  rows: number;
}

/**
 * Batch after batch of rows packed into two areas of shared memory used in turn: a store reads
 * a batch where it lies (a writer thread too, the memory being shared), so a stream of batches
 * allocates no fresh pages and copies no batch once its areas have grown to size. The area of a
 * batch taken is filled again after the next take: the write of a batch must have settled
 * before the batch after the next is begun.
 */
export class RowsBuilder {
  private readonly memories: [Memory, Memory];
  private current = 0;

  /** `bytesHint`: the bytes a batch is expected to take, so the areas need not grow to it. */
  constructor(bytesHint = 0) {
    this.memories = [memory(bytesHint, 0), memory(bytesHint, 0)];
  }

  get rows(): number {
    return this.memories[this.current].rows;
  }

  /** Makes room for `rows` more rows in `bytes` (a multiple of 8) and returns where they go, to be written at once. */
  append(rows: number, bytes: number): RowsArea {
    const m = this.memories[this.current];
    if (m.bytes + bytes > m.buf.length || 2 * (m.rows + rows) > m.bounds.length) {
      const grown = memory(Math.max(m.bytes + bytes, 2 * m.buf.length), Math.max(m.rows + rows, m.bounds.length));
      grown.buf.set(m.buf.subarray(0, m.bytes));
      grown.bounds.set(m.bounds.subarray(0, 2 * m.rows));
      grown.bytes = m.bytes;
      grown.rows = m.rows;
      this.memories[this.current] = grown;
      return this.append(rows, bytes);
    }
    const area = { buf: m.buf, f64: m.f64, bounds: m.bounds, at: m.bytes, boundsAt: 2 * m.rows };
    m.bytes += bytes;
    m.rows += rows;
    return area;
  }

  /** The rows appended since the last take, as views of the area, which the next batch does not touch. */
  take(): PackedRows {
    const m = this.memories[this.current];
    const rows = { blob: m.buf.subarray(0, m.bytes), bounds: m.bounds.subarray(0, 2 * m.rows) };
    this.current = 1 - this.current;
    const next = this.memories[this.current];
    next.bytes = 0;
    next.rows = 0;
    return rows;
  }
}

function memory(bytes: number, rows: number): Memory {
  const buf = Buffer.from(new SharedArrayBuffer((bytes + 7) & ~7));
  return { buf, f64: new Float64Array(buf.buffer, 0, buf.length / 8), bounds: new Uint32Array(new SharedArrayBuffer(8 * rows)), bytes: 0, rows: 0 };
}
