/**
 * A model's inputs as one row of numeric features, and a Predictor as a function of that
 * matrix: the bridge between the explainers, which perturb feature values, and Batches. A
 * scalar input is one feature; a fixed-size vector input `v: [k]` is k features `v[0]`…`v[k-1]`
 * (the names monitoring gives them too).
 */
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { Batch, allocate, rowSize, type Column, type NumericArray, type NumericDType, type Predictor, type Signature, type TensorSpec } from '../models/index.js';
import type { Table } from '../data/read-table.js';
import type { ModelFn } from './types.js';

export interface FeatureLayout {
  names: string[];
  inputs: { spec: TensorSpec; width: number }[];
}

export function featureLayout(signature: Signature): FeatureLayout {
  const names: string[] = [];
  const inputs = signature.inputs.map((spec) => {
    if (spec.dtype === 'string') throw failedPrecondition(`input "${spec.name}" is text; explanations need numeric inputs`);
    if (spec.shape.some((d) => d < 0)) throw failedPrecondition(`input "${spec.name}" has a variable shape [${spec.shape.join(', ')}]; explanations need fixed-size inputs`);
    const width = rowSize(spec.shape);
    if (spec.shape.length === 0) names.push(spec.name);
    else for (let i = 0; i < width; i++) names.push(`${spec.name}[${i}]`);
    return { spec, width };
  });
  return { names, inputs };
}

/** The conformed batch as a rows × features float64 matrix (NaN stays NaN). */
export function batchToMatrix(layout: FeatureLayout, batch: Batch): Float64Array {
  const F = layout.names.length;
  const out = new Float64Array(batch.rows * F);
  let offset = 0;
  for (const { spec, width } of layout.inputs) {
    const data = batch.column(spec.name).data as NumericArray;
    if (spec.dtype === 'float16') throw failedPrecondition(`input "${spec.name}" is float16; explanations need float32, float64 or integer inputs`);
    for (let r = 0; r < batch.rows; r++) for (let k = 0; k < width; k++) out[r * F + offset + k] = Number(data[r * width + k]);
    offset += width;
  }
  return out;
}

/** Rows of features as a batch of the signature's inputs; integer inputs take the nearest whole value. */
export function matrixToBatch(layout: FeatureLayout, x: Float64Array, rows: number): Batch {
  const F = layout.names.length;
  let offset = 0;
  const columns: [string, Column][] = layout.inputs.map(({ spec, width }) => {
    const dtype = spec.dtype as NumericDType;
    const data = allocate(dtype, rows * width);
    const big = dtype === 'int64' || dtype === 'uint64';
    const whole = !(dtype === 'float32' || dtype === 'float64');
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < width; k++) {
        const v = x[r * F + offset + k];
        if (big) (data as BigInt64Array)[r * width + k] = BigInt(Math.round(v === v ? v : 0));
        else (data as Float64Array)[r * width + k] = whole ? (dtype === 'bool' ? +(v !== 0) : Math.round(v)) : v;
      }
    }
    offset += width;
    return [spec.name, { dtype, shape: spec.shape, data }];
  });
  return Batch.from(columns, rows);
}

export interface OutputChoice {
  name: string;
  /** Values per row: classes of a probability or margin vector, else 1. */
  groups: number;
}

/**
 * The output to explain: the one asked for, else XGBoost's margin (the space TreeSHAP works
 * in), else the first floating-point output, preferring one named like probabilities.
 */
export function chooseOutput(signature: Signature, flavor: string, requested?: string): OutputChoice {
  let spec: TensorSpec | undefined;
  if (requested !== undefined) {
    spec = signature.outputs.find((o) => o.name === requested);
    if (!spec) throw invalidArgument(`parameters.output: the model has no output "${requested}" (it has ${signature.outputs.map((o) => `"${o.name}"`).join(', ')})`);
  } else if (flavor === 'xgboost') {
    spec = signature.outputs.find((o) => o.name === 'margin');
  } else {
    const floats = signature.outputs.filter((o) => o.dtype === 'float32' || o.dtype === 'float64');
    spec = floats.find((o) => /prob/i.test(o.name)) ?? floats[0];
  }
  if (!spec) throw failedPrecondition(`the model has no floating-point output to explain (outputs: ${signature.outputs.map((o) => o.name).join(', ')})`);
  if (spec.dtype === 'string') throw invalidArgument(`parameters.output: output "${spec.name}" is text and cannot be explained`);
  if (spec.shape.some((d) => d < 0) || spec.shape.length > 1) {
    throw failedPrecondition(`output "${spec.name}" has shape [${spec.shape.join(', ')}]; explanations need a scalar or a fixed-size vector per row`);
  }
  return { name: spec.name, groups: rowSize(spec.shape) };
}

/** The predictor as a function of feature rows, returning the chosen output as float64. */
export function predictorFn(predictor: Predictor, layout: FeatureLayout, output: OutputChoice): ModelFn {
  return async (x, rows) => {
    const out = await predictor.predict(matrixToBatch(layout, x, rows));
    const data = out.column(output.name).data as NumericArray;
    const values = new Float64Array(rows * output.groups);
    for (let i = 0; i < values.length; i++) values[i] = Number(data[i]);
    return values;
  };
}

/**
 * A table's columns as features: by name, or for one vector input (ONNX `input: [k]`) by
 * position: the first k numeric columns other than `skip` (a label column usually comes last).
 */
export function tableToMatrix(layout: FeatureLayout, table: Table, skip: readonly string[] = []): Float64Array {
  const F = layout.names.length;
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  let columns = layout.names.map((n) => byName.get(n));
  if (columns.some((c) => !c) && layout.inputs.length === 1 && layout.inputs[0].spec.shape.length === 1) {
    const numeric = table.columns.filter((c) => c.type === 'number' && !skip.includes(c.name));
    if (numeric.length >= F) columns = numeric.slice(0, F);
  }
  const out = new Float64Array(table.rowCount * F);
  columns.forEach((col, j) => {
    if (!col) throw invalidArgument(`${table.source}: column "${layout.names[j]}" (a model input) is missing`);
    if (col.type !== 'number') throw invalidArgument(`${table.source}: column "${col.name}" is text; the model takes numbers`);
    for (let r = 0; r < table.rowCount; r++) out[r * F + j] = col.values[r];
  });
  return out;
}
