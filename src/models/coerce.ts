/**
 * Decoded JSON → Batch: records (`[{"a": 1, "b": "x"}, ...]`), column maps
 * (`{"a": [1, 2], "b": ["x", "y"]}`) and tensors (`[{name, shape, datatype, data}]`, data flat
 * or nested). Values of a column the signature names are converted to its dtype and shape;
 * the result is then checked with `conform`, so every problem is an InvalidArgument that names
 * the column and what was expected.
 */
import { invalidArgument } from '../core/errors.js';
import { allocate, Batch, column, isDType, rowSize, toFloat16Bits, toInteger, type IntegerDType, type Column, type DType, type NumericArray } from './batch.js';
import { conform, formatSpec, type ConformOptions, type Signature, type TensorSpec } from './signature.js';

export interface TensorInput {
  name: string;
  /** Full shape, batch dimension first. */
  shape: readonly number[];
  /** Our dtype name or an Open Inference Protocol datatype (FP32, INT64, BYTES, ...). */
  datatype?: string;
  data: unknown;
}

/** Open Inference Protocol (KServe V2) datatypes. */
export const V2_DATATYPES: Record<string, DType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

function specsByName(signature: Signature | undefined): Map<string, TensorSpec> {
  return new Map((signature?.inputs ?? []).map((s) => [s.name, s]));
}

function finish(batch: Batch, signature: Signature | undefined, options: ConformOptions): Batch {
  return signature && signature.inputs.length > 0 ? conform(batch, signature.inputs, options) : batch;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Flattens one row's value into `out`, checking it has the given per-row shape (-1: any). */
function flattenInto(value: unknown, shape: readonly number[], out: unknown[], seen: number[], depth = 0): boolean {
  if (depth === shape.length) {
    if (Array.isArray(value)) return false;
    out.push(value);
    return true;
  }
  if (!Array.isArray(value)) return false;
  const want = shape[depth] >= 0 ? shape[depth] : seen[depth] ?? value.length;
  if (value.length !== want) return false;
  seen[depth] = want;
  return value.every((v) => flattenInto(v, shape, out, seen, depth + 1));
}

/** Shape of a nested array value (first element at each level). */
function inferShape(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function inferDType(values: readonly unknown[], name: string): DType {
  let dtype: DType | undefined;
  for (const v of values) {
    const t: DType | undefined =
      typeof v === 'number' || v === null || v === undefined ? 'float64' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : typeof v === 'bigint' ? 'int64' : undefined;
    if (!t) throw invalidArgument(`column "${name}": unsupported value ${kindOf(v)}`);
    if (v === null || v === undefined) continue;
    if (dtype && dtype !== t) throw invalidArgument(`column "${name}": mixes ${dtype} and ${t} values`);
    dtype = t;
  }
  return dtype ?? 'float64';
}

/** Converts flat JS values to an array of `dtype`, naming the column and element on failure. */
export function fromValues(name: string, dtype: DType, values: readonly unknown[]): Column['data'] {
  const out = allocate(dtype, values.length);
  const bad = (i: number, why = ''): never => {
    throw invalidArgument(`column "${name}": expected ${dtype}, got ${kindOf(values[i])}${why} at element ${i}`);
  };
  if (dtype === 'string') {
    const arr = out as string[];
    values.forEach((v, i) => (typeof v === 'string' ? (arr[i] = v) : bad(i)));
    return arr;
  }
  const arr = out as NumericArray;
  const isFloat = dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
  const store = dtype === 'float16' ? (i: number, v: number) => (arr[i] = toFloat16Bits(v)) : (i: number, v: number) => (arr[i] = v);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isFloat) {
      if (typeof v === 'number') store(i, v);
      else if (v === null || v === undefined || v === 'NaN') store(i, NaN);
      else if (typeof v === 'bigint') store(i, Number(v));
      else bad(i);
    } else if (dtype === 'bool') {
      if (typeof v === 'boolean') arr[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) arr[i] = v;
      else bad(i);
    } else {
      // Integers past 2^53 arrive as digit strings from JSON parsers that keep them exact.
      const raw = typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : v;
      if (typeof raw !== 'number' && typeof raw !== 'bigint') bad(i);
      const int = toInteger(dtype as IntegerDType, raw as number | bigint);
      if (int === undefined) bad(i, Number.isInteger(Number(raw)) ? ' (out of range)' : '');
      arr[i] = int as never;
    }
  }
  return arr;
}

/** Builds one column from one value per row, typed by `spec` when the signature names it. */
function columnFromRows(name: string, rows: readonly unknown[], spec: TensorSpec | undefined): Column {
  const shape = spec ? spec.shape : inferShape(rows.find((r) => r !== null && r !== undefined));
  const flat: unknown[] = [];
  const seen: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    if (!flattenInto(rows[r], shape, flat, seen)) {
      const expected = spec ? formatSpec(spec) : `rows of shape [${shape.join(', ')}]`;
      throw invalidArgument(`column "${name}": expected ${expected}, got ${kindOf(rows[r])} in row ${r}`);
    }
  }
  const resolved = shape.map((d, i) => (d >= 0 ? d : seen[i] ?? 0));
  const dtype = spec?.dtype ?? inferDType(flat, name);
  return { dtype, shape: resolved, data: fromValues(name, dtype, flat) };
}

/** `[{"a": 1, "b": "x"}, ...]`: a missing key in a record is a missing value (NaN for floats). */
export function fromRecords(records: readonly unknown[], signature?: Signature, options: ConformOptions = {}): Batch {
  const specs = specsByName(signature);
  const names: string[] = [];
  const seen = new Set<string>();
  records.forEach((rec, i) => {
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw invalidArgument(`record ${i}: expected an object, got ${kindOf(rec)}`);
    for (const key of Object.keys(rec)) {
      if (!seen.has(key)) {
        seen.add(key);
        names.push(key);
      }
    }
  });
  const dropExtra = options.extraColumns === 'ignore' && specs.size > 0;
  const columns: [string, Column][] = [];
  for (const name of names) {
    if (dropExtra && !specs.has(name)) continue;
    const values = records.map((rec) => (rec as Record<string, unknown>)[name] ?? null);
    columns.push([name, columnFromRows(name, values, specs.get(name))]);
  }
  return finish(Batch.from(columns, records.length), signature, options);
}

/**
 * `{"a": [1, 2], "b": ["x", "y"]}`: one array of row values per column. A Map keeps its order,
 * where an object puts integer-like names first.
 */
export function fromColumns(columns: Record<string, unknown> | ReadonlyMap<string, unknown>, signature?: Signature, options: ConformOptions = {}): Batch {
  const specs = specsByName(signature);
  const dropExtra = options.extraColumns === 'ignore' && specs.size > 0;
  const out: [string, Column][] = [];
  let rows: number | undefined;
  for (const [name, values] of columns instanceof Map ? columns : Object.entries(columns)) {
    if (dropExtra && !specs.has(name)) continue;
    if (!Array.isArray(values)) throw invalidArgument(`column "${name}": expected an array of values, got ${kindOf(values)}`);
    if (rows !== undefined && values.length !== rows) throw invalidArgument(`column "${name}": has ${values.length} rows, expected ${rows}`);
    rows = values.length;
    out.push([name, columnFromRows(name, values, specs.get(name))]);
  }
  return finish(Batch.from(out, rows ?? 0), signature, options);
}

function specNamed(signature: Signature | undefined, name: string): TensorSpec | undefined {
  for (const s of signature?.inputs ?? []) if (s.name === name) return s;
  return undefined;
}

function isShape(shape: unknown): shape is readonly number[] {
  if (!Array.isArray(shape) || shape.length === 0) return false;
  for (const d of shape) if (!Number.isInteger(d) || d < 0) return false;
  return true;
}

/**
 * Flat JSON numbers for a float column, the shape of nearly every request: straight into the
 * typed array. Undefined sends anything else (nested data, null, strings, integer dtypes) the
 * general way, which words every error.
 */
function flatFloats(dtype: DType, data: readonly unknown[]): Float32Array | Float64Array | undefined {
  if (dtype !== 'float32' && dtype !== 'float64') return undefined;
  const out = dtype === 'float32' ? new Float32Array(data.length) : new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number') return undefined;
    out[i] = v;
  }
  return out;
}

/** Tensors with a full shape (batch dimension first), data flat or nested, row-major. */
export function fromTensors(tensors: readonly TensorInput[], signature?: Signature, options: ConformOptions = {}): Batch {
  const declared = signature !== undefined && signature.inputs.length > 0;
  const out: [string, Column][] = [];
  for (const t of tensors) {
    if (!t || typeof t.name !== 'string') throw invalidArgument('tensor: expected {name, shape, data}');
    const spec = specNamed(signature, t.name);
    if (options.extraColumns === 'ignore' && declared && !spec) continue;
    const shape = t.shape;
    if (!isShape(shape)) {
      throw invalidArgument(`tensor "${t.name}": shape must be a non-empty list of non-negative integers (batch dimension first)`);
    }
    const named = t.datatype === undefined ? undefined : (V2_DATATYPES[t.datatype.toUpperCase()] ?? (isDType(t.datatype) ? t.datatype : undefined));
    if (t.datatype !== undefined && !named) throw invalidArgument(`tensor "${t.name}": unknown datatype "${t.datatype}"`);
    const known = named ?? spec?.dtype;
    const count = rowSize(shape);
    if (ArrayBuffer.isView(t.data)) {
      // Typed data (a binary tensor, or floats read straight from the JSON) is already in its datatype's array.
      const typed = t.data as unknown as NumericArray;
      if (typed.length !== count) throw invalidArgument(`tensor "${t.name}": shape [${shape.join(', ')}] needs ${count} elements, data has ${typed.length}`);
      if (!named) throw invalidArgument(`tensor "${t.name}": typed data needs a datatype`);
      out.push([t.name, column(named, typed, shape.slice(1))]);
      continue;
    }
    const direct = known && Array.isArray(t.data) && t.data.length === count ? flatFloats(known, t.data) : undefined;
    if (direct) {
      out.push([t.name, { dtype: known!, shape: shape.slice(1), data: direct }]);
      continue;
    }
    const flat = Array.isArray(t.data) ? (t.data as unknown[]).flat(Infinity) : undefined;
    if (!flat) throw invalidArgument(`tensor "${t.name}": data must be an array`);
    if (flat.length !== count) {
      throw invalidArgument(`tensor "${t.name}": shape [${shape.join(', ')}] needs ${count} elements, data has ${flat.length}`);
    }
    const dtype = known ?? inferDType(flat, t.name);
    out.push([t.name, { dtype, shape: shape.slice(1), data: fromValues(t.name, dtype, flat) }]);
  }
  const rows = tensors.length > 0 ? tensors[0].shape[0] : 0;
  // Loops, not find with a closure: this runs for every inference request.
  for (let i = 0; i < out.length; i++) {
    const name = out[i][0];
    let j = 0;
    while (tensors[j].name !== name) j++;
    const t = tensors[j];
    if (t.shape[0] !== rows) throw invalidArgument(`tensor "${name}": batch dimension ${t.shape[0]} differs from ${rows}`);
  }
  return finish(Batch.from(out, rows), signature, options);
}

/**
 * Any of the above, told apart by form: a Batch (checked), an array of objects (records), an
 * array of tensors ({name, shape, data}), an array of rows for a single-input model
 * (`[[...], [...]]`, MLflow "instances"), or an object of columns.
 */
export function toBatch(input: unknown, signature?: Signature, options: ConformOptions = {}): Batch {
  if (input instanceof Batch) return finish(input, signature, options);
  if (Array.isArray(input)) {
    const first = input.find((x) => x !== null && x !== undefined);
    if (first && typeof first === 'object' && !Array.isArray(first)) {
      const f = first as Record<string, unknown>;
      if (typeof f.name === 'string' && Array.isArray(f.shape) && 'data' in f) return fromTensors(input as TensorInput[], signature, options);
      return fromRecords(input, signature, options);
    }
    const inputs = signature?.inputs ?? [];
    if (inputs.length === 1) return fromColumns({ [inputs[0].name]: input }, signature, options);
    if (inputs.length > 1 && input.every((row) => Array.isArray(row) && row.length === inputs.length)) {
      const records = (input as unknown[][]).map((row) => Object.fromEntries(inputs.map((s, i) => [s.name, row[i]])));
      return fromRecords(records, signature, options);
    }
    throw invalidArgument(
      inputs.length === 0
        ? 'a list of rows needs a model signature to name its columns; send records or named columns instead'
        : `expected rows of ${inputs.length} values (${inputs.map((s) => s.name).join(', ')})`,
    );
  }
  if (input && typeof input === 'object') return fromColumns(input as Record<string, unknown>, signature, options);
  throw invalidArgument(`expected records, columns or tensors, got ${kindOf(input)}`);
}
