/**
 * A UBJSON (Universal Binary JSON, draft 12) decoder for XGBoost's `.ubj` model files. XGBoost
 * writes numeric arrays as strongly typed containers (`[$d#L<count>` + big-endian floats); those
 * decode straight into typed arrays so a large model does not become millions of JS numbers.
 */
import { invalidArgument } from '../../core/errors.js';

export type UbjValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | UbjValue[]
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | { [key: string]: UbjValue };

const td = new TextDecoder();

export function decodeUbjson(bytes: Uint8Array): UbjValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  const fail = (what: string): never => {
    throw invalidArgument(`UBJSON: ${what} at byte ${pos}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail('unexpected end of data');
  };
  const marker = (): number => {
    need(1);
    return bytes[pos++];
  };

  const scalar = (type: number): UbjValue => {
    switch (type) {
      case 0x5a: // Z
        return null;
      case 0x54: // T
        return true;
      case 0x46: // F
        return false;
      case 0x69: // i int8
        need(1);
        return view.getInt8(pos++);
      case 0x55: // U uint8
        need(1);
        return view.getUint8(pos++);
      case 0x49: {
        // I int16
        need(2);
        const v = view.getInt16(pos);
        pos += 2;
        return v;
      }
      case 0x6c: {
        // l int32
        need(4);
        const v = view.getInt32(pos);
        pos += 4;
        return v;
      }
      case 0x4c: {
        // L int64: a number when it is exact, else a bigint
        need(8);
        const v = view.getBigInt64(pos);
        pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0x64: {
        // d float32
        need(4);
        const v = view.getFloat32(pos);
        pos += 4;
        return v;
      }
      case 0x44: {
        // D float64
        need(8);
        const v = view.getFloat64(pos);
        pos += 8;
        return v;
      }
      case 0x43: // C char
        need(1);
        return String.fromCharCode(bytes[pos++]);
      case 0x53: // S string
        return str();
      case 0x48: // H high-precision number, carried as a decimal string
        return Number(str());
      case 0x5b: // [
        return array();
      case 0x7b: // {
        return object();
      default:
        return fail(`unknown type marker 0x${type.toString(16)}`);
    }
  };

  const length = (): number => {
    const v = scalar(marker());
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('invalid length');
    return v as number;
  };

  const str = (): string => {
    const n = length();
    need(n);
    const s = td.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };

  /** Reads `$type#count` if present. */
  const header = (): { type?: number; count?: number } => {
    let type: number | undefined;
    if (bytes[pos] === 0x24) {
      pos++;
      type = marker();
    }
    if (bytes[pos] === 0x23) {
      pos++;
      return { type, count: length() };
    }
    if (type !== undefined) fail('typed container without a count');
    return {};
  };

  const typedArray = (type: number, count: number): UbjValue => {
    const read = <T extends { [i: number]: number }>(make: (n: number) => T, size: number, get: (at: number) => number): T => {
      need(count * size);
      const out = make(count);
      for (let i = 0; i < count; i++) out[i] = get(pos + i * size);
      pos += count * size;
      return out;
    };
    switch (type) {
      case 0x64:
        return read((n) => new Float32Array(n), 4, (at) => view.getFloat32(at));
      case 0x44:
        return read((n) => new Float64Array(n), 8, (at) => view.getFloat64(at));
      case 0x6c:
        return read((n) => new Int32Array(n), 4, (at) => view.getInt32(at));
      case 0x49:
        return read((n) => new Int16Array(n), 2, (at) => view.getInt16(at));
      case 0x69:
        return read((n) => new Int8Array(n), 1, (at) => view.getInt8(at));
      case 0x55:
        return read((n) => new Uint8Array(n), 1, (at) => view.getUint8(at));
      default: {
        const out: UbjValue[] = [];
        for (let i = 0; i < count; i++) out.push(scalar(type));
        return out;
      }
    }
  };

  /** Skips no-op markers (N) and returns the next byte without consuming it. */
  const skipNoops = (): number => {
    need(1);
    while (bytes[pos] === 0x4e) {
      pos++;
      need(1);
    }
    return bytes[pos];
  };

  const array = (): UbjValue => {
    const { type, count } = header();
    if (count !== undefined) return type !== undefined ? typedArray(type, count) : Array.from({ length: count }, () => value());
    const out: UbjValue[] = [];
    while (skipNoops() !== 0x5d) {
      out.push(value());
    }
    pos++;
    return out;
  };

  const object = (): UbjValue => {
    const { type, count } = header();
    const out: { [key: string]: UbjValue } = {};
    const item = () => (type !== undefined ? scalar(type) : value());
    if (count !== undefined) {
      for (let i = 0; i < count; i++) {
        const key = str();
        out[key] = item();
      }
      return out;
    }
    while (skipNoops() !== 0x7d) {
      const key = str();
      out[key] = item();
    }
    pos++;
    return out;
  };

  const value = (): UbjValue => {
    let m = marker();
    while (m === 0x4e) m = marker(); // N: no-op
    return scalar(m);
  };

  const result = value();
  if (pos !== bytes.length) fail('trailing data');
  return result;
}
