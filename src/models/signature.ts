/**
 * A model's signature: the columns it takes and returns, each with a dtype and a per-row shape.
 * `conform` checks a Batch against the inputs and casts what can be cast without surprise, so a
 * runtime receives exactly the columns, dtypes and shapes it declared.
 */
import { invalidArgument } from '../core/errors.js';
import {
  allocate,
  Batch,
  fromFloat16Bits,
  toFloat16Bits,
  toInteger,
  type IntegerDType,
  isFloatDType,
  rowSize,
  type ArrayOf,
  type Column,
  type DType,
  type NumericArray,
  DTYPES,
  isDType,
} from './batch.js';

export interface TensorSpec {
  name: string;
  dtype: DType;
  /** Shape of one row; -1 marks a dimension of any size. [] is a scalar per row. */
  shape: readonly number[];
  /**
   * Personal data: the prediction log and every other prediction tap see the column keyed-hashed
   * (`hash`, a string column of HMAC-SHA256 hex, so equal values still group) or not at all
   * (`drop`). The model itself sees the value as sent.
   */
  pii?: 'hash' | 'drop';
}

export interface Signature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

export interface ConformOptions {
  /** What to do with columns the signature does not name: fail (default) or drop them. */
  extraColumns?: 'error' | 'ignore';
}

/**
 * A signature given by a model's author (a js model's export): checked field by field, so a
 * typo is reported by name when the model loads instead of failing later inside a request.
 */
export function checkSignature(value: unknown, where: string): Signature {
  const fail = (field: string, problem: string) => invalidArgument(`${where}: signature.${field} ${problem}`, { field: `signature.${field}` });
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`${where}: signature must be an object {inputs, outputs}`, { field: 'signature' });
  }
  const sig = value as Record<string, unknown>;
  const specs = (key: 'inputs' | 'outputs'): TensorSpec[] => {
    const list = sig[key] ?? [];
    if (!Array.isArray(list)) throw fail(key, 'must be a list of {name, dtype, shape}');
    return list.map((raw: unknown, i) => {
      const at = `${key}[${i}]`;
      if (!raw || typeof raw !== 'object') throw fail(at, 'must be an object {name, dtype, shape}');
      const spec = raw as Record<string, unknown>;
      if (typeof spec.name !== 'string' || spec.name === '') throw fail(`${at}.name`, 'is required (a non-empty string)');
      if (!isDType(spec.dtype)) {
        const hint = 'type' in spec ? ` (found "type": write "dtype")` : '';
        throw fail(`${at}.dtype`, `must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(spec.dtype)}${hint}`);
      }
      const shape = spec.shape ?? [];
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)) {
        throw fail(`${at}.shape`, `must be a list of whole numbers (-1 for any size), got ${JSON.stringify(spec.shape)}`);
      }
      if (spec.pii !== undefined && spec.pii !== 'hash' && spec.pii !== 'drop') throw fail(`${at}.pii`, `must be "hash" or "drop", got ${JSON.stringify(spec.pii)}`);
      return { name: spec.name, dtype: spec.dtype, shape, ...(spec.pii ? { pii: spec.pii } : {}) };
    });
  };
  return { inputs: specs('inputs'), outputs: specs('outputs') };
}

export function formatSpec(spec: { dtype: DType; shape: readonly number[] }): string {
  return spec.shape.length === 0 ? spec.dtype : `${spec.dtype}[${spec.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
}

function shapeMatches(actual: readonly number[], expected: readonly number[]): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (expected[i] >= 0 && expected[i] !== actual[i]) return false;
  return true;
}

/** Exactly the inputs, in order, of their dtypes and shapes: what a decoder that read the signature built. */
function conformsAlready(batch: Batch, inputs: readonly TensorSpec[]): boolean {
  if (batch.columns.size !== inputs.length) return false;
  let i = 0;
  for (const [name, col] of batch.columns) {
    const spec = inputs[i++];
    if (name !== spec.name || col.dtype !== spec.dtype || !shapeMatches(col.shape, spec.shape)) return false;
  }
  return true;
}

/**
 * Checks `batch` against `inputs`: every input present, no unknown column (unless ignored),
 * shapes compatible, dtypes castable. Returns a batch with exactly the inputs, in order.
 */
export function conform(batch: Batch, inputs: readonly TensorSpec[], options: ConformOptions = {}): Batch {
  if (conformsAlready(batch, inputs)) return batch;
  const reshaped = stackScalarColumns(batch, inputs) ?? unstackVector(batch, inputs);
  if (reshaped) return conform(reshaped, inputs, options);
  if (options.extraColumns !== 'ignore') {
    const known = new Set(inputs.map((s) => s.name));
    const extra = batch.names.filter((n) => !known.has(n));
    if (extra.length > 0) {
      throw invalidArgument(
        `column${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')} not in the model signature (expected ${inputs.map((s) => `"${s.name}"`).join(', ')})`,
      );
    }
  }
  const columns: [string, Column][] = [];
  for (const spec of inputs) {
    const col = batch.columns.get(spec.name);
    if (!col) throw invalidArgument(`column "${spec.name}" is missing: expected ${formatSpec(spec)}`);
    columns.push([spec.name, conformColumn(spec, col)]);
  }
  return Batch.from(columns, batch.rows);
}

function conformColumn(spec: TensorSpec, col: Column): Column {
  let shape = col.shape;
  if (!shapeMatches(shape, spec.shape)) {
    // A scalar per row and a one-element vector per row hold the same data.
    const oneElement = rowSize(shape) === 1 && rowSize(spec.shape.map((d) => (d < 0 ? 1 : d))) === 1;
    if (!oneElement || spec.shape.some((d) => d > 1)) {
      throw invalidArgument(`column "${spec.name}": expected ${formatSpec(spec)}, got ${formatSpec(col)}`);
    }
    shape = spec.shape.map(() => 1);
  }
  return { dtype: spec.dtype, shape, data: castData(spec.name, col, spec.dtype) };
}

/** Converts column data to `dtype`, refusing casts that would silently change values. */
export function castData<D extends DType>(name: string, col: Column, dtype: D): ArrayOf[D] {
  if (col.dtype === dtype) return col.data as ArrayOf[D];
  const fail = (why: string): never => {
    throw invalidArgument(`column "${name}": expected ${dtype}, got ${col.dtype}${why ? ` (${why})` : ''}`);
  };
  if (col.dtype === 'string' || dtype === 'string') return fail('');
  const raw = col.data as NumericArray;
  const src = col.dtype === 'float16' ? Float64Array.from(raw as Uint16Array, fromFloat16Bits) : raw;
  const out = allocate(dtype, src.length) as NumericArray;
  if (dtype === 'float16') {
    for (let i = 0; i < src.length; i++) out[i] = toFloat16Bits(Number(src[i]));
    return out as ArrayOf[D];
  }
  if (isFloatDType(dtype)) {
    const dst = out as Float64Array;
    for (let i = 0; i < src.length; i++) dst[i] = Number(src[i]);
    return out as ArrayOf[D];
  }
  const integral = !isFloatDType(col.dtype);
  if (dtype === 'bool') {
    for (let i = 0; i < src.length; i++) {
      const v = Number(src[i]);
      if (v !== 0 && v !== 1) fail(`value ${v} at element ${i} is not 0 or 1`);
      out[i] = v;
    }
    return out as ArrayOf[D];
  }
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const int = toInteger(dtype as IntegerDType, v);
    if (int === undefined) fail(`value ${v} at element ${i} is ${integral || Number.isInteger(v) ? 'out of range' : 'not an integer'}`);
    out[i] = int as never;
  }
  return out as ArrayOf[D];
}

/**
 * A model with one vector input (e.g. ONNX `input: float32[N, 30]`) fed a table of scalar
 * numeric columns (dataframe_split / records): the columns, in batch order, become the vector.
 */
function stackScalarColumns(batch: Batch, inputs: readonly TensorSpec[]): Batch | undefined {
  if (inputs.length !== 1) return undefined;
  const spec = inputs[0];
  if (spec.shape.length !== 1 || spec.dtype === 'string' || batch.has(spec.name)) return undefined;
  const cols = [...batch.columns.values()];
  const width = spec.shape[0];
  if (cols.length < 2 || (width >= 0 && cols.length !== width)) return undefined;
  if (cols.some((c) => c.shape.length !== 0 || c.dtype === 'string')) return undefined;
  const n = batch.rows;
  const k = cols.length;
  const out = allocate(spec.dtype, n * k) as NumericArray;
  batch.names.forEach((name, j) => {
    const data = castData(name, batch.column(name), spec.dtype) as NumericArray;
    for (let r = 0; r < n; r++) out[r * k + j] = data[r];
  });
  return Batch.from([[spec.name, { dtype: spec.dtype, shape: [k], data: out } as Column]], n);
}

/**
 * The reverse: a model with k scalar inputs (XGBoost features, MLflow column signatures) fed one
 * vector column of width k (a tensor) gets one column per input, in signature order.
 */
function unstackVector(batch: Batch, inputs: readonly TensorSpec[]): Batch | undefined {
  if (inputs.length < 2 || batch.columns.size !== 1 || inputs.some((s) => s.shape.length !== 0 || s.dtype === 'string')) return undefined;
  const [name, col] = [...batch.columns][0];
  if (inputs.some((s) => s.name === name) || col.shape.length !== 1 || col.shape[0] !== inputs.length || col.dtype === 'string') return undefined;
  const k = inputs.length;
  const n = batch.rows;
  const src = col.data as NumericArray;
  return Batch.from(
    inputs.map((spec, j) => {
      const out = allocate(col.dtype, n) as NumericArray;
      for (let r = 0; r < n; r++) out[r] = src[r * k + j];
      return [spec.name, { dtype: col.dtype, shape: [], data: out } as Column] as const;
    }),
    n,
  );
}

/** `inputs` with the PII markings of `marks` (by input name) applied. */
export function markPii(inputs: readonly TensorSpec[], marks: ReadonlyMap<string, 'hash' | 'drop'> | undefined): TensorSpec[] {
  return inputs.map((s) => (marks?.has(s.name) ? { ...s, pii: marks.get(s.name) } : s));
}
