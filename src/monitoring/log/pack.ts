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

/** What answered an entry; the entries of a batch share one or a few. */
export interface Source {
  deployment: string;
  model: string;
  version: number;
  variant: string;
}

/**
 * The per-entry numbers, one typed array each: a sealed batch crosses to the writer thread as a
 * few memory copies, where arrays of numbers and strings cost the serving thread's structured
 * clone about 2,000 instructions per request.
 */
const NUMERIC_FIELDS = ['idStart', 'source', 'times', 'latencies', 'rows', 'outputRows', 'inputLayout', 'outputLayout', 'numStart', 'f32Start', 'strStart', 'keyStart'] as const;
type NumericField = (typeof NUMERIC_FIELDS)[number];

export interface PackedEntries {
  /**
   * The request ids' UTF-8 bytes back to back (entry e's from `idStart[e]` to the next entry's
   * start): ids kept as strings survived the young generation and cost the serving thread's
   * collections and structured clones about 6,000 instructions per logged request.
   */
  ids: Uint8Array;
  idStart: Float64Array;
  /**
   * Per entry: where the key its variant was chosen by starts in `ids`, after its request id
   * (none when the key is the request id, as it is without a user id; NaN when the entry was
   * logged before keys were).
   */
  keyStart: Float64Array;
  sources: Source[];
  /** Per entry: index into `sources`. */
  source: Float64Array;
  times: Float64Array;
  latencies: Float64Array;
  rows: Float64Array;
  outputRows: Float64Array;
  /** Per entry: index into `layouts` of its inputs and of its outputs. */
  inputLayout: Float64Array;
  outputLayout: Float64Array;
  /** Per entry: where its values start in `nums`, `f32s` and `strs`. */
  numStart: Float64Array;
  f32Start: Float64Array;
  strStart: Float64Array;
  layouts: ColumnLayout[][];
  nums: Float64Array;
  f32s: Float32Array;
  strs: string[];
}

type EntryFields = Pick<PackedEntries, 'ids' | 'sources' | NumericField>;

type NumericColumns = Record<NumericField, Float64Array>;

const utf8 = new TextEncoder();

/** How many entries a packed batch holds. */
export const entryCount = (packed: PackedEntries): number => packed.idStart.length;

/** Entry e's request id. */
export function requestIdOf(packed: PackedEntries, e: number): string {
  const keyStart = packed.keyStart[e];
  return idText(packed, packed.idStart[e], Number.isNaN(keyStart) ? idEnd(packed, e) : keyStart);
}

/** Entry e's routing key (undefined when it was logged before keys were). */
export function keyOf(packed: PackedEntries, e: number): string | undefined {
  const keyStart = packed.keyStart[e];
  if (Number.isNaN(keyStart)) return undefined;
  const end = idEnd(packed, e);
  return end === keyStart ? requestIdOf(packed, e) : idText(packed, keyStart, end);
}

const idEnd = (packed: PackedEntries, e: number): number => (e + 1 < packed.idStart.length ? packed.idStart[e + 1] : packed.ids.length);

const idText = (packed: PackedEntries, from: number, to: number): string =>
  Buffer.from(packed.ids.buffer, packed.ids.byteOffset, packed.ids.byteLength).toString('utf8', from, to);

/** Written out, not built from NUMERIC_FIELDS: an object made by key turned out slow to read and write. */
function numericColumns(make: (field: NumericField) => Float64Array): NumericColumns {
  return {
    idStart: make('idStart'), source: make('source'), times: make('times'), latencies: make('latencies'), rows: make('rows'), outputRows: make('outputRows'),
    inputLayout: make('inputLayout'), outputLayout: make('outputLayout'), numStart: make('numStart'), f32Start: make('f32Start'), strStart: make('strStart'),
    keyStart: make('keyStart'),
  };
}

/**
 * Per-entry fields being filled, with room to grow: `take` hands over copies at their length,
 * `view` shows them in place.
 */
class EntryColumns {
  readonly sources: Source[] = [];
  private columns: NumericColumns;
  private ids: Uint8Array;
  private idBytes = 0;
  private last = -1;
  count = 0;

  constructor(capacity = 64) {
    this.columns = numericColumns(() => new Float64Array(capacity));
    this.ids = new Uint8Array(capacity * 36);
  }

  /** The index of this source, added on first sight (the last one is tried first). */
  sourceOf(deployment: string, model: string, version: number, variant: string): number {
    const last = this.last >= 0 ? this.sources[this.last] : undefined;
    if (last && last.deployment === deployment && last.model === model && last.version === version && last.variant === variant) return this.last;
    let i = this.sources.findIndex((s) => s.deployment === deployment && s.model === model && s.version === version && s.variant === variant);
    if (i < 0) i = this.sources.push({ deployment, model, version, variant }) - 1;
    return (this.last = i);
  }

  /** `key` null: not known (entries logged before keys were); undefined or the request id: stored as nothing. */
  add(
    requestId: string, key: string | null | undefined, source: number, time: number, latency: number, rows: number, outputRows: number,
    inputLayout: number, outputLayout: number, numStart: number, f32Start: number, strStart: number,
  ): void {
    const n = this.count;
    if (n === this.columns.times.length) this.columns = numericColumns((f) => grown(this.columns[f], n, n + 1));
    const c = this.columns;
    c.idStart[n] = this.idBytes;
    this.putId(requestId);
    c.keyStart[n] = key === null ? NaN : this.idBytes;
    if (key && key !== requestId) this.putId(key);
    c.source[n] = source;
    c.times[n] = time;
    c.latencies[n] = latency;
    c.rows[n] = rows;
    c.outputRows[n] = outputRows;
    c.inputLayout[n] = inputLayout;
    c.outputLayout[n] = outputLayout;
    c.numStart[n] = numStart;
    c.f32Start[n] = f32Start;
    c.strStart[n] = strStart;
    this.count = n + 1;
  }

  /** ASCII (every id modelport makes) byte by byte; anything else through the encoder. */
  private putId(id: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.idBytes + id.length * 3 > this.ids.length) this.ids = grown(this.ids, this.idBytes, this.idBytes + id.length * 3);
    const ids = this.ids;
    let p = this.idBytes;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) {
        this.idBytes += utf8.encodeInto(id, ids.subarray(this.idBytes)).written;
        return;
      }
      ids[p++] = c;
    }
    this.idBytes = p;
  }

  take(): EntryFields {
    return { ids: this.ids.slice(0, this.idBytes), sources: this.sources, ...numericColumns((f) => this.columns[f].slice(0, this.count)) };
  }

  view(): EntryFields {
    return { ids: this.ids.subarray(0, this.idBytes), sources: this.sources, ...numericColumns((f) => this.columns[f].subarray(0, this.count)) };
  }
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

/**
 * A layout as the builder matches and packs it: its columns with the slots a row takes in the
 * number and float32 arrays, worked out once per layout rather than once per request.
 */
interface BuilderLayout {
  columns: ColumnLayout[];
  nums: number;
  f32s: number;
}

function builderLayout(batch: Batch): BuilderLayout {
  const out: BuilderLayout = { columns: [], nums: 0, f32s: 0 };
  for (const [name, col] of batch.columns) {
    const kind = kindOf(col.dtype);
    out.columns.push({ name, kind, shape: col.shape });
    const size = rowSize(col.shape);
    if (kind === 'f32') out.f32s += size;
    else if (kind !== 'str') out.nums += size;
  }
  return out;
}

/**
 * True when the batch has exactly this layout's columns (names, kinds and shapes), in any
 * order: packing walks the layout's order. Lookups by name, not the Map's iterators, which
 * cost `record()` a third of its time.
 */
function sameLayout(layout: BuilderLayout, batch: Batch): boolean {
  const columns = batch.columns;
  const cols = layout.columns;
  if (cols.length !== columns.size) return false;
  for (let i = 0; i < cols.length; i++) {
    const l = cols[i];
    const col = columns.get(l.name);
    if (col === undefined || l.kind !== kindOf(col.dtype) || l.shape.length !== col.shape.length) return false;
    for (let d = 0; d < l.shape.length; d++) if (l.shape[d] !== col.shape[d]) return false;
  }
  return true;
}

/** Packs requests one at a time; `seal` hands over what it holds and starts afresh. */
export class PackBuilder {
  private fields = new EntryColumns();
  /** The batch's layouts, with what packing needs of each. */
  private layouts: BuilderLayout[] = [];
  private strs: string[] = [];
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
  }

  get entries(): number {
    return this.fields.count;
  }

  append(e: PredictionRecord): void {
    const inputs = e.inputs;
    const outputs = e.outputs;
    // Everything that can throw runs before anything is added: a bad entry leaves no trace.
    const li = this.layoutOf(inputs);
    const lo = this.layoutOf(outputs);
    const a = this.layouts[li];
    const b = this.layouts[lo];
    const nums = a.nums * inputs.rows + b.nums * outputs.rows;
    const f32s = a.f32s * inputs.rows + b.f32s * outputs.rows;
    if (this.k + nums > this.nums.length) {
      this.nums = grown(this.nums, this.k, this.k + nums);
      this.ints = new BigInt64Array(this.nums.buffer);
    }
    if (this.j + f32s > this.f32s.length) this.f32s = grown(this.f32s, this.j, this.j + f32s);
    const fields = this.fields;
    fields.add(
      e.requestId, e.key, fields.sourceOf(e.deployment, e.model, e.version, e.variant), e.timeMs,
      // Microseconds are all a request's latency needs; the shorter number is cheaper to store.
      Math.round(e.latencyMs * 1000) / 1000,
      inputs.rows, outputs.rows, li, lo, this.k, this.j, this.strs.length,
    );
    this.packBatch(a.columns, inputs);
    this.packBatch(b.columns, outputs);
    this.rowCount += inputs.rows;
  }

  /** What is packed so far, without sealing: valid until the next append or seal. */
  peek(): PackedEntries {
    return { ...this.fields.view(), layouts: this.layouts.map((l) => l.columns), nums: this.nums.subarray(0, this.k), f32s: this.f32s.subarray(0, this.j), strs: this.strs };
  }

  seal(): PackedEntries {
    const out = { ...this.fields.take(), layouts: this.layouts.map((l) => l.columns), nums: this.nums.slice(0, this.k), f32s: this.f32s.slice(0, this.j), strs: this.strs };
    // The number buffers are kept for the next batch: fresh ones would grow (and be zeroed) again.
    this.fields = new EntryColumns(Math.max(64, entryCount(out)));
    this.layouts = [];
    this.strs = [];
    this.k = 0;
    this.j = 0;
    this.lastLayout = -1;
    this.rowCount = 0;
    return out;
  }

  private layoutOf(batch: Batch): number {
    const layouts = this.layouts;
    if (this.lastLayout >= 0 && sameLayout(layouts[this.lastLayout], batch)) return this.lastLayout;
    const found = layouts.findIndex((l) => sameLayout(l, batch));
    if (found >= 0) return (this.lastLayout = found);
    layouts.push(builderLayout(batch));
    return (this.lastLayout = layouts.length - 1);
  }

  /** The batch's columns in the layout's order. */
  private packBatch(layout: readonly ColumnLayout[], batch: Batch): void {
    const nums = this.nums;
    const f32s = this.f32s;
    for (let c = 0; c < layout.length; c++) {
      const col = batch.columns.get(layout[c].name)!;
      const data = col.data;
      if (col.dtype === 'string') {
        for (let i = 0; i < data.length; i++) this.strs.push((data as string[])[i]);
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
function grown<T extends Float64Array | Float32Array | Uint8Array>(buffer: T, used: number, need: number): T {
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
  /** The key the variant was chosen by (absent on rows logged before keys were). */
  key?: string;
  time_ms: number;
  latency_ms: number;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** A row as the row-per-row table stored it (inputs and outputs as JSON text), before segments. */
export type LegacyRow = Omit<LogRow, 'inputs' | 'outputs' | 'key'> & { inputs: string; outputs: string };

/** The rows of entry `e` alone (the entry's offsets make this independent of the others). */
export function entryRows(packed: PackedEntries, e: number): LogRow[] {
  const cursor: Cursor = { num: packed.numStart[e], f32: packed.f32Start[e], str: packed.strStart[e] };
  const rows = packed.rows[e];
  const inputs = batchObjects(packed.layouts[packed.inputLayout[e]], rows, packed, cursor);
  const outputs = batchObjects(packed.layouts[packed.outputLayout[e]], packed.outputRows[e], packed, cursor);
  const source = packed.sources[packed.source[e]];
  const requestId = requestIdOf(packed, e);
  const key = keyOf(packed, e);
  const out: LogRow[] = [];
  for (let r = 0; r < rows; r++) {
    out.push({
      request_id: requestId,
      row_index: r,
      deployment: source.deployment,
      model: source.model,
      version: source.version,
      variant: source.variant,
      ...(key === undefined ? {} : { key }),
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
  const n = entryCount(packed);
  const numEnd = (e: number) => (e + 1 < n ? packed.numStart[e + 1] : packed.nums.length);
  const f32End = (e: number) => (e + 1 < n ? packed.f32Start[e + 1] : packed.f32s.length);
  const strEnd = (e: number) => (e + 1 < n ? packed.strStart[e + 1] : packed.strs.length);
  let numCount = 0;
  let f32Count = 0;
  for (const e of keep) {
    numCount += numEnd(e) - packed.numStart[e];
    f32Count += f32End(e) - packed.f32Start[e];
  }
  const fields = new EntryColumns(Math.max(1, keep.length));
  const nums = new Float64Array(numCount);
  const f32s = new Float32Array(f32Count);
  const strs: string[] = [];
  let k = 0;
  let j = 0;
  for (const e of keep) {
    const s = packed.sources[packed.source[e]];
    const source = fields.sourceOf(s.deployment, s.model, s.version, s.variant);
    fields.add(requestIdOf(packed, e), keyOf(packed, e) ?? null, source, packed.times[e], packed.latencies[e], packed.rows[e], packed.outputRows[e], packed.inputLayout[e], packed.outputLayout[e], k, j, strs.length);
    nums.set(packed.nums.subarray(packed.numStart[e], numEnd(e)), k);
    f32s.set(packed.f32s.subarray(packed.f32Start[e], f32End(e)), j);
    k += numEnd(e) - packed.numStart[e];
    j += f32End(e) - packed.f32Start[e];
    for (let i = packed.strStart[e]; i < strEnd(e); i++) strs.push(packed.strs[i]);
  }
  return { ...fields.take(), layouts: packed.layouts, nums, f32s, strs };
}

/**
 * Segment format, the first byte of every stored segment. 1: a JSON header with per-entry
 * arrays, then numbers as float64 only; 2: the same, then float64 numbers and float32 ones;
 * 3: a JSON header with what is per batch only, then every array in binary; 4: format 3 with
 * the routing keys (their bytes after the ids', their starts after the other per-entry fields).
 * All are read.
 * Format 3 stores what the packed form holds as it lies: encoding it is a few memory copies,
 * where format 2's header (ids and per-entry numbers in JSON) cost the writer thread most of
 * its time per row.
 */
const SEGMENT_FORMAT = 4;

const align = (n: number, to: number) => n + ((to - (n % to)) % to);

/** Per-entry fields that usually hold one value throughout a segment: stored as that value. */
const UNIFORM_FIELDS = new Set<NumericField>(['source', 'rows', 'outputRows', 'inputLayout', 'outputLayout']);

/** Format 3's header. */
interface Header3 {
  entries: number;
  numCount: number;
  f32Count: number;
  idBytes: number;
  sources: Source[];
  layouts: ColumnLayout[][];
  strs: string[];
  /** Per-entry fields with one value throughout; the others follow the ids, float64 each, in NUMERIC_FIELDS order. */
  uniform: Partial<Record<NumericField, number>>;
}

/** `bytes` into `out` at `at`, whatever their element type. */
function put(out: Buffer, bytes: ArrayBufferView, at: number): number {
  out.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), at);
  return align(at + bytes.byteLength, 8);
}

/**
 * A packed batch as one binary value: format byte, header length, the header as JSON, then,
 * each from an 8-byte boundary, the float64 numbers, the float32 ones, the ids' bytes and the
 * per-entry fields that vary (little-endian, copied as they lie in memory on the little-endian
 * machines Node runs on).
 */
export function encodeSegment(packed: PackedEntries): Buffer {
  const { nums, f32s, ids } = packed;
  const n = entryCount(packed);
  const uniform: Header3['uniform'] = {};
  const varying: Float64Array[] = [];
  for (const f of NUMERIC_FIELDS) {
    const values = packed[f];
    let same = UNIFORM_FIELDS.has(f) && n > 0;
    for (let e = 1; same && e < n; e++) same = values[e] === values[0];
    if (same) uniform[f] = values[0];
    else varying.push(values);
  }
  const header: Header3 = { entries: n, numCount: nums.length, f32Count: f32s.length, idBytes: ids.length, sources: packed.sources, layouts: packed.layouts, strs: packed.strs, uniform };
  const json = Buffer.from(JSON.stringify(header));
  const start = align(8 + json.length, 8);
  let size = start + align(nums.byteLength, 8) + align(f32s.byteLength, 8) + align(ids.byteLength, 8);
  size += varying.length * n * 8;
  const out = Buffer.alloc(size);
  out.writeUInt8(SEGMENT_FORMAT, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  let at = put(out, nums, start);
  at = put(out, f32s, at);
  at = put(out, ids, at);
  for (const values of varying) at = put(out, values, at);
  return out;
}

export function decodeSegment(data: Uint8Array): PackedEntries {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const format = buf.length < 8 ? -1 : buf.readUInt8(0);
  if (format < 1 || format > 4) throw new Error(`prediction-log segment: unknown format ${buf.length < 1 ? '(empty)' : buf[0]}`);
  const headerLength = buf.readUInt32LE(4);
  const start = align(8 + headerLength, 8);
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as unknown;
  return format >= 3 ? decodeBinary(buf, start, header as Header3, format) : decodeJsonHeader(buf, format, start, header as StoredHeader);
}

/** Copies (the driver's buffer need not be aligned for typed arrays). */
function section<T extends Float64Array | Float32Array | Uint8Array>(make: new (b: ArrayBuffer) => T, buf: Buffer, at: number, bytes: number): T {
  return new make(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + bytes) as ArrayBuffer);
}

function decodeBinary(buf: Buffer, start: number, h: Header3, format: number): PackedEntries {
  const nums = section(Float64Array, buf, start, h.numCount * 8);
  let at = align(start + h.numCount * 8, 8);
  const f32s = section(Float32Array, buf, at, h.f32Count * 4);
  at = align(at + h.f32Count * 4, 8);
  const ids = section(Uint8Array, buf, at, h.idBytes);
  at = align(at + h.idBytes, 8);
  const field = (f: NumericField): Float64Array => {
    const one = h.uniform[f];
    if (one !== undefined) return new Float64Array(h.entries).fill(one);
    const values = section(Float64Array, buf, at, h.entries * 8);
    at += h.entries * 8;
    return values;
  };
  // In NUMERIC_FIELDS order, as they were written.
  const columns = {} as NumericColumns;
  for (const f of NUMERIC_FIELDS) columns[f] = format === 3 && f === 'keyStart' ? new Float64Array(h.entries).fill(NaN) : field(f);
  return { ids, sources: h.sources, ...numericColumns((f) => columns[f]), layouts: h.layouts, strs: h.strs, nums, f32s };
}

/** Formats 1 and 2: per-entry arrays in the header (or `{ all }` for one value throughout). */
type StoredHeader = Pick<PackedEntries, 'layouts' | 'strs'> & { requestIds: string[]; numCount?: number } & Record<string, unknown>;

/** The per-entry number fields formats 1 and 2 keep in their header (`source` is spelt out as four fields there). */
const JSON_NUMERIC = ['times', 'latencies', 'rows', 'outputRows', 'inputLayout', 'outputLayout', 'numStart', 'f32Start', 'strStart'] as const;

function decodeJsonHeader(buf: Buffer, format: number, start: number, header: StoredHeader): PackedEntries {
  const n = header.requestIds.length;
  const field = (f: string): unknown[] => {
    const stored = header[f];
    if (stored && typeof stored === 'object' && 'all' in stored) return new Array<unknown>(n).fill(stored.all);
    // Format 1 had no float32 slots: every entry's start in them is 0.
    return (stored as unknown[] | undefined) ?? new Array<unknown>(n).fill(0);
  };
  const fields = new EntryColumns(Math.max(1, n));
  const [deployments, models, versions, variants] = ['deployments', 'models', 'versions', 'variants'].map(field) as [string[], string[], number[], string[]];
  const numeric = Object.fromEntries(JSON_NUMERIC.map((f) => [f, field(f)])) as Record<(typeof JSON_NUMERIC)[number], number[]>;
  for (let e = 0; e < n; e++) {
    fields.add(
      header.requestIds[e], null, fields.sourceOf(deployments[e], models[e], versions[e], variants[e]), numeric.times[e], numeric.latencies[e],
      numeric.rows[e], numeric.outputRows[e], numeric.inputLayout[e], numeric.outputLayout[e], numeric.numStart[e], numeric.f32Start[e], numeric.strStart[e],
    );
  }
  const numEnd = format === 1 ? buf.length : start + header.numCount! * 8;
  const nums = section(Float64Array, buf, start, numEnd - start);
  const f32s = section(Float32Array, buf, numEnd, buf.length - numEnd);
  return { ...fields.take(), layouts: header.layouts, strs: header.strs, nums, f32s };
}

/** Legacy rows (JSON text per row) as one packed batch, a request per entry. */
export function packJsonRows(rows: readonly LegacyRow[]): PackedEntries {
  const json: ColumnLayout[] = [{ name: '', kind: 'json', shape: [] }];
  const fields = new EntryColumns();
  const strs: string[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j < rows.length && rows[j].request_id === rows[i].request_id) j++;
    const r = rows[i];
    fields.add(r.request_id, null, fields.sourceOf(r.deployment, r.model, r.version, r.variant), r.time_ms, r.latency_ms, j - i, j - i, 0, 0, 0, 0, strs.length);
    for (let k = i; k < j; k++) strs.push(rows[k].inputs);
    for (let k = i; k < j; k++) strs.push(rows[k].outputs);
    i = j;
  }
  return { ...fields.take(), layouts: [json], nums: new Float64Array(0), f32s: new Float32Array(0), strs };
}
