/** Batch columns as JSON values: what every protocol encoder shares. */
import { nest, type Column, type NumericArray } from '../../models/index.js';

/** IEEE half-precision bits to a number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** JSON has no NaN or Infinity; they travel as null, as Python's json with allow_nan=False would refuse and pandas writes. */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** All elements of a column as a flat list of JSON values (bigints as numbers, bool as true/false). */
export function flatValues(col: Column): unknown[] {
  const data = col.data;
  if (Array.isArray(data)) return data;
  const a = data as NumericArray;
  const out = new Array<unknown>(a.length);
  switch (col.dtype) {
    case 'bool':
      for (let i = 0; i < a.length; i++) out[i] = a[i] !== 0;
      break;
    case 'float16':
      for (let i = 0; i < a.length; i++) out[i] = finite(halfToNumber(a[i] as number));
      break;
    case 'int64':
    case 'uint64':
      for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
      break;
    case 'float32':
    case 'float64':
      for (let i = 0; i < a.length; i++) out[i] = finite(a[i] as number);
      break;
    default:
      for (let i = 0; i < a.length; i++) out[i] = a[i];
  }
  return out;
}

/** One JSON value per row: scalars, or nested lists following the column's row shape. */
export function rowValues(col: Column, rows: number): unknown[] {
  const flat = flatValues(col);
  if (col.shape.length === 0) return flat;
  const size = col.shape.reduce((a, d) => a * d, 1);
  const out = new Array<unknown>(rows);
  for (let r = 0; r < rows; r++) out[r] = nest(flat.slice(r * size, (r + 1) * size), col.shape);
  return out;
}
