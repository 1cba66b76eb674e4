/**
 * Reads the parts of an ONNX ModelProto an evaluator needs: the operator sets, the nodes with
 * their attributes, the initializers (float32 and int64 values; others are kept without data)
 * and the graph's input and output names. Anything this reader cannot represent faithfully
 * (external or segmented tensor data, subgraphs, sparse initializers, attribute references)
 * is an Unsupported error, so a caller never evaluates a graph it half understood.
 */
import { decodeMessage, fieldString, Wire, type Field } from './protobuf.js';

export class Unsupported extends Error {}

/** A tensor's values; `data` is undefined for dtypes this reader does not decode. */
export interface OnnxTensor {
  /** TensorProto.DataType code (1 float, 7 int64, ...). */
  dataType: number;
  dims: number[];
  data?: Float32Array | BigInt64Array;
}

export type OnnxAttribute =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: bigint[] }
  | { kind: 'strings'; value: string[] };

export interface OnnxNode {
  op: string;
  /** '' for the default ai.onnx domain. */
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxGraph {
  /** Operator set version by domain ('' = ai.onnx). */
  opsets: Map<string, number>;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: string[];
  outputs: string[];
}

const FLOAT = 1;
const INT64 = 7;
const td = new TextDecoder();
const text = (f: Field): string => td.decode(f.value as Uint8Array);

/** Varints of a repeated int64 field, packed or not. */
function int64s(fields: readonly Field[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === Wire.Varint) out.push(BigInt.asIntN(64, f.value));
    else if (f.wire === Wire.Bytes) out.push(...packedVarints(f.value));
  }
  return out;
}

function packedVarints(buf: Uint8Array): bigint[] {
  const out: bigint[] = [];
  let value = 0n;
  let shift = 0n;
  for (const b of buf) {
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) {
      out.push(BigInt.asIntN(64, value));
      value = 0n;
      shift = 0n;
    }
  }
  if (shift !== 0n) throw new Unsupported('truncated packed varint');
  return out;
}

/** Little-endian floats of a repeated float field, packed or not. */
function floats(fields: readonly Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no || (f.wire !== Wire.Bytes && f.wire !== Wire.Fixed32)) continue;
    const view = new DataView(f.value.buffer, f.value.byteOffset, f.value.byteLength);
    for (let i = 0; i + 4 <= f.value.byteLength; i += 4) out.push(view.getFloat32(i, true));
  }
  return out;
}

function readTensor(buf: Uint8Array): OnnxTensor {
  const fields = decodeMessage(buf);
  if (fields.some((f) => f.no === 3 || f.no === 13 || (f.no === 14 && f.wire === Wire.Varint && f.value !== 0n))) {
    throw new Unsupported('tensor data stored outside the model or in segments');
  }
  const dims = int64s(fields, 1).map(Number);
  const dataType = Number(fields.find((f) => f.no === 2 && f.wire === Wire.Varint)?.value ?? 0n);
  const size = dims.reduce((a, d) => a * d, 1);
  const raw = fields.find((f) => f.no === 9 && f.wire === Wire.Bytes)?.value as Uint8Array | undefined;
  let data: Float32Array | BigInt64Array | undefined;
  if (dataType === FLOAT) {
    if (raw) {
      data = new Float32Array(raw.byteLength / 4);
      new Uint8Array(data.buffer).set(raw);
    } else {
      data = Float32Array.from(floats(fields, 4));
    }
  } else if (dataType === INT64) {
    if (raw) {
      data = new BigInt64Array(raw.byteLength / 8);
      new Uint8Array(data.buffer).set(raw);
    } else {
      data = BigInt64Array.from(int64s(fields, 7));
    }
  }
  if (data && data.length !== size) throw new Unsupported(`tensor of dims [${dims.join(', ')}] holds ${data.length} values`);
  return { dataType, dims, data };
}

function readAttribute(buf: Uint8Array): [string, OnnxAttribute] {
  const fields = decodeMessage(buf);
  const name = fieldString(fields, 1) ?? '';
  if (fields.some((f) => f.no === 21)) throw new Unsupported(`attribute ${name} refers to a function's attribute`);
  const type = Number(fields.find((f) => f.no === 20 && f.wire === Wire.Varint)?.value ?? 0n);
  const one = (no: number) => fields.find((f) => f.no === no);
  switch (type) {
    case 1: {
      const f = one(2);
      const value = f && f.wire === Wire.Fixed32 ? new DataView(f.value.buffer, f.value.byteOffset, 4).getFloat32(0, true) : 0;
      return [name, { kind: 'float', value }];
    }
    case 2:
      return [name, { kind: 'int', value: int64s(fields, 3)[0] ?? 0n }];
    case 3:
      return [name, { kind: 'string', value: fieldString(fields, 4) ?? '' }];
    case 4: {
      const f = one(5);
      if (!f || f.wire !== Wire.Bytes) throw new Unsupported(`attribute ${name} has no tensor`);
      return [name, { kind: 'tensor', value: readTensor(f.value) }];
    }
    case 6:
      return [name, { kind: 'floats', value: floats(fields, 7) }];
    case 7:
      return [name, { kind: 'ints', value: int64s(fields, 8) }];
    case 8:
      return [name, { kind: 'strings', value: fields.filter((f) => f.no === 9 && f.wire === Wire.Bytes).map(text) }];
    default:
      throw new Unsupported(`attribute ${name} has type ${type}`);
  }
}

function readNode(buf: Uint8Array): OnnxNode {
  const fields = decodeMessage(buf);
  const attributes = new Map<string, OnnxAttribute>();
  for (const f of fields) {
    if (f.no === 5 && f.wire === Wire.Bytes) {
      const [name, value] = readAttribute(f.value);
      attributes.set(name, value);
    }
  }
  return {
    op: fieldString(fields, 4) ?? '',
    domain: fieldString(fields, 7) ?? '',
    inputs: fields.filter((f) => f.no === 1 && f.wire === Wire.Bytes).map(text),
    outputs: fields.filter((f) => f.no === 2 && f.wire === Wire.Bytes).map(text),
    attributes,
  };
}

/** The graph of ModelProto bytes; throws Unsupported for what it cannot represent. */
export function readGraph(model: Uint8Array): OnnxGraph {
  const fields = decodeMessage(model);
  const graphField = fields.find((f) => f.no === 7 && f.wire === Wire.Bytes);
  if (!graphField) throw new Unsupported('the model has no graph');
  const opsets = new Map<string, number>();
  for (const f of fields) {
    if (f.no !== 8 || f.wire !== Wire.Bytes) continue;
    const opset = decodeMessage(f.value);
    opsets.set(fieldString(opset, 1) ?? '', Number(int64s(opset, 2)[0] ?? 0n));
  }
  const graph = decodeMessage(graphField.value as Uint8Array);
  if (graph.some((f) => f.no === 15)) throw new Unsupported('sparse initializers');
  const initializers = new Map<string, OnnxTensor>();
  const nodes: OnnxNode[] = [];
  const inputs: string[] = [];
  const outputs: string[] = [];
  for (const f of graph) {
    if (f.wire !== Wire.Bytes) continue;
    if (f.no === 1) nodes.push(readNode(f.value));
    else if (f.no === 5) initializers.set(fieldString(decodeMessage(f.value), 8) ?? '', readTensor(f.value));
    else if (f.no === 11) inputs.push(fieldString(decodeMessage(f.value), 1) ?? '');
    else if (f.no === 12) outputs.push(fieldString(decodeMessage(f.value), 1) ?? '');
  }
  return { opsets, nodes, initializers, inputs, outputs };
}
