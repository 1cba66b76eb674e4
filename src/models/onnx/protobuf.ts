/**
 * Just enough of the protobuf wire format to read, edit and write ONNX ModelProto files
 * (no protobuf package is in the lock, and we only ever touch a handful of fields). A message
 * decodes into its fields in file order, unknown fields included, so re-encoding an edited
 * message keeps everything we did not touch.
 */
import { invalidArgument } from '../../core/errors.js';

export enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

export type Field =
  | { no: number; wire: Wire.Varint; value: bigint }
  | { no: number; wire: Wire.Fixed64 | Wire.Fixed32 | Wire.Bytes; value: Uint8Array };

export function decodeMessage(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw invalidArgument('protobuf: truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > buf.length) throw invalidArgument('protobuf: truncated field');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === Wire.Varint) fields.push({ no, wire, value: varint() });
    else if (wire === Wire.Fixed64) fields.push({ no, wire, value: take(8) });
    else if (wire === Wire.Fixed32) fields.push({ no, wire, value: take(4) });
    else if (wire === Wire.Bytes) fields.push({ no, wire, value: take(Number(varint())) });
    else throw invalidArgument(`protobuf: unsupported wire type ${wire}`);
  }
  return fields;
}

/** Grows a byte buffer as fields are appended. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  rawVarint(v: bigint | number): this {
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  private key(no: number, wire: Wire): void {
    this.rawVarint((no << 3) | wire);
  }

  varint(no: number, v: bigint | number): this {
    this.key(no, Wire.Varint);
    return this.rawVarint(v);
  }

  bytes(no: number, data: Uint8Array): this {
    this.key(no, Wire.Bytes);
    this.rawVarint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(no: number, s: string): this {
    return this.bytes(no, new TextEncoder().encode(s));
  }

  message(no: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(no, inner.finish());
  }

  float32(no: number, v: number): this {
    this.key(no, Wire.Fixed32);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }

  packedFloats(no: number, values: ArrayLike<number>): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(no, data);
  }

  packedVarints(no: number, values: ArrayLike<number | bigint>): this {
    const inner = new Writer();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    return this.bytes(no, inner.finish());
  }

  field(f: Field): this {
    if (f.wire === Wire.Varint) return this.varint(f.no, f.value);
    if (f.wire === Wire.Bytes) return this.bytes(f.no, f.value);
    this.key(f.no, f.wire);
    this.reserve(f.value.length);
    this.buf.set(f.value, this.len);
    this.len += f.value.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function encodeMessage(fields: readonly Field[]): Uint8Array {
  const w = new Writer();
  for (const f of fields) w.field(f);
  return w.finish();
}

export function fieldString(fields: readonly Field[], no: number): string | undefined {
  const f = fields.find((x) => x.no === no && x.wire === Wire.Bytes);
  return f ? new TextDecoder().decode(f.value as Uint8Array) : undefined;
}
