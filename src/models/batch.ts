/**
 * The canonical in-memory form of a prediction request or response: named, typed columns of
 * equal row count. Every protocol decodes into a Batch, every runtime consumes and produces one,
 * monitoring taps it. Columns hold flat typed arrays; a column whose rows are vectors or tensors
 * has a per-row `shape` and stores its rows back to back (row-major), so slicing rows is a
 * zero-copy `subarray` and concatenation is one `set` per column.
 */
import { invalidArgument } from '../core/errors.js';

export type NumericDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';
export type DType = NumericDType | 'string';

/** The array each dtype is stored in. float16 keeps raw IEEE half bits; bool is 0/1 bytes. */
export interface ArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
}
export type ColumnData = ArrayOf[DType];
export type NumericArray = ArrayOf[NumericDType];

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const;

export const DTYPES: readonly DType[] = [...(Object.keys(CONSTRUCTORS) as NumericDType[]), 'string'];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function isFloatDType(dtype: DType): dtype is 'float32' | 'float64' | 'float16' {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

const INTEGER_RANGE = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
} as const;
const BIGINT_RANGE = { int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n] } as const;

export type IntegerDType = keyof typeof INTEGER_RANGE | keyof typeof BIGINT_RANGE;

/** `value` as an element of an integer dtype, or undefined when it is not integral or out of range. */
export function toInteger(dtype: IntegerDType, value: number | bigint): number | bigint | undefined {
  if (dtype === 'int64' || dtype === 'uint64') {
    if (typeof value === 'number' && !Number.isInteger(value)) return undefined;
    const big = typeof value === 'bigint' ? value : BigInt(value);
    const [lo, hi] = BIGINT_RANGE[dtype];
    return big >= lo && big <= hi ? big : undefined;
  }
  const n = typeof value === 'bigint' ? Number(value) : value;
  const [lo, hi] = INTEGER_RANGE[dtype];
  return Number.isInteger(n) && n >= lo && n <= hi && (typeof value === 'number' || BigInt(n) === value) ? n : undefined;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `value` (rounded to nearest, ties to even, via float32). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A zero-filled array (empty strings for `string`) of `length` elements. */
export function allocate<D extends DType>(dtype: D, length: number): ArrayOf[D] {
  if (dtype === 'string') return new Array<string>(length).fill('') as ArrayOf[D];
  return new CONSTRUCTORS[dtype as NumericDType](length) as ArrayOf[D];
}

/**
 * Small arrays made for every request (a decoded input, a batch of a few, a model call's
 * outputs) are views into shared slabs, as Node's Buffer pool does for small Buffers: an array
 * of more than 64 bytes otherwise gets a backing store of its own, whose allocation and whose
 * sweep by the collector cost about half a microsecond each, several times per request
 * (measured). A view keeps its slab alive: whatever keeps arrays past the request or hands them
 * to another thread (a structured clone copies the whole slab) takes `compact`'s copy.
 */
const SLAB_BYTES = 8 * 1024;
const POOLED_MAX_BYTES = 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** A zero-filled array, as `allocate`; one of at most POOLED_MAX_BYTES is a view into a shared slab. */
export function allocatePooled<D extends DType>(dtype: D, length: number): ArrayOf[D] {
  if (dtype === 'string') return allocate(dtype, length);
  const Typed = CONSTRUCTORS[dtype as NumericDType];
  const bytes = length * Typed.BYTES_PER_ELEMENT;
  if (bytes > POOLED_MAX_BYTES) return new Typed(length) as ArrayOf[D];
  // 8-byte aligned, as a 64-bit view needs; each slice of a fresh slab is handed out once, so it is zeros.
  let at = (slabUsed + 7) & ~7;
  if (at + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    at = 0;
  }
  slabUsed = at + bytes;
  return new Typed(slab, at, length) as ArrayOf[D];
}

/** Elements per row for a per-row shape; [] (a scalar) is 1. */
export function rowSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export interface Column<D extends DType = DType> {
  readonly dtype: D;
  /** Shape of one row: [] for a scalar, [k] for a vector, [h, w] for a matrix... */
  readonly shape: readonly number[];
  /** rows × rowSize(shape) elements, row-major. */
  readonly data: ArrayOf[D];
}

/** Builds a column, checking that the data matches the dtype and holds whole rows. */
export function column<D extends DType>(dtype: D, data: ArrayOf[D], shape: readonly number[] = []): Column<D> {
  const expected = dtype === 'string' ? Array : CONSTRUCTORS[dtype as NumericDType];
  if (!(data instanceof expected)) {
    throw invalidArgument(`column of dtype ${dtype}: expected a ${expected.name}, got ${describe(data)}`);
  }
  let whole = true;
  for (let i = 0; i < shape.length; i++) whole &&= Number.isInteger(shape[i]) && shape[i] >= 0;
  if (!whole) {
    throw invalidArgument(`column of dtype ${dtype}: shape [${shape.join(', ')}] must be non-negative integers`);
  }
  const size = rowSize(shape);
  if (size === 0 ? data.length !== 0 : data.length % size !== 0) {
    throw invalidArgument(`column of dtype ${dtype}: ${data.length} elements do not form rows of shape [${shape.join(', ')}]`);
  }
  return { dtype, shape: [...shape], data };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return (value as object).constructor?.name ?? typeof value;
}

function columnRows(col: Column): number {
  const size = rowSize(col.shape);
  return size === 0 ? 0 : col.data.length / size;
}

export class Batch {
  /** Columns in their order of insertion (a Map so that names like "0" keep their place). */
  readonly columns: ReadonlyMap<string, Column>;

  private constructor(
    readonly rows: number,
    columns: Map<string, Column>,
  ) {
    this.columns = columns;
  }

  /**
   * Builds a batch from named columns. `rows` is required only when every column has a
   * zero-size row shape (it cannot be inferred then) or there are no columns.
   */
  static from(columns: Iterable<readonly [string, Column]> | Record<string, Column>, rows?: number): Batch {
    // An array of entries is read as it is; other iterables (a Map) are copied first.
    const entries = Array.isArray(columns) ? (columns as readonly (readonly [string, Column])[]) : Symbol.iterator in columns ? [...(columns as Iterable<readonly [string, Column]>)] : Object.entries(columns);
    const map = new Map<string, Column>();
    let n = rows;
    for (const [name, col] of entries) {
      if (map.has(name)) throw invalidArgument(`column "${name}" appears twice`);
      if (rowSize(col.shape) > 0) {
        const r = columnRows(col);
        if (n === undefined) n = r;
        else if (r !== n) throw invalidArgument(`column "${name}": has ${r} rows, expected ${n}`);
      }
      map.set(name, col);
    }
    return new Batch(n ?? 0, map);
  }

  static empty(rows = 0): Batch {
    return new Batch(rows, new Map());
  }

  get names(): string[] {
    return [...this.columns.keys()];
  }

  has(name: string): boolean {
    return this.columns.has(name);
  }

  /** The named column, or an InvalidArgument naming it. */
  column(name: string): Column {
    const col = this.columns.get(name);
    if (!col) throw invalidArgument(`column "${name}" is missing (batch has ${this.names.map((n) => `"${n}"`).join(', ') || 'no columns'})`);
    return col;
  }

  /** A new batch with `name` added or replaced. */
  with(name: string, col: Column): Batch {
    const map = new Map(this.columns);
    map.set(name, col);
    return Batch.from(map, this.columns.size > 0 || this.rows > 0 ? this.rows : undefined);
  }

  /** A new batch with only the named columns, in that order. */
  select(names: readonly string[]): Batch {
    return new Batch(this.rows, new Map(names.map((n) => [n, this.column(n)] as const)));
  }

  /** Rows [start, end) without copying numeric data (typed-array views share memory). */
  slice(start: number, end = this.rows): Batch {
    const s = Math.max(0, Math.min(start, this.rows));
    const e = Math.max(s, Math.min(end, this.rows));
    const map = new Map<string, Column>();
    for (const [name, col] of this.columns) {
      const size = rowSize(col.shape);
      const data = Array.isArray(col.data)
        ? col.data.slice(s * size, e * size)
        : (col.data as NumericArray).subarray(s * size, e * size);
      map.set(name, { dtype: col.dtype, shape: col.shape, data });
    }
    return new Batch(e - s, map);
  }

  /** Row-wise concatenation; every batch must have the same column names, dtypes and shapes. */
  static concat(all: readonly Batch[]): Batch {
    // Batch.empty() is the neutral element, so callers can start a fold from it.
    const batches = all.filter((b) => b.rows > 0 || b.columns.size > 0);
    if (batches.length === 0) return Batch.empty();
    if (batches.length === 1) return batches[0];
    const first = batches[0];
    const rows = batches.reduce((n, b) => n + b.rows, 0);
    for (const b of batches) {
      if (b.columns.size !== first.columns.size) {
        throw invalidArgument(`cannot concatenate batches with columns [${first.names.join(', ')}] and [${b.names.join(', ')}]`);
      }
    }
    const map = new Map<string, Column>();
    for (const [name, col] of first.columns) {
      const size = rowSize(col.shape);
      const out = allocatePooled(col.dtype, rows * size);
      let offset = 0;
      for (const b of batches) {
        const other = b.columns.get(name);
        if (!other || other.dtype !== col.dtype || !sameShape(other.shape, col.shape)) {
          throw invalidArgument(
            `column "${name}": cannot concatenate ${other ? `${other.dtype}[${other.shape.join(', ')}]` : 'a missing column'} with ${col.dtype}[${col.shape.join(', ')}]`,
          );
        }
        if (Array.isArray(out)) {
          const src = other.data as string[];
          for (let i = 0; i < src.length; i++) out[offset + i] = src[i];
        } else {
          (out as Float64Array).set(other.data as Float64Array, offset);
        }
        offset += other.data.length;
      }
      map.set(name, { dtype: col.dtype, shape: col.shape, data: out });
    }
    return new Batch(rows, map);
  }

  /** One row as a plain object: scalars as numbers/bigints/strings, vectors as nested arrays. */
  row(index: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, col] of this.columns) out[name] = cellValue(col, index);
    return out;
  }
}

/** Whether a column's data is all of its buffer (strings have none). */
function ownsBuffer(data: ColumnData): boolean {
  return Array.isArray(data) || (data as NumericArray).byteLength === (data as NumericArray).buffer.byteLength;
}

/**
 * `batch` with every numeric column that views part of a larger buffer (a pooled array, a slice
 * of a batch's answer, binary data in a body) copied into a buffer of its own: for keeping, or
 * for another thread.
 */
export function compact(batch: Batch): Batch {
  let whole = true;
  for (const col of batch.columns.values()) whole &&= ownsBuffer(col.data);
  if (whole) return batch;
  return Batch.from(
    [...batch.columns].map(([name, col]) => [name, ownsBuffer(col.data) ? col : { ...col, data: (col.data as NumericArray).slice() }] as const),
    batch.rows,
  );
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Row `index` of a column as a JS value: a scalar, or nested arrays following its shape
 * (float16 bits decoded to numbers).
 */
export function cellValue(col: Column, index: number): unknown {
  const size = rowSize(col.shape);
  const flat: unknown[] = Array.isArray(col.data)
    ? col.data.slice(index * size, (index + 1) * size)
    : Array.from((col.data as NumericArray).subarray(index * size, (index + 1) * size) as ArrayLike<number | bigint>);
  if (col.dtype === 'float16') flat.forEach((bits, i) => (flat[i] = fromFloat16Bits(bits as number)));
  if (col.shape.length === 0) return flat[0];
  return nest(flat, col.shape);
}

/** Reshapes a flat row-major list into nested arrays of the given shape. */
export function nest<T>(flat: readonly T[], shape: readonly number[]): unknown[] {
  if (shape.length <= 1) return [...flat];
  const inner = rowSize(shape.slice(1));
  const out: unknown[] = [];
  for (let i = 0; i < shape[0]; i++) out.push(nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
  return out;
}
