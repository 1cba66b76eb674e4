/**
 * onnxruntime-node cannot return non-tensor values, and classifiers converted by skl2onnx or
 * onnxmltools end in a ZipMap whose output is seq(map(label, float)). We rewrite each ZipMap
 * that feeds a graph output into an Identity, so the output becomes the plain [N, classes]
 * float tensor of probabilities it was made from, and remember the class labels.
 */
import { decodeMessage, encodeMessage, fieldString, Wire, Writer, type Field } from './protobuf.js';
import { writeTensorType } from './builder.js';

export interface ZipMapInfo {
  output: string;
  labels: (string | bigint)[];
}

const td = new TextDecoder();

function zipMapLabels(node: Field[]): (string | bigint)[] {
  const labels: (string | bigint)[] = [];
  for (const f of node) {
    if (f.no !== 5 || f.wire !== Wire.Bytes) continue;
    const attr = decodeMessage(f.value);
    const name = fieldString(attr, 1);
    if (name === 'classlabels_strings') {
      for (const a of attr) if (a.no === 9 && a.wire === Wire.Bytes) labels.push(td.decode(a.value));
    } else if (name === 'classlabels_int64s') {
      for (const a of attr) {
        if (a.no !== 8) continue;
        if (a.wire === Wire.Varint) labels.push(BigInt.asIntN(64, a.value));
        else if (a.wire === Wire.Bytes) for (const v of decodeMessage(packedAsFields(a.value))) labels.push(BigInt.asIntN(64, v.value as bigint));
      }
    }
  }
  return labels;
}

/** Re-frames a packed varint payload as a sequence of field-1 varints so decodeMessage reads it. */
function packedAsFields(payload: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < payload.length; i++) {
    if (i === 0 || payload[i - 1] < 0x80) out.push(0x08);
    out.push(payload[i]);
  }
  return Uint8Array.from(out);
}

export function stripZipMap(model: Uint8Array): { model: Uint8Array; zipmaps: ZipMapInfo[] } {
  const fields = decodeMessage(model);
  const graphIndex = fields.findIndex((f) => f.no === 7 && f.wire === Wire.Bytes);
  if (graphIndex < 0) return { model, zipmaps: [] };
  const graph = decodeMessage(fields[graphIndex].value as Uint8Array);
  const outputs = new Set(graph.filter((f) => f.no === 12).map((f) => fieldString(decodeMessage(f.value as Uint8Array), 1)));
  const zipmaps: ZipMapInfo[] = [];
  const edited = graph.map((f): Field => {
    if (f.no !== 1 || f.wire !== Wire.Bytes) return f;
    const node = decodeMessage(f.value);
    const output = fieldString(node, 2);
    if (fieldString(node, 4) !== 'ZipMap' || output === undefined || !outputs.has(output)) return f;
    zipmaps.push({ output, labels: zipMapLabels(node) });
    const kept = node.filter((x) => x.no === 1 || x.no === 2 || x.no === 3);
    const op = new Writer().string(4, 'Identity').finish();
    return { no: 1, wire: Wire.Bytes, value: encodeMessage([...kept, ...decodeMessage(op)]) };
  });
  if (zipmaps.length === 0) return { model, zipmaps };
  const names = new Set(zipmaps.map((z) => z.output));
  const retyped = edited.map((f): Field => {
    if (f.no !== 12 || f.wire !== Wire.Bytes) return f;
    const info = decodeMessage(f.value);
    const name = fieldString(info, 1);
    if (name === undefined || !names.has(name)) return f;
    const w = new Writer().string(1, name).message(2, (t) => writeTensorType(t, 'float32'));
    return { no: 12, wire: Wire.Bytes, value: w.finish() };
  });
  const out = [...fields];
  out[graphIndex] = { no: 7, wire: Wire.Bytes, value: encodeMessage(retyped) };
  const hasDefaultOpset = fields.some((f) => f.no === 8 && f.wire === Wire.Bytes && !fieldString(decodeMessage(f.value), 1));
  if (!hasDefaultOpset) out.push({ no: 8, wire: Wire.Bytes, value: new Writer().varint(2, 1).finish() });
  return { model: encodeMessage(out), zipmaps };
}
