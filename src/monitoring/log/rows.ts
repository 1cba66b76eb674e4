/** Batch rows as JSON objects, for the log's text columns. */
import { cellValue, type Batch } from '../../models/batch.js';

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') {
    // Beyond 2^53 a number would silently change the value; the exact digits are kept as text.
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (Array.isArray(value)) return value.map(jsonSafe);
  return value;
}

/** Row `index` of a batch as a plain object (bigints as numbers or, past 2^53, as text). */
export function rowObject(batch: Batch, index: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, col] of batch.columns) {
    if (col.shape.length === 0 && col.dtype !== 'float16') {
      const v = (col.data as ArrayLike<unknown>)[index];
      out[name] = typeof v === 'bigint' ? jsonSafe(v) : v;
    } else {
      out[name] = jsonSafe(cellValue(col, index));
    }
  }
  return out;
}
