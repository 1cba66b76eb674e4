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

/** Parts one after another, in one new buffer of their bytes alone. */
export function concatRows(parts: readonly PackedRows[]): PackedRows {
  let n = 0;
  let bytes = 0;
  for (const p of parts) {
    n += rowCount(p);
    if (rowCount(p) > 0) bytes += p.bounds[p.bounds.length - 1] - p.bounds[0];
  }
  const blob = Buffer.allocUnsafeSlow(bytes);
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
