/**
 * How a table's columns feed a model: checked against the signature before any row is read, so
 * a job that cannot succeed fails at once, naming every missing, extra and mistyped column.
 * A model of named scalar inputs (tree models, MLflow column signatures) takes its columns by
 * name; a model of one vector input (ONNX `input: float32[N, 30]`) takes the table's feature
 * columns, in file order, as that vector.
 */
import { invalidArgument } from '../../core/errors.js';
import { NUMERIC_TYPE, sqlIdent } from '../../data/read-table.js';
import { allocate, Batch, conform, formatSpec, type Column, type NumericArray, type Signature, type TensorSpec } from '../../models/index.js';
import type { KeptText } from './kept-text.js';

export interface FileColumn {
  name: string;
  /** DuckDB's type name (DOUBLE, BIGINT, VARCHAR, ...). */
  type: string;
}

/** A passthrough column: copied from input to output unchanged. */
export interface KeptColumn {
  name: string;
  type: string;
  /** Written bare in JSON (numbers, booleans) rather than as a string. */
  bare: boolean;
}

export interface Plan {
  /** Expressions to SELECT, in order: the features, then the kept columns. */
  select: string[];
  /** How many of `select` are features (one when they are read as a matrix). */
  features: number;
  /** How each selected column is read: numbers into a typed array (NULL as NaN), or values as they come. */
  reading: Reading[];
  kept: KeptColumn[];
  /** Turns the feature values of one chunk (as read: a column each, or one matrix) into the model's inputs. */
  toBatch(columns: ChunkColumn[], rows: number): Batch;
  /** The file columns of a shared float32 matrix, in its order: what a CSV parsing thread may fill (see csv-direct.ts). */
  sharedMatrix?: string[];
}

/** One chunk of a job's input as read: its feature columns (or matrix), then its kept columns. */
export interface Chunk {
  index: number;
  rows: number;
  columns: ChunkColumn[];
}

/**
 * The features of a row side by side, selected as one DOUBLE[width] column and read into one
 * typed array, row after row (a row-major matrix): DuckDB lays them out so, in one vector per
 * chunk, where a column each cost a copy out of DuckDB per column per chunk and the model then
 * interleaved the columns again.
 */
export interface MatrixReading {
  matrix: 'float32' | 'float64';
  width: number;
  /** Read into shared memory: the model's rowMajorInput, which its worker threads take without a copy. */
  shared?: boolean;
}

/**
 * A number column read as float32 when that is what the model takes: DuckDB's doubles are rounded
 * as they are copied, where a float64 column was cast to a fresh array per column per chunk.
 * A kept column is read as 'text' (its UTF-8 bytes), a string feature as 'values'.
 */
export type Reading = 'float32' | 'float64' | 'values' | 'text' | MatrixReading;

/** One column of a chunk as read: numbers in a typed array (NULL as NaN), kept text as bytes, other features as values. */
export type ChunkColumn = Float32Array | Float64Array | unknown[] | KeptText;

const isNumeric = (type: string) => NUMERIC_TYPE.test(type) || type === 'BOOLEAN';
const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** What a file column's type says about feeding `spec`; undefined when it fits. */
function mistyped(col: FileColumn, spec: { dtype: string }): string | undefined {
  if (spec.dtype === 'string') return undefined;
  return isNumeric(col.type) ? undefined : `"${col.name}" is ${col.type}, the model expects ${spec.dtype}`;
}

function featureExpression(col: FileColumn, spec: { dtype: string }): string {
  return spec.dtype === 'string' ? `CAST(${sqlIdent(col.name)} AS VARCHAR)` : `COALESCE(CAST(${sqlIdent(col.name)} AS DOUBLE), 'NaN'::DOUBLE)`;
}

/** Number columns as one DOUBLE[n] column: a list cast to the array type (array_value took ~5× the CPU). */
function matrixExpression(cols: FileColumn[]): string {
  return `[${cols.map((c) => featureExpression(c, { dtype: 'float64' })).join(', ')}]::DOUBLE[${cols.length}]`;
}

function keptColumns(file: FileColumn[], keep: readonly string[], outputs: readonly TensorSpec[]): KeptColumn[] {
  const byName = new Map(file.map((c) => [c.name, c]));
  const unknown = keep.filter((k) => !byName.has(k));
  if (unknown.length > 0) throw invalidArgument(`--keep: no column ${quoted(unknown)} in the input (columns: ${file.map((c) => c.name).join(', ')})`);
  const twice = keep.filter((k, i) => keep.indexOf(k) !== i);
  if (twice.length > 0) throw invalidArgument(`--keep: ${quoted(twice)} given twice`);
  // A vector output becomes NAME_0, NAME_1, ... in the output file.
  const clash = keep.filter((k) => outputs.some((o) => o.name === k || (o.shape.length > 0 && new RegExp(`^${o.name.replace(/[^A-Za-z0-9]/g, '\\$&')}_\\d+$`).test(k))));
  if (clash.length > 0) throw invalidArgument(`--keep: ${quoted(clash)} would clash with the model's output columns (${outputs.map((o) => o.name).join(', ')})`);
  return keep.map((k) => {
    const type = byName.get(k)!.type;
    return { name: k, type, bare: isNumeric(type) };
  });
}

function interleave(values: Float64Array, rows: number, into: Float64Array, stride: number, offset: number): void {
  for (let r = 0; r < rows; r++) into[r * stride + offset] = values[r];
}

/**
 * Checks `file` against the model's inputs and says how to read it; throws naming every problem.
 * `rowMajor`: a column the model also takes in place of all its inputs (Predictor.rowMajorInput).
 */
export function planColumns(file: FileColumn[], signature: Signature, keep: readonly string[], rowMajor?: TensorSpec): Plan {
  const kept = keptColumns(file, keep, signature.outputs);
  const keptSelect = kept.map((k) => `CAST(${sqlIdent(k.name)} AS VARCHAR)`);
  const inputs = signature.inputs;
  const byName = new Map(file.map((c) => [c.name, c]));
  const vector = inputs.length === 1 && inputs[0].shape.length === 1 && !byName.has(inputs[0].name) ? inputs[0] : undefined;
  if (vector) {
    const features = file.filter((c) => !keep.includes(c.name));
    const width = vector.shape[0];
    const problems: string[] = [];
    if (width >= 0 && features.length !== width) {
      problems.push(`input "${vector.name}" is ${formatSpec(vector)}: expected ${width} feature columns besides --keep, the file has ${features.length} (${features.map((c) => c.name).join(', ')})`);
    }
    const wrong = features.map((c) => mistyped(c, vector)).filter((m): m is string => m !== undefined);
    if (wrong.length > 0) problems.push(`mistyped: ${wrong.join('; ')}`);
    if (problems.length > 0) throw invalidArgument(`input columns do not match the model: ${problems.join('; ')}`);
    const k = features.length;
    if (vector.dtype === 'float32' || vector.dtype === 'float64') {
      const dtype = vector.dtype;
      return {
        select: [matrixExpression(features), ...keptSelect],
        features: 1,
        reading: [{ matrix: dtype, width: k }, ...kept.map((): Reading => 'text')],
        kept,
        toBatch: (columns, rows) => conform(Batch.from([[vector.name, { dtype, shape: [k], data: (columns[0] as Float32Array | Float64Array).subarray(0, rows * k) }]], rows), inputs),
      };
    }
    return {
      select: [...features.map((c) => featureExpression(c, vector)), ...keptSelect],
      features: k,
      reading: [...features.map((): Reading => (vector.dtype === 'string' ? 'values' : 'float64')), ...kept.map((): Reading => 'text')],
      kept,
      toBatch(columns, rows) {
        if (vector.dtype === 'string') {
          const out = allocate('string', rows * k);
          for (let j = 0; j < k; j++) for (let r = 0; r < rows; r++) out[r * k + j] = ((columns[j] as unknown[])[r] as string | null) ?? '';
          return conform(Batch.from([[vector.name, { dtype: 'string', shape: [k], data: out }]], rows), inputs);
        }
        const out = new Float64Array(rows * k);
        for (let j = 0; j < k; j++) interleave(columns[j] as Float64Array, rows, out, k, j);
        return conform(Batch.from([[vector.name, { dtype: 'float64', shape: [k], data: out }]], rows), inputs);
      },
    };
  }
  const missing = inputs.filter((s) => !byName.has(s.name)).map((s) => `"${s.name}" (${formatSpec(s)})`);
  const known = new Set([...inputs.map((s) => s.name), ...keep]);
  const extra = file.filter((c) => !known.has(c.name)).map((c) => c.name);
  const wrong: string[] = [];
  for (const spec of inputs) {
    const col = byName.get(spec.name);
    if (!col) continue;
    if (spec.shape.some((d) => d !== 1)) wrong.push(`"${spec.name}" is ${formatSpec(spec)}, which a table column cannot hold`);
    const m = mistyped(col, spec);
    if (m) wrong.push(m);
  }
  const problems = [
    missing.length > 0 ? `missing ${missing.join(', ')}` : '',
    extra.length > 0 ? `extra ${quoted(extra)} (not model inputs; pass them with --keep to copy them to the output)` : '',
    wrong.length > 0 ? `mistyped: ${wrong.join('; ')}` : '',
  ].filter(Boolean);
  if (problems.length > 0) throw invalidArgument(`input columns do not match the model: ${problems.join('; ')}`);
  const k = inputs.length;
  if (rowMajor && rowMajor.dtype === 'float32' && rowMajor.shape.length === 1 && rowMajor.shape[0] === k && inputs.every((s) => s.dtype === 'float32' && s.shape.length === 0)) {
    return {
      select: [matrixExpression(inputs.map((s) => byName.get(s.name)!)), ...keptSelect],
      features: 1,
      reading: [{ matrix: 'float32', width: k, shared: true }, ...kept.map((): Reading => 'text')],
      kept,
      sharedMatrix: inputs.map((s) => s.name),
      toBatch: (columns, rows) => Batch.from([[rowMajor.name, { dtype: 'float32', shape: [k], data: (columns[0] as Float32Array).subarray(0, rows * k) }]], rows),
    };
  }
  return {
    select: [...inputs.map((s) => featureExpression(byName.get(s.name)!, s)), ...keptSelect],
    features: inputs.length,
    reading: [...inputs.map((s): Reading => (s.dtype === 'string' ? 'values' : s.dtype === 'float32' ? 'float32' : 'float64')), ...kept.map((): Reading => 'text')],
    kept,
    toBatch(columns, rows) {
      const cols: [string, Column][] = inputs.map((spec, j) => {
        const values = columns[j];
        if (values instanceof Float32Array) return [spec.name, { dtype: 'float32', shape: spec.shape, data: values.subarray(0, rows) }];
        if (values instanceof Float64Array) return [spec.name, { dtype: 'float64', shape: spec.shape, data: values.subarray(0, rows) as NumericArray }];
        return [spec.name, { dtype: 'string', shape: spec.shape, data: (values as unknown[]).slice(0, rows).map((v) => (v as string | null) ?? '') }];
      });
      return conform(Batch.from(cols, rows), inputs);
    },
  };
}
