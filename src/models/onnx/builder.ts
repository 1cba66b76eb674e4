/**
 * Writes ONNX ModelProto bytes from a small description: used to convert our parsed tree
 * ensembles to ai.onnx.ml TreeEnsemble models, and by tests to build models of every tensor type.
 * Field numbers follow onnx/onnx.proto.
 */
import type { DType } from '../batch.js';
import { Writer } from './protobuf.js';

/** TensorProto.DataType codes. */
export const ONNX_TYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

export type AttributeValue =
  | { float: number }
  | { int: number | bigint }
  | { string: string }
  | { floats: ArrayLike<number> }
  | { ints: ArrayLike<number | bigint> }
  | { strings: readonly string[] }
  | { tensor: TensorInit };

export interface NodeInit {
  op: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ValueInit {
  name: string;
  dtype: DType;
  /** Dimensions; a string is a symbolic (dynamic) dimension. Omit for an unknown shape. */
  dims?: readonly (number | string)[];
  /** Declares the value as seq(map(mapKey, dtype)) instead, the type ZipMap outputs. */
  mapKey?: 'int64' | 'string';
}

export interface TensorInit {
  name?: string;
  dtype: 'float32' | 'int64' | 'float64' | 'int32' | 'string';
  dims: readonly number[];
  values: ArrayLike<number | bigint> | readonly string[];
  /**
   * Keep the values out of the model, in this file beside it (ONNX external data, for models
   * over protobuf's 2 GB limit); the caller writes `externalBytes(tensor)` there.
   */
  externalFile?: string;
}

export interface ModelInit {
  inputs: readonly ValueInit[];
  outputs: readonly ValueInit[];
  nodes: readonly NodeInit[];
  initializers?: readonly TensorInit[];
  /** Operator sets by domain ('' = ai.onnx); defaults to { '': 15, 'ai.onnx.ml': 3 }. */
  opsets?: Record<string, number>;
  irVersion?: number;
  producer?: string;
}

/** Little-endian raw bytes of a numeric tensor, as external data files hold them. */
export function externalBytes(t: TensorInit): Uint8Array {
  const v = t.values as ArrayLike<number | bigint>;
  if (t.dtype === 'float32') return new Uint8Array(Float32Array.from(v as ArrayLike<number>).buffer);
  if (t.dtype === 'float64') return new Uint8Array(Float64Array.from(v as ArrayLike<number>).buffer);
  if (t.dtype === 'int32') return new Uint8Array(Int32Array.from(v as ArrayLike<number>).buffer);
  if (t.dtype === 'int64') return new Uint8Array(BigInt64Array.from(Array.from(v, (x) => BigInt(x))).buffer);
  throw new Error(`external data for ${t.dtype} tensors is not supported`);
}

function writeTensor(w: Writer, t: TensorInit): void {
  w.packedVarints(1, t.dims);
  w.varint(2, ONNX_TYPE[t.dtype]);
  if (t.name) w.string(8, t.name);
  if (t.externalFile) {
    const length = externalBytes(t).length;
    for (const [key, value] of [['location', t.externalFile], ['offset', '0'], ['length', String(length)]]) {
      w.message(13, (e) => e.string(1, key).string(2, value));
    }
    w.varint(14, 1);
    return;
  }
  const v = t.values;
  if (t.dtype === 'string') for (const s of v as readonly string[]) w.string(6, s);
  else if (t.dtype === 'float32') w.packedFloats(4, v as ArrayLike<number>);
  else if (t.dtype === 'float64') {
    const data = new Uint8Array(v.length * 8);
    const view = new DataView(data.buffer);
    for (let i = 0; i < v.length; i++) view.setFloat64(i * 8, Number(v[i]), true);
    w.bytes(9, data);
  } else if (t.dtype === 'int64') w.packedVarints(7, v as ArrayLike<number | bigint>);
  else w.packedVarints(5, v as ArrayLike<number>);
}

function writeAttribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if ('float' in value) w.float32(2, value.float).varint(20, 1);
  else if ('int' in value) w.varint(3, value.int).varint(20, 2);
  else if ('string' in value) w.string(4, value.string).varint(20, 3);
  else if ('tensor' in value) w.message(5, (t) => writeTensor(t, value.tensor)).varint(20, 4);
  else if ('floats' in value) w.packedFloats(7, value.floats).varint(20, 6);
  else if ('ints' in value) w.packedVarints(8, value.ints).varint(20, 7);
  else {
    for (const s of value.strings) w.string(9, s);
    w.varint(20, 8);
  }
}

export function writeTensorType(w: Writer, dtype: DType, dims?: readonly (number | string)[]): void {
  w.message(1, (tt) => {
    tt.varint(1, ONNX_TYPE[dtype]);
    if (dims) {
      tt.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      });
    }
  });
}

function writeValueInfo(w: Writer, v: ValueInit): void {
  w.string(1, v.name);
  const mapKey = v.mapKey;
  if (mapKey) {
    w.message(2, (type) =>
      type.message(4, (seq) =>
        seq.message(1, (elem) =>
          elem.message(5, (map) => {
            map.varint(1, ONNX_TYPE[mapKey]);
            map.message(2, (value) => writeTensorType(value, v.dtype));
          }),
        ),
      ),
    );
  } else {
    w.message(2, (type) => writeTensorType(type, v.dtype, v.dims));
  }
}

export function buildOnnxModel(model: ModelInit): Uint8Array {
  const w = new Writer();
  w.varint(1, model.irVersion ?? 8);
  w.string(2, model.producer ?? 'modelport');
  w.message(7, (g) => {
    model.nodes.forEach((n, i) => {
      g.message(1, (nw) => {
        for (const input of n.inputs) nw.string(1, input);
        for (const output of n.outputs) nw.string(2, output);
        nw.string(3, n.name ?? `${n.op}_${i}`);
        nw.string(4, n.op);
        for (const [name, value] of Object.entries(n.attributes ?? {})) nw.message(5, (a) => writeAttribute(a, name, value));
        if (n.domain) nw.string(7, n.domain);
      });
    });
    g.string(2, 'graph');
    for (const t of model.initializers ?? []) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of model.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of model.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  for (const [domain, version] of Object.entries(model.opsets ?? { '': 15, 'ai.onnx.ml': 3 })) {
    w.message(8, (o) => {
      if (domain) o.string(1, domain);
      o.varint(2, version);
    });
  }
  return w.finish();
}
