/**
 * Logged requests in a compact form: numbers of every column of every request in one
 * Float64Array (float32 and float16 columns in a Float32Array, at half the bytes), text in one array, and the column layouts once per distinct layout. A request is
 * packed when it is recorded, so its Batches die young instead of waiting in a queue until they
 * have been copied by a garbage collection or two. The packed form is also what the store keeps
 * (a segment: one binary value per flushed batch of one deployment); rows and their JSON are
 * built from it on reading.
 */
import { fromFloat16Bits, nest, rowSize, type Batch } from '../../models/batch.js';
import type { PredictionRecord } from './types.js';

/**
 * 'num': finite or NaN numbers; 'f32': numbers of float32 or float16 columns, in the float32
 * slots; 'str': text; 'i64'/'u64': 64-bit integers, their bits stored in the number slots;
 * 'json': a whole row's object as JSON text (rows logged before segments).
 */
type Kind = 'num' | 'f32' | 'str' | 'i64' | 'u64' | 'json';

interface ColumnLayout {
  name: string;
  kind: Kind;
  shape: readonly number[];
}

export interface PackedEntries {
  requestIds: string[];
  deployments: string[];
  models: string[];
  versions: number[];
  variants: string[];
  times: number[];
  latencies: number[];
  rows: number[];
  outputRows: number[];
  /** Per entry: index into `layouts` of its inputs and of its outputs. */
  inputLayout: number[];
  outputLayout: number[];
  /** Per entry: where its values start in `nums`, `f32s` and `strs`. */
  numStart: number[];
  f32Start: number[];
  strStart: number[];
  layouts: ColumnLayout[][];
  nums: Float64Array;
  f32s: Float32Array;
  strs: string[];
}

function kindOf(dtype: string): Kind {
  switch (dtype) {
    case 'string':
      return 'str';
    case 'int64':
      return 'i64';
    case 'uint64':
      return 'u64';
    case 'float32':
    case 'float16':
      return 'f32';
    default:
      return 'num';
  }
}

/** True when the batch's columns have exactly this layout (names, kinds and shapes, in order). */
function sameLayout(layout: ColumnLayout[], batch: Batch): boolean {
  const columns = batch.columns;
  if (layout.length !== columns.size) return false;
  // Keys and values apart: destructured entries cost an array per column on the hot path.
  let i = 0;
  for (const name of columns.keys()) if (layout[i++].name !== name) return false;
  i = 0;
  for (const col of columns.values()) {
    const l = layout[i++];
    if (l.kind !== kindOf(col.dtype) || l.shape.length !== col.shape.length) return false;
    for (let d = 0; d < l.shape.length; d++) if (l.shape[d] !== col.shape[d]) return false;
  }
  return true;
}

/** Slots a batch takes in `nums` (every non-text value but float32 ones) and in `f32s`. */
function slotsOf(batch: Batch): { nums: number; f32s: number } {
  let nums = 0;
  let f32s = 0;
  for (const col of batch.columns.values()) {
    if (col.dtype === 'float32' || col.dtype === 'float16') f32s += col.data.length;
    else if (col.dtype !== 'string') nums += col.data.length;
  }
  return { nums, f32s };
}

/** The fields of a packed batch that hold one element per request. */
const ENTRY_FIELDS = [
  'requestIds', 'deployments', 'models', 'versions', 'variants', 'times', 'latencies', 'rows', 'outputRows',
  'inputLayout', 'outputLayout', 'numStart', 'f32Start', 'strStart',
] as const;
type Entry = { [F in (typeof ENTRY_FIELDS)[number]]: PackedEntries[F][number] };

const emptyPacked = (layouts: ColumnLayout[][], nums: Float64Array, f32s: Float32Array): PackedEntries => ({
  ...(Object.fromEntries(ENTRY_FIELDS.map((f) => [f, []])) as unknown as Pick<PackedEntries, (typeof ENTRY_FIELDS)[number]>),
  layouts,
  nums,
  f32s,
  strs: [],
});

/** One entry's fields onto a packed batch (written out: a loop over ENTRY_FIELDS cost `record()` a tenth of its time). */
function pushEntry(p: PackedEntries, e: Entry): void {
  p.requestIds.push(e.requestIds);
  p.deployments.push(e.deployments);
  p.models.push(e.models);
  p.versions.push(e.versions);
  p.variants.push(e.variants);
  p.times.push(e.times);
  p.latencies.push(e.latencies);
  p.rows.push(e.rows);
  p.outputRows.push(e.outputRows);
  p.inputLayout.push(e.inputLayout);
  p.outputLayout.push(e.outputLayout);
  p.numStart.push(e.numStart);
  p.f32Start.push(e.f32Start);
  p.strStart.push(e.strStart);
}

/** Packs requests one at a time; `seal` hands over what it holds and starts afresh. */
export class PackBuilder {
  private packed: PackedEntries;
  private nums: Float64Array;
  /** `nums` seen as 64-bit integers, for int64 columns' bits. */
  private ints: BigInt64Array;
  private f32s: Float32Array;
  private k = 0;
  private j = 0;
  /** Requests of one deployment nearly always share a layout: the last match is tried first. */
  private lastLayout = -1;
  rowCount = 0;

  constructor(initialSlots = 4096) {
    this.nums = new Float64Array(initialSlots);
    this.ints = new BigInt64Array(this.nums.buffer);
    this.f32s = new Float32Array(initialSlots);
    this.packed = emptyPacked([], this.nums, this.f32s);
  }

  get entries(): number {
    return this.packed.requestIds.length;
  }

  append(e: PredictionRecord): void {
    const p = this.packed;
    // Everything that can throw runs before anything is pushed: a bad entry leaves no trace.
    const li = this.layoutOf(e.inputs);
    const lo = this.layoutOf(e.outputs);
    const a = slotsOf(e.inputs);
    const b = slotsOf(e.outputs);
    if (this.k + a.nums + b.nums > this.nums.length) {
      this.nums = grown(this.nums, this.k, this.k + a.nums + b.nums);
      this.ints = new BigInt64Array(this.nums.buffer);
    }
    if (this.j + a.f32s + b.f32s > this.f32s.length) this.f32s = grown(this.f32s, this.j, this.j + a.f32s + b.f32s);
    pushEntry(p, {
      requestIds: e.requestId, deployments: e.deployment, models: e.model, versions: e.version, variants: e.variant,
      // Microseconds are all a request's latency needs; the shorter number is cheaper to store.
      times: e.timeMs, latencies: Math.round(e.latencyMs * 1000) / 1000, rows: e.inputs.rows, outputRows: e.outputs.rows,
      inputLayout: li, outputLayout: lo, numStart: this.k, f32Start: this.j, strStart: p.strs.length,
    });
    this.packBatch(e.inputs);
    this.packBatch(e.outputs);
    this.rowCount += e.inputs.rows;
  }

  /** What is packed so far, without sealing: valid until the next append or seal. */
  peek(): PackedEntries {
    return { ...this.packed, nums: this.nums.subarray(0, this.k), f32s: this.f32s.subarray(0, this.j) };
  }

  seal(): PackedEntries {
    const out = { ...this.packed, nums: this.nums.slice(0, this.k), f32s: this.f32s.slice(0, this.j) };
    // The number buffers are kept for the next batch: fresh ones would grow (and be zeroed) again.
    this.packed = emptyPacked([], this.nums, this.f32s);
    this.k = 0;
    this.j = 0;
    this.lastLayout = -1;
    this.rowCount = 0;
    return out;
  }

  private layoutOf(batch: Batch): number {
    const layouts = this.packed.layouts;
    if (this.lastLayout >= 0 && sameLayout(layouts[this.lastLayout], batch)) return this.lastLayout;
    const found = layouts.findIndex((l) => sameLayout(l, batch));
    if (found >= 0) return (this.lastLayout = found);
    layouts.push([...batch.columns].map(([name, col]) => ({ name, kind: kindOf(col.dtype), shape: col.shape })));
    return (this.lastLayout = layouts.length - 1);
  }

  private packBatch(batch: Batch): void {
    const nums = this.nums;
    const f32s = this.f32s;
    for (const col of batch.columns.values()) {
      const data = col.data;
      if (col.dtype === 'string') {
        for (let i = 0; i < data.length; i++) this.packed.strs.push((data as string[])[i]);
      } else if (col.dtype === 'int64' || col.dtype === 'uint64') {
        // The integers' own bits, so values past 2^53 stay exact (a uint64 array reads as int64 alike).
        const bits = data instanceof BigInt64Array ? data : new BigInt64Array((data as BigUint64Array).buffer, (data as BigUint64Array).byteOffset, data.length);
        this.ints.set(bits, this.k);
        this.k += data.length;
      } else if (col.dtype === 'float32') {
        f32s.set(data as Float32Array, this.j);
        this.j += data.length;
      } else if (col.dtype === 'float16') {
        // Every float16 value is exact in float32.
        for (let i = 0; i < data.length; i++) f32s[this.j++] = fromFloat16Bits((data as Uint16Array)[i]);
      } else {
        nums.set(data as ArrayLike<number>, this.k);
        this.k += data.length;
      }
    }
  }
}

/** `buffer` with room for `need` values, its first `used` kept. */
function grown<T extends Float64Array | Float32Array>(buffer: T, used: number, need: number): T {
  const out = new (buffer.constructor as new (n: number) => T)(Math.max(need, buffer.length * 2));
  out.set(buffer.subarray(0, used));
  return out;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** 64-bit integers are numbers while exact, decimal text beyond 2^53 (as JSON would need them). */
const bigValue = (b: bigint): number | string => (b <= SAFE && b >= -SAFE ? Number(b) : String(b));

interface Cursor {
  num: number;
  f32: number;
  str: number;
  /** The number slots read as 64-bit integers, made on first use. */
  i64?: BigInt64Array;
  u64?: BigUint64Array;
}

/** Missing and non-finite numbers read as null, as they would travel in JSON. */
function scalar(col: ColumnLayout, packed: PackedEntries, cursor: Cursor): unknown {
  switch (col.kind) {
    case 'num': {
      const v = packed.nums[cursor.num++];
      return Number.isFinite(v) ? v : null;
    }
    case 'f32': {
      const v = packed.f32s[cursor.f32++];
      return Number.isFinite(v) ? v : null;
    }
    case 'i64':
      cursor.i64 ??= new BigInt64Array(packed.nums.buffer, packed.nums.byteOffset, packed.nums.length);
      return bigValue(cursor.i64[cursor.num++]);
    case 'u64':
      cursor.u64 ??= new BigUint64Array(packed.nums.buffer, packed.nums.byteOffset, packed.nums.length);
      return bigValue(cursor.u64[cursor.num++]);
    default:
      return packed.strs[cursor.str++];
  }
}

function cell(col: ColumnLayout, packed: PackedEntries, cursor: Cursor): unknown {
  if (col.shape.length === 0) return scalar(col, packed, cursor);
  const flat: unknown[] = [];
  for (let i = rowSize(col.shape); i > 0; i--) flat.push(scalar(col, packed, cursor));
  return nest(flat, col.shape);
}

/** Reads one batch's columns from the packed arrays (column after column) as one object per row. */
function batchObjects(layout: ColumnLayout[], rows: number, packed: PackedEntries, cursor: Cursor): Record<string, unknown>[] {
  if (layout.length === 1 && layout[0].kind === 'json') return Array.from({ length: rows }, () => JSON.parse(packed.strs[cursor.str++]) as Record<string, unknown>);
  const out = Array.from({ length: rows }, (): Record<string, unknown> => ({}));
  for (const col of layout) for (let r = 0; r < rows; r++) out[r][col.name] = cell(col, packed, cursor);
  return out;
}

/** One logged row as read back. */
export interface LogRow {
  request_id: string;
  row_index: number;
  deployment: string;
  model: string;
  version: number;
  variant: string;
  time_ms: number;
  latency_ms: number;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** A row as the row-per-row table stored it (inputs and outputs as JSON text), before segments. */
export type LegacyRow = Omit<LogRow, 'inputs' | 'outputs'> & { inputs: string; outputs: string };

/** The rows of entry `e` alone (the entry's offsets make this independent of the others). */
export function entryRows(packed: PackedEntries, e: number): LogRow[] {
  const cursor: Cursor = { num: packed.numStart[e], f32: packed.f32Start[e], str: packed.strStart[e] };
  const rows = packed.rows[e];
  const inputs = batchObjects(packed.layouts[packed.inputLayout[e]], rows, packed, cursor);
  const outputs = batchObjects(packed.layouts[packed.outputLayout[e]], packed.outputRows[e], packed, cursor);
  const out: LogRow[] = [];
  for (let r = 0; r < rows; r++) {
    out.push({
      request_id: packed.requestIds[e],
      row_index: r,
      deployment: packed.deployments[e],
      model: packed.models[e],
      version: packed.versions[e],
      variant: packed.variants[e],
      time_ms: packed.times[e],
      latency_ms: packed.latencies[e],
      inputs: inputs[r],
      outputs: outputs[r] ?? {},
    });
  }
  return out;
}

/** The entries `keep` (ascending indices) of a packed batch, as a packed batch of their own. */
export function selectEntries(packed: PackedEntries, keep: readonly number[]): PackedEntries {
  const n = packed.requestIds.length;
  const numEnd = (e: number) => (e + 1 < n ? packed.numStart[e + 1] : packed.nums.length);
  const f32End = (e: number) => (e + 1 < n ? packed.f32Start[e + 1] : packed.f32s.length);
  const strEnd = (e: number) => (e + 1 < n ? packed.strStart[e + 1] : packed.strs.length);
  let numCount = 0;
  let f32Count = 0;
  for (const e of keep) {
    numCount += numEnd(e) - packed.numStart[e];
    f32Count += f32End(e) - packed.f32Start[e];
  }
  const out = emptyPacked(packed.layouts, new Float64Array(numCount), new Float32Array(f32Count));
  let k = 0;
  let j = 0;
  for (const e of keep) {
    const entry = Object.fromEntries(ENTRY_FIELDS.map((f) => [f, packed[f][e]])) as Entry;
    pushEntry(out, { ...entry, numStart: k, f32Start: j, strStart: out.strs.length });
    out.nums.set(packed.nums.subarray(packed.numStart[e], numEnd(e)), k);
    out.f32s.set(packed.f32s.subarray(packed.f32Start[e], f32End(e)), j);
    k += numEnd(e) - packed.numStart[e];
    j += f32End(e) - packed.f32Start[e];
    for (let i = packed.strStart[e]; i < strEnd(e); i++) out.strs.push(packed.strs[i]);
  }
  return out;
}

/**
 * Segment format, the first byte of every stored segment. 1: numbers as float64 only (no float32
 * slots); 2: float64 numbers, then float32 ones. Both are read.
 */
const SEGMENT_FORMAT = 2;

const align = (n: number, to: number) => n + ((to - (n % to)) % to);

/**
 * Per-entry fields that usually hold one value for a whole segment (one deployment, model
 * version and layout; one-row requests): format 2 stores such a field as that one value.
 */
const UNIFORM_FIELDS = ['deployments', 'models', 'versions', 'variants', 'rows', 'outputRows', 'inputLayout', 'outputLayout'] as const;

/**
 * A packed batch as one binary value: format byte, header length, the header (everything but
 * the numbers) as JSON, padding to 8 bytes, then the numbers as little-endian float64 and the
 * float32 ones (copied as they lie in memory on the little-endian machines Node runs on).
 */
export function encodeSegment(packed: PackedEntries): Buffer {
  const { nums, f32s, ...rest } = packed;
  const fields: Record<string, unknown> = { ...rest, numCount: nums.length, entries: rest.requestIds.length };
  for (const f of UNIFORM_FIELDS) {
    const values = rest[f] as unknown[];
    if (values.length > 0 && values.every((v) => v === values[0])) fields[f] = { all: values[0] };
  }
  const header = Buffer.from(JSON.stringify(fields));
  const start = align(8 + header.length, 8);
  const out = Buffer.allocUnsafe(start + nums.byteLength + f32s.byteLength);
  out.fill(0, 0, start);
  out.writeUInt8(SEGMENT_FORMAT, 0);
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  Buffer.from(nums.buffer, nums.byteOffset, nums.byteLength).copy(out, start);
  Buffer.from(f32s.buffer, f32s.byteOffset, f32s.byteLength).copy(out, start + nums.byteLength);
  return out;
}

export function decodeSegment(data: Uint8Array): PackedEntries {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const format = buf.length < 8 ? -1 : buf.readUInt8(0);
  if (format !== 1 && format !== 2) throw new Error(`prediction-log segment: unknown format ${buf.length < 1 ? '(empty)' : buf[0]}`);
  const headerLength = buf.readUInt32LE(4);
  const start = align(8 + headerLength, 8);
  const { numCount, entries, ...rest } = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Omit<PackedEntries, 'nums' | 'f32s'> & { numCount?: number; entries?: number };
  for (const f of UNIFORM_FIELDS) {
    const stored = rest[f] as unknown;
    if (stored && typeof stored === 'object' && 'all' in stored) (rest as Record<string, unknown>)[f] = new Array<unknown>(entries!).fill(stored.all);
  }
  const numEnd = format === 1 ? buf.length : start + numCount! * 8;
  // Copies: the driver's buffer need not be aligned for typed arrays.
  const nums = new Float64Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + numEnd));
  const f32s = new Float32Array(buf.buffer.slice(buf.byteOffset + numEnd, buf.byteOffset + buf.length));
  if (format === 1) rest.f32Start = rest.numStart.map(() => 0);
  return { ...rest, nums, f32s };
}

/** Legacy rows (JSON text per row) as one packed batch, a request per entry. */
export function packJsonRows(rows: readonly LegacyRow[]): PackedEntries {
  const json: ColumnLayout[] = [{ name: '', kind: 'json', shape: [] }];
  const packed = emptyPacked([json], new Float64Array(0), new Float32Array(0));
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j < rows.length && rows[j].request_id === rows[i].request_id) j++;
    const r = rows[i];
    pushEntry(packed, {
      requestIds: r.request_id, deployments: r.deployment, models: r.model, versions: r.version, variants: r.variant,
      times: r.time_ms, latencies: r.latency_ms, rows: j - i, outputRows: j - i,
      inputLayout: 0, outputLayout: 0, numStart: 0, f32Start: 0, strStart: packed.strs.length,
    });
    for (let k = i; k < j; k++) packed.strs.push(rows[k].inputs);
    for (let k = i; k < j; k++) packed.strs.push(rows[k].outputs);
    i = j;
  }
  return packed;
}
