/**
 * Open Inference Protocol (KServe V2) REST bodies to and from a Batch. Tensors carry their full
 * shape (batch dimension first) and row-major data, flat or nested.
 */
import { invalidArgument } from '../../core/errors.js';
import { fromTensors, type Batch, type DType, type NumericArray, type Signature, type TensorSpec } from '../../models/index.js';
import { flatValues } from './tensors.js';

export const DTYPE_TO_V2: Record<DType, string> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

export const V2_TYPES = Object.values(DTYPE_TO_V2);

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  /** JSON values, or the typed array of the datatype (read straight from the body, or binary data). */
  data: unknown[] | NumericArray;
  parameters?: Record<string, unknown>;
}

export interface V2Request {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: V2Tensor[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export interface V2Decoded {
  batch: Batch;
  outputs: string[];
}

const SPECS = new WeakMap<Signature, Map<string, TensorSpec>>();

/** The inputs of a signature by name, built once per loaded signature. */
function specsOf(signature: Signature): Map<string, TensorSpec> {
  let specs = SPECS.get(signature);
  if (!specs) SPECS.set(signature, (specs = new Map(signature.inputs.map((s) => [s.name, s]))));
  return specs;
}

/** Checks the request against the model's declared inputs and outputs and decodes it. */
export function decodeV2(request: V2Request, signature: Signature): V2Decoded {
  // A scalar tensor (`"shape": []`) is one row of one element.
  const inputs = request.inputs.some((t) => t.shape.length === 0) ? request.inputs.map((t) => (t.shape.length === 0 ? { ...t, shape: [1] } : t)) : request.inputs;
  if (!isFeatureVector(inputs, signature)) checkInputs(inputs, specsOf(signature));
  return { batch: tensors(inputs, signature), outputs: checkOutputs(request, signature) };
}

/** Every input is a scalar (`"shape": []`): the answer's outputs drop their batch dimension as well. */
export function isScalarRequest(request: V2Request): boolean {
  return request.inputs.every((t) => t.shape.length === 0);
}

function checkInputs(inputs: V2Tensor[], specs: Map<string, TensorSpec>): void {
  const seen = inputs.length > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    if (seen) {
      if (seen.has(t.name)) throw invalidArgument(`inputs[${i}] "${t.name}": input given twice`);
      seen.add(t.name);
    }
    const spec = specs.get(t.name);
    if (specs.size > 0 && !spec) {
      throw invalidArgument(`inputs[${i}] "${t.name}": the model has no input "${t.name}" (inputs: ${[...specs.keys()].join(', ')})`);
    }
    if (spec) checkTensor(t, spec, i);
  }
  // Every input named a distinct declared one, so fewer inputs than declared means some are missing.
  if (specs.size > inputs.length) {
    const given = new Set(inputs.map((t) => t.name));
    const missing = [...specs.keys()].filter((n) => !given.has(n));
    throw invalidArgument(`inputs: missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')}`);
  }
}

/**
 * A model of k scalar numeric inputs (tree models: one per feature) also takes one FP32 tensor
 * of shape [N, k], the features in signature order: far smaller requests than k tensors.
 */
function isFeatureVector(inputs: V2Tensor[], signature: Signature): boolean {
  const k = signature.inputs.length;
  if (inputs.length !== 1 || k < 2 || signature.inputs.some((s) => s.shape.length !== 0 || s.dtype === 'string')) return false;
  const t = inputs[0];
  return !signature.inputs.some((s) => s.name === t.name) && t.shape.length === 2 && t.shape[1] === k && t.datatype !== 'BYTES';
}

function tensors(inputs: V2Tensor[], signature: Signature): Batch {
  const first = inputs[0];
  if (first.shape[0] === 0) throw invalidArgument(`inputs[0] "${first.name}": shape [${first.shape.join(', ')}] has no rows`);
  try {
    return fromTensors(inputs, signature);
  } catch (err) {
    if (err instanceof Error) err.message = `inputs: ${err.message}`;
    throw err;
  }
}

function checkOutputs(request: V2Request, signature: Signature): string[] {
  if (!request.outputs || request.outputs.length === 0) return [];
  const outputs = request.outputs.map((o) => o.name);
  const known = new Set(signature.outputs.map((o) => o.name));
  outputs.forEach((name, i) => {
    if (known.size > 0 && !known.has(name)) throw invalidArgument(`outputs[${i}]: the model has no output "${name}" (outputs: ${[...known].join(', ')})`);
  });
  return outputs;
}

const textual = (d: string) => d === 'BYTES' || d === 'BOOL';

/** Datatype and shape against the model's declaration, as Triton checks them. */
function checkTensor(t: V2Tensor, spec: TensorSpec, index: number): void {
  const want = DTYPE_TO_V2[spec.dtype];
  // Numbers of a wider or differently signed type are accepted and checked element by element
  // when cast; text and booleans must match exactly.
  if (t.datatype !== want && (textual(t.datatype) || textual(want))) {
    throw invalidArgument(`inputs[${index}] "${t.name}": datatype is ${t.datatype}, the model expects ${want}`);
  }
  const rank = t.shape.length - 1;
  let fits = rank === spec.shape.length;
  for (let j = 0; fits && j < rank; j++) fits = spec.shape[j] < 0 || spec.shape[j] === t.shape[j + 1];
  if (fits) return;
  const scalarAsVector = rank === 0 && spec.shape.length === 1 && (spec.shape[0] === 1 || spec.shape[0] < 0);
  const vectorAsScalar = spec.shape.length === 0 && rank === 1 && t.shape[1] === 1;
  // One vector column for a model of k scalar inputs (or the reverse) is reshaped by conform.
  if (!scalarAsVector && !vectorAsScalar) {
    throw invalidArgument(`inputs[${index}] "${t.name}": shape [${t.shape.join(', ')}] does not match the model's [-1${spec.shape.map((d) => `, ${d}`).join('')}]`);
  }
}

export interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
}

export function encodeV2(out: Batch, model: string, version: number, id: string | undefined): V2Response {
  const outputs: V2Response['outputs'] = [];
  for (const [name, col] of out.columns) {
    outputs.push({ name, datatype: DTYPE_TO_V2[col.dtype], shape: [out.rows, ...col.shape], data: flatValues(col) });
  }
  return id === undefined ? { model_name: model, model_version: String(version), outputs } : { model_name: model, model_version: String(version), id, outputs };
}

export function v2Metadata(spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  return { name: spec.name, datatype: DTYPE_TO_V2[spec.dtype], shape: [-1, ...spec.shape] };
}
