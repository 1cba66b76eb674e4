/**
 * Open Inference Protocol V2 request bodies read straight from their bytes: the JSON is scanned
 * once, tensor data lands in the typed array of its datatype without a generic JSON tree, and
 * the request's structure is checked while it is read (the checks and wording the route's
 * schema had, so both HTTP paths answer alike). Python's `NaN`, `Infinity` and `-Infinity`
 * tokens are read as those floats; integers past 2^53 stay exact (bigints, then BigInt64Array or
 * BigUint64Array). The binary tensor data extension (a JSON header of
 * `Inference-Header-Content-Length` bytes, then each input's `binary_data_size` raw bytes in
 * input order) is read by the same function.
 */
import { invalidArgument } from '../../core/errors.js';
import { allocatePooled, fromFloat16Bits, sameShape, toFloat16Bits, type Batch, type Column, type DType, type NumericArray } from '../../models/index.js';
import { DTYPE_TO_V2, type V2Request, type V2Tensor } from './v2.js';

const V2_NUMERIC = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);
const MAX_INPUTS = 4096;
const MAX_NESTING = 256;

/** Thrown for bytes that are not JSON; mapped to the same 400 as a malformed body anywhere. */
function malformed(why: string): Error {
  return invalidArgument(`body: malformed JSON (${why})`, { field: 'body' });
}

/** A schema-style refusal: the dotted field and what is wrong with it. */
function invalid(field: string, what: string): Error {
  return invalidArgument(`${field} ${what}`, { field });
}

// Growing scratch for float data: one Float64Array reused by every request.
let scratch = new Float64Array(1024);

/** Grows the scratch, keeping its first `n` values, when it is full. */
function roomFor(n: number): void {
  if (n < scratch.length) return;
  const grown = new Float64Array(scratch.length * 2);
  grown.set(scratch);
  scratch = grown;
}

/**
 * The field names and datatypes every request repeats, by length: one of them read from the
 * body is this string, with no new string made.
 */
const KNOWN = (() => {
  const byLength: string[][] = [];
  for (const t of ['id', 'inputs', 'outputs', 'name', 'shape', 'datatype', 'data', 'parameters', 'binary_data_size', 'binary_data', 'binary_data_output', 'BYTES', ...V2_NUMERIC]) {
    (byLength[t.length] ??= []).push(t);
  }
  return byLength;
})();

/** The KNOWN string the bytes `from`..`to` of `b` spell, if any. */
function known(b: Buffer, from: number, to: number): string | undefined {
  const candidates = KNOWN[to - from];
  if (candidates === undefined) return undefined;
  next: for (const t of candidates) {
    for (let i = 0; i < t.length; i++) if (b[from + i] !== t.charCodeAt(i)) continue next;
    return t;
  }
  return undefined;
}

/** The last string of each length read from a body, up to this length: a tensor's name repeats request after request. */
const REMEMBERED_UP_TO = 64;
const remembers: (string | undefined)[] = [];

/** The text of bytes `from`..`to` (no escapes): the remembered string of that length when it spells the same bytes, else a new one. */
function remembered(from: number, to: number): string {
  const length = to - from;
  if (length > REMEMBERED_UP_TO) return b.toString('utf8', from, to);
  const last = remembers[length];
  if (last !== undefined) {
    let i = 0;
    while (i < length && b[from + i] === last.charCodeAt(i)) i++;
    if (i === length) return last;
  }
  const text = b.toString('utf8', from, to);
  // Only text of one byte per character: only that compares byte for character above.
  if (text.length === length) remembers[length] = text;
  return text;
}

/** Where `number` leaves the double it read. */
const NUMBER = new Float64Array(1);

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

// The reader's position in the body being read. Reading is synchronous, one body at a time, so
// the state and the functions over it live here: closures over a call's locals were some thirty
// functions and their context allocated for every request.
const EMPTY = Buffer.alloc(0);
let b: Buffer = EMPTY;
let p = 0;
let end = 0;
// Nesting is bounded so that a body of [[[[... is a 400, not a stack overflow.
let nesting = 0;

function ws() {
  while (p < end) {
    const c = b[p];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
    else break;
  }
}
function unexpected(): Error {
  return malformed(p >= end ? 'unexpected end of the body' : `unexpected ${JSON.stringify(String.fromCharCode(b[p]))} at byte ${p}`);
}
function expect(c: number) {
  ws();
  if (b[p] !== c || p >= end) throw unexpected();
  p++;
}
/** After a value inside an object or array: true at a comma, false at the closer. */
function more(closer: number): boolean {
  ws();
  if (p < end && b[p] === 0x2c) {
    p++;
    return true;
  }
  if (p < end && b[p] === closer) {
    p++;
    return false;
  }
  throw unexpected();
}
/** True (and consumed) when the container closes straight away. */
function empty(closer: number): boolean {
  ws();
  if (p < end && b[p] === closer) {
    p++;
    return true;
  }
  return false;
}

function string(): string {
  ws();
  if (b[p] !== 0x22 || p >= end) throw unexpected();
  const start = ++p;
  let escaped = false;
  while (p < end) {
    const c = b[p];
    if (c === 0x22) break;
    if (c === 0x5c) {
      escaped = true;
      p += 2;
    } else if (c < 0x20) throw unexpected();
    else p++;
  }
  if (p >= end) throw malformed('unterminated string');
  p++;
  if (!escaped) return known(b, start, p - 1) ?? remembered(start, p - 1);
  try {
    return JSON.parse(b.toString('utf8', start - 1, p)) as string;
  } catch {
    throw malformed(`bad escape in the string at byte ${start - 1}`);
  }
}

function word(text: string): boolean {
  if (p + text.length > end) return false;
  for (let i = 0; i < text.length; i++) if (b[p + i] !== text.charCodeAt(i)) return false;
  p += text.length;
  return true;
}

/**
 * Reads a number token into NUMBER[0], or returns it as a bigint when it is an integer too
 * large to be exact and `allowBig`. Up to 15 significant digits and a power of ten within
 * 10^22 is one correctly rounded multiplication or division (Clinger's fast path); anything
 * else goes through Number(). The double is handed over in a typed array because a returned
 * one is boxed on the heap: an allocation per element of every data list.
 */
function number(allowBig: boolean): bigint | undefined {
  const start = p;
  // The position, the bytes and their end in locals: the shared ones are module variables, a
  // load and a store per byte otherwise.
  let q = p;
  const bytes = b;
  const stop = end;
  let neg = false;
  if (bytes[q] === 0x2d) {
    neg = true;
    p = ++q;
    if (bytes[q] === 0x49) {
      if (!word('Infinity')) throw unexpected();
      NUMBER[0] = -Infinity;
      return undefined;
    }
  }
  let mant = 0;
  let digits = 0;
  let exp = 0;
  let simple = true;
  const intStart = q;
  let c = bytes[q];
  while (q < stop && c >= 0x30 && c <= 0x39) {
    if (digits < 15) {
      mant = mant * 10 + (c - 0x30);
      if (mant !== 0) digits++;
    } else {
      simple = false;
    }
    c = bytes[++q];
  }
  const intDigits = q - intStart;
  if (intDigits === 0 || (intDigits > 1 && bytes[intStart] === 0x30)) {
    p = q;
    throw unexpected();
  }
  let integral = true;
  if (c === 0x2e && q < stop) {
    integral = false;
    c = bytes[++q];
    const fracStart = q;
    while (q < stop && c >= 0x30 && c <= 0x39) {
      if (digits < 15) {
        mant = mant * 10 + (c - 0x30);
        exp--;
        if (mant !== 0) digits++;
      } else if (c !== 0x30) simple = false;
      c = bytes[++q];
    }
    if (q === fracStart) {
      p = q;
      throw unexpected();
    }
  }
  if ((c === 0x65 || c === 0x45) && q < stop) {
    integral = false;
    c = bytes[++q];
    let eneg = false;
    if (c === 0x2b || c === 0x2d) {
      eneg = c === 0x2d;
      c = bytes[++q];
    }
    const eStart = q;
    let e = 0;
    while (q < stop && c >= 0x30 && c <= 0x39) {
      e = e * 10 + (c - 0x30);
      c = bytes[++q];
    }
    p = q;
    if (q === eStart) throw unexpected();
    exp += eneg ? -e : e;
  }
  p = q;
  if (integral && !simple) {
    const text = bytes.toString('latin1', start, q);
    const n = Number(text);
    if (allowBig && !Number.isSafeInteger(n)) return BigInt(text);
    NUMBER[0] = n;
  } else if (simple && exp >= -22 && exp <= 22) {
    const v = exp < 0 ? mant / POW10[-exp] : mant * POW10[exp];
    NUMBER[0] = neg ? -v : v;
  } else NUMBER[0] = Number(bytes.toString('latin1', start, q));
  return undefined;
}

function enter() {
  if (++nesting > MAX_NESTING) throw malformed(`nested deeper than ${MAX_NESTING} levels at byte ${p}`);
}

/** Any JSON value as a JS value (parameters, and data that is not plain numbers). */
function value(): unknown {
  ws();
  const c = b[p];
  if (p >= end) throw unexpected();
  if (c === 0x22) return string();
  if (c === 0x7b) {
    p++;
    enter();
    const obj: Record<string, unknown> = {};
    if (!empty(0x7d)) {
      do {
        const key = string();
        // The prototype-poisoning refusal the route's JSON parser made.
        if (key === '__proto__' || key === 'constructor') throw malformed(`object key "${key}" is not allowed`);
        expect(0x3a);
        obj[key] = value();
      } while (more(0x7d));
    }
    nesting--;
    return obj;
  }
  if (c === 0x5b) {
    p++;
    enter();
    const arr: unknown[] = [];
    if (!empty(0x5d)) {
      do arr.push(value());
      while (more(0x5d));
    }
    nesting--;
    return arr;
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return number(true) ?? NUMBER[0];
  if (word('true')) return true;
  if (word('false')) return false;
  if (word('null')) return null;
  if (word('NaN')) return NaN;
  if (word('Infinity')) return Infinity;
  throw unexpected();
}

function skip() {
  return void value();
}

/**
 * Tensor data, flattened (nested lists are row-major order already). Float datatypes are read
 * into the scratch and copied into their array once; every other value, or a value a float
 * tensor cannot hold (a string, say), makes the whole list plain values, which the general
 * conversion checks and words as before.
 */
function data(datatype: string | undefined): V2Tensor['data'] {
  ws();
  if (b[p] !== 0x5b || p >= end) {
    const v = value();
    return [v];
  }
  const floats = datatype === 'FP32' || datatype === 'FP64' || datatype === 'FP16';
  const listStart = p;
  let triedParse = !floats;
  let n = 0;
  let plain: unknown[] | undefined = floats ? undefined : [];
  let depth = 0;
  // Iterative walk of nested lists: depth counts open brackets.
  p++;
  depth = 1;
  if (empty(0x5d)) depth = 0;
  while (depth > 0) {
    ws();
    const c = b[p];
    if (c === 0x5b && p < end) {
      p++;
      if (++depth > MAX_NESTING) throw malformed(`nested deeper than ${MAX_NESTING} levels at byte ${p}`);
      if (!empty(0x5d)) continue;
      depth--;
    } else if (!plain && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      const at = p;
      number(false);
      roomFor(n);
      scratch[n++] = NUMBER[0];
      // Digits past the exact fast path: JSON.parse reads the rest of such a list faster.
      if (!triedParse && p - at > 16) {
        triedParse = true;
        const resume = p;
        p = listStart;
        const parsed = plainNumbers();
        if (parsed !== undefined) return typedFloats(datatype as string, parsed);
        p = resume;
      }
    } else if (!plain && ((c === 0x4e && word('NaN')) || (c === 0x6e && word('null')))) {
      // null is a missing float, as the general conversion reads it.
      roomFor(n);
      scratch[n++] = NaN;
    } else {
      // Inline, not a closure: one over `n` and `plain` would keep them in a context the loop reads per element.
      const v = value();
      if (plain) plain.push(v);
      else if (typeof v === 'number') {
        roomFor(n);
        scratch[n++] = v;
      } else {
        plain = Array.from(scratch.subarray(0, n));
        plain.push(v);
      }
    }
    while (depth > 0) {
      ws();
      if (b[p] === 0x2c && p < end) {
        p++;
        break;
      }
      if (b[p] === 0x5d && p < end) {
        p++;
        depth--;
        continue;
      }
      throw unexpected();
    }
  }
  // plain was set from the start unless the datatype is a float one.
  if (plain) return plain;
  return typedFloats(datatype as string, scratch.subarray(0, n));
}

/**
 * A data list of nothing but numbers, read by JSON.parse, whose float parsing is faster than
 * Number() on a substring for the 17-digit floats numpy writes. The list qualifies when
 * its bytes are digits, signs, points, exponents, commas, brackets and white space only (no
 * NaN, Infinity, null or strings); undefined sends it down the general walk, which also words
 * any syntax error. Floats need no bigints, so long integers are fine here.
 */
function plainNumbers(): Float64Array | undefined {
  let q = p;
  let depth = 0;
  for (; q < end; q++) {
    const c = b[q];
    if (c === 0x5b) {
      if (++depth > MAX_NESTING) return undefined;
    } else if (c === 0x5d) {
      if (--depth === 0) break;
    } else if (!NUMERIC_BYTE[c]) return undefined;
  }
  if (depth !== 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('latin1', p, q + 1));
  } catch {
    return undefined;
  }
  let n = 0;
  const flatten = (list: unknown[]): void => {
    for (const v of list) {
      if (typeof v === 'number') {
        roomFor(n);
        scratch[n++] = v;
      } else flatten(v as unknown[]);
    }
  };
  flatten(parsed as unknown[]);
  p = q + 1;
  return scratch.subarray(0, n);
}

/** A list field: Ajv's array coercion made a lone value a list of one, kept here. */
function list<T>(item: (i: number) => T, max: number, field: string): T[] {
  ws();
  const out: T[] = [];
  if (b[p] !== 0x5b || p >= end) {
    out.push(item(0));
    return out;
  }
  p++;
  if (empty(0x5d)) return out;
  do {
    if (out.length === max) throw invalid(field, `must NOT have more than ${max} items`);
    out.push(item(out.length));
  } while (more(0x5d));
  return out;
}

/** A string field; numbers and booleans become their text, as the schema's coercion did. */
function text(field: string, min: number, max: number): string {
  ws();
  const v = b[p] === 0x22 ? string() : value();
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : undefined;
  if (s === undefined) throw invalid(field, 'must be string');
  if (s.length < min) throw invalid(field, `must NOT have fewer than ${min} characters`);
  if (s.length > max) throw invalid(field, `must NOT have more than ${max} characters`);
  return s;
}

function objectOf(field: string): Record<string, unknown> {
  const v = value();
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(field, 'must be object');
  return v as Record<string, unknown>;
}

function dimension(field: string): number {
  ws();
  const raw = value();
  const v = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(field, 'must be integer');
  if (v < 0) throw invalid(field, 'must be >= 0');
  if (v > 2 ** 31) throw invalid(field, `must be <= ${2 ** 31}`);
  return v;
}

/** Steps into the object at `at`, or skips the value and throws when it is none. */
function openObject(at: string): void {
  ws();
  if (b[p] !== 0x7b || p >= end) {
    skip();
    throw invalid(at, 'must be object');
  }
  p++;
}

/** The field paths errors name for one input or output, e.g. `body.inputs.0.shape`. */
interface Paths {
  at: string;
  name: string;
  shape: string;
  datatype: string;
  parameters: string;
  data: string;
  /** `…shape.j`, made as they are needed. */
  dims: string[];
}

/**
 * Paths per index, made once for the first few indices: the happy path only passes them on,
 * and making them for every request cost each tensor half a dozen strings.
 */
const CACHED_PATHS = 64;
const inputPaths: Paths[] = [];
const outputPaths: Paths[] = [];

function pathsOf(cache: Paths[], prefix: string, i: number): Paths {
  let paths = cache[i];
  if (paths === undefined) {
    const at = `${prefix}.${i}`;
    paths = { at, name: `${at}.name`, shape: `${at}.shape`, datatype: `${at}.datatype`, parameters: `${at}.parameters`, data: `${at}.data`, dims: [] };
    if (i < CACHED_PATHS) cache[i] = paths;
  }
  return paths;
}

function tensor(at: Paths): V2Tensor {
  openObject(at.at);
  let name: string | undefined;
  let shape: number[] | undefined;
  let datatype: string | undefined;
  let parameters: Record<string, unknown> | undefined;
  let values: V2Tensor['data'] | undefined;
  if (!empty(0x7d)) {
    do {
      const key = string();
      expect(0x3a);
      if (key === 'name') name = text(at.name, 1, 256);
      else if (key === 'shape') shape = list((j) => dimension((at.dims[j] ??= `${at.shape}.${j}`)), 16, at.shape);
      else if (key === 'datatype') {
        datatype = text(at.datatype, 0, 16);
        if (datatype === 'BF16') throw invalid(at.datatype, 'BF16 (bfloat16) is not supported: send FP32, or FP16');
        if (datatype !== 'BYTES' && !V2_NUMERIC.has(datatype)) throw invalid(at.datatype, 'must be equal to constant');
      } else if (key === 'parameters') parameters = objectOf(at.parameters);
      else if (key === 'data') values = data(datatype);
      else skip();
    } while (more(0x7d));
  }
  if (name === undefined) throw invalid(at.name, 'is required');
  if (shape === undefined) throw invalid(at.shape, 'is required');
  if (datatype === undefined) throw invalid(at.datatype, 'is required');
  const binary = parameters?.binary_data_size;
  if (values === undefined && binary === undefined) throw invalid(at.data, 'is required');
  const t: V2Tensor = { name, shape, datatype, data: values ?? [] };
  if (parameters) t.parameters = parameters;
  return t;
}

function output(at: Paths): { name: string; parameters?: Record<string, unknown> } {
  openObject(at.at);
  let name: string | undefined;
  let parameters: Record<string, unknown> | undefined;
  if (!empty(0x7d)) {
    do {
      const key = string();
      expect(0x3a);
      if (key === 'name') name = text(at.name, 1, Infinity);
      else if (key === 'parameters') parameters = objectOf(at.parameters);
      else skip();
    } while (more(0x7d));
  }
  if (name === undefined) throw invalid(at.name, 'is required');
  return parameters ? { name, parameters } : { name };
}

/**
 * Reads one V2 request. `headerLength` is the Inference-Header-Content-Length header's value
 * when the body carries binary tensor data after its JSON.
 */
export function readV2Request(body: Buffer, headerLength?: number): V2Request {
  if (headerLength !== undefined && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    throw invalidArgument(`inference-header-content-length: ${headerLength} is not a length within the body's ${body.length} bytes`, { field: 'inference-header-content-length' });
  }
  b = body;
  p = 0;
  end = headerLength ?? body.length;
  nesting = 0;
  try {
    return readRequest();
  } finally {
    // Not kept alive by the reader until the next request.
    b = EMPTY;
  }
}

/** The request at the reader's position, then its binary data. */
function readRequest(): V2Request {
  ws();
  if (p >= end) throw malformed('the body is empty');
  if (b[p] !== 0x7b) {
    skip();
    ws();
    if (p < end) throw unexpected();
    throw invalid('body', 'must be object');
  }
  p++;
  const request: Partial<V2Request> = {};
  if (!empty(0x7d)) {
    do {
      const key = string();
      expect(0x3a);
      if (key === 'id') request.id = text('body.id', 0, 1024);
      else if (key === 'parameters') request.parameters = objectOf('body.parameters');
      else if (key === 'inputs') request.inputs = list((i) => tensor(pathsOf(inputPaths, 'body.inputs', i)), MAX_INPUTS, 'body.inputs');
      else if (key === 'outputs') request.outputs = list((i) => output(pathsOf(outputPaths, 'body.outputs', i)), MAX_INPUTS, 'body.outputs');
      else skip();
    } while (more(0x7d));
  }
  ws();
  if (p < end) throw unexpected();
  if (!request.inputs) throw invalid('body.inputs', 'is required');
  if (request.inputs.length === 0) throw invalid('body.inputs', 'must NOT have fewer than 1 items');
  const inputs = request.inputs;
  readBinary(b, end, inputs);
  return request as V2Request;
}

/** The floats in `values` as the typed array of a float datatype (a copy: `values` may be scratch). */
function typedFloats(datatype: string, values: Float64Array): V2Tensor['data'] {
  if (datatype === 'FP16') {
    const half = allocatePooled('float16', values.length);
    for (let i = 0; i < values.length; i++) half[i] = toFloat16Bits(values[i]);
    return half;
  }
  const out = allocatePooled(datatype === 'FP32' ? 'float32' : 'float64', values.length);
  out.set(values);
  return out;
}

/** Bytes a list of plain JSON numbers can hold besides its brackets. */
const NUMERIC_BYTE = new Uint8Array(256);
for (const c of '0123456789+-.eE, \t\r\n') NUMERIC_BYTE[c.charCodeAt(0)] = 1;

const BYTES_PER: Record<string, number> = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8 };

/** The typed array for `count` elements of a datatype over `bytes` (copied when unaligned). */
function typedOf(datatype: string, bytes: Buffer): V2Tensor['data'] {
  const size = BYTES_PER[datatype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : Buffer.from(bytes);
  const { buffer, byteOffset } = aligned;
  const n = bytes.length / size;
  switch (datatype) {
    case 'FP32':
      return new Float32Array(buffer, byteOffset, n);
    case 'FP64':
      return new Float64Array(buffer, byteOffset, n);
    case 'FP16':
    case 'UINT16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'INT16':
      return new Int16Array(buffer, byteOffset, n);
    case 'INT32':
      return new Int32Array(buffer, byteOffset, n);
    case 'UINT32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'INT64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'UINT64':
      return new BigUint64Array(buffer, byteOffset, n);
    case 'INT8':
      return new Int8Array(buffer, byteOffset, n);
    case 'BOOL':
      return Uint8Array.from(bytes, (v) => (v === 0 ? 0 : 1));
    default:
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** BYTES elements: each a 4-byte little-endian length, then that many bytes (UTF-8 text here). */
export function readBytesElements(bytes: Buffer, field: string): string[] {
  const out: string[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (p + 4 > bytes.length) throw invalid(field, `BYTES element ${out.length}: its 4-byte length is cut off`);
    const n = bytes.readUInt32LE(p);
    p += 4;
    if (p + n > bytes.length) throw invalid(field, `BYTES element ${out.length}: ${n} bytes announced, ${bytes.length - p} left`);
    out.push(bytes.toString('utf8', p, p + n));
    p += n;
  }
  return out;
}

/** Hands each input that declares `binary_data_size` its bytes from after the JSON header. */
function readBinary(body: Buffer, headerEnd: number, inputs: V2Tensor[]): void {
  let offset = headerEnd;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    const size = t.parameters?.binary_data_size;
    if (size === undefined) continue;
    const field = `body.inputs.${i}.parameters.binary_data_size`;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw invalid(field, 'must be a whole number of bytes');
    if (offset + size > body.length) throw invalid(field, `is ${size} bytes, but only ${body.length - offset} bytes of binary data are left`);
    const bytes = body.subarray(offset, offset + size);
    offset += size;
    if (t.datatype === 'BYTES') t.data = readBytesElements(bytes, field);
    else {
      const width = BYTES_PER[t.datatype];
      if (size % width !== 0) throw invalid(field, `${size} bytes do not hold whole ${t.datatype} elements (${width} bytes each)`);
      t.data = typedOf(t.datatype, bytes);
    }
  }
  if (offset !== body.length) {
    throw invalidArgument(`body: ${body.length - offset} bytes after the JSON${offset > headerEnd ? ' and the binary inputs' : ''} belong to no input (set parameters.binary_data_size on each binary input)`, { field: 'body' });
  }
}

/**
 * A V2 answer: JSON text, or (binary outputs asked for) the bytes of a JSON header of
 * `headerLength` bytes and the outputs' bytes. The JSON is kept as text because Node's HTTP
 * server sends a text body in one write with its headers; bytes cost a conversion and a
 * second buffer in the write.
 */
export type V2Answer = { body: string; headerLength?: undefined } | { body: Buffer; headerLength: number };

/** Whether an output goes out as binary data: its own `binary_data`, else the request's `binary_data_output`. */
function binaryWanted(name: string, request: Pick<V2Request, 'parameters' | 'outputs'>): boolean {
  const own = request.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
  if (typeof own === 'boolean') return own;
  return request.parameters?.binary_data_output === true;
}

/**
 * A column's elements as the text of a JSON list. Typed arrays join their elements as
 * JavaScript prints numbers: NaN, Infinity and -Infinity as those words (what Triton writes),
 * and 64-bit integers with every digit.
 */
function jsonData(col: Column): string {
  const a = col.data;
  switch (col.dtype) {
    case 'string':
      return JSON.stringify(a);
    case 'bool': {
      let s = '';
      for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + (a[i] === 0 ? 'false' : 'true');
      return `[${s}]`;
    }
    case 'float16': {
      let s = '';
      for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + fromFloat16Bits(a[i] as number);
      return `[${s}]`;
    }
    default:
      return `[${(a as NumericArray).join(',')}]`;
  }
}

/** A column's elements in the binary extension's layout: raw little-endian elements, or length-prefixed BYTES. */
function binaryData(col: Column): Buffer {
  if (col.dtype !== 'string') {
    const a = col.data as NumericArray;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }
  const parts = (col.data as string[]).map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, x) => n + 4 + x.length, 0));
  let p = 0;
  for (const x of parts) {
    out.writeUInt32LE(x.length, p);
    x.copy(out, p + 4);
    p += 4 + x.length;
  }
  return out;
}

/**
 * Text that is the same in every answer of a model (its name and version) or of an output (its
 * name, datatype and per-row shape), kept once made: JSON-quoting the names and joining the
 * pieces cost each answer about a microsecond. Keyed by name and checked against the rest, so
 * a name that means something else (another model's output, a new version) makes it anew; the
 * few names a server answers for stay well under the bound.
 */
const MAX_CACHED = 1024;
const answerHeads = new Map<string, { version: number; text: string }>();
const outputHeads = new Map<string, { dtype: DType; shape: readonly number[]; text: string; dims: string }>();

/** `{"model_name":…,"model_version":"…"` */
function answerHead(model: string, version: number): string {
  let head = answerHeads.get(model);
  if (head === undefined || head.version !== version) {
    if (answerHeads.size >= MAX_CACHED) answerHeads.clear();
    head = { version, text: `{"model_name":${JSON.stringify(model)},"model_version":"${version}"` };
    answerHeads.set(model, head);
  }
  return head.text;
}

/** An output's `{"name":…,"datatype":…,"shape":[` and its per-row dimensions joined by commas. */
function outputHead(name: string, col: Column): { text: string; dims: string } {
  let head = outputHeads.get(name);
  if (head === undefined || head.dtype !== col.dtype || !sameShape(head.shape, col.shape)) {
    if (outputHeads.size >= MAX_CACHED) outputHeads.clear();
    head = { dtype: col.dtype, shape: [...col.shape], text: `{"name":${JSON.stringify(name)},"datatype":"${DTYPE_TO_V2[col.dtype]}","shape":[`, dims: col.shape.join(',') };
    outputHeads.set(name, head);
  }
  return head;
}

/**
 * The answer to one inference request, written as text without an intermediate object.
 * `scalar`: every input was a scalar (`"shape": []`), so outputs lose their batch dimension too.
 */
export function writeV2Response(out: Batch, model: string, version: number, request: Pick<V2Request, 'id' | 'parameters' | 'outputs'>, scalar = false): V2Answer {
  let json = answerHead(model, version);
  if (request.id !== undefined) json += `,"id":${JSON.stringify(request.id)}`;
  json += ',"outputs":[';
  // Most requests ask for no output by name and no binary data: then none is looked up.
  const mayBinary = request.outputs !== undefined || request.parameters?.binary_data_output === true;
  const binary: Buffer[] = [];
  const batchDim = scalar && out.rows === 1 ? '' : String(out.rows);
  let first = true;
  for (const [name, col] of out.columns) {
    const head = outputHead(name, col);
    const dims = col.shape.length === 0 ? batchDim : batchDim === '' ? head.dims : `${batchDim},${head.dims}`;
    json += `${first ? '' : ','}${head.text}${dims}]`;
    first = false;
    if (mayBinary && binaryWanted(name, request)) {
      const bytes = binaryData(col);
      binary.push(bytes);
      json += `,"parameters":{"binary_data_size":${bytes.length}}}`;
    } else json += `,"data":${jsonData(col)}}`;
  }
  json += ']}';
  if (binary.length === 0) return { body: json };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...binary]), headerLength: header.length };
}
