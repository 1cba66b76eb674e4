/**
 * Logged requests in a compact form: numbers of every column of every request in one
 * Float64Array, text in one array, and the column layouts once per distinct layout. A request is
 * packed when it is recorded, so its Batches die young instead of waiting in a queue until they
 * have been copied by a garbage collection or two. The packed form is also what the store keeps
 * (a segment: one binary value per flushed batch of one deployment); rows and their JSON are
 * built from it on reading.
 */
import { fromFloat16Bits, nest, rowSize, type Batch } from '../../models/batch.js';
import type { PredictionRecord } from './types.js';

/**
 * 'num': finite or NaN numbers; 'str': text; 'i64'/'u64': 64-bit integers, their bits stored
 * in the number slots; 'json': a whole row's object as JSON text (rows logged before segments).
 */
type Kind = 'num' | 'str' | 'i64' | 'u64' | 'json';

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
  /** Per entry: where its values start in `nums` and in `strs`. */
  numStart: number[];
  strStart: number[];
  layouts: ColumnLayout[][];
  nums: Float64Array;
  strs: string[];
}

const kindOf = (dtype: string): Kind => (dtype === 'string' ? 'str' : dtype === 'int64' ? 'i64' : dtype === 'uint64' ? 'u64' : 'num');

/** True when the batch's columns have exactly this layout (names, kinds and shapes, in order). */
function sameLayout(layout: ColumnLayout[], batch: Batch): boolean {
  if (layout.length !== batch.columns.size) return false;
  let i = 0;
  for (const [name, col] of batch.columns) {
    const l = layout[i++];
    if (l.name !== name || l.kind !== kindOf(col.dtype) || l.shape.length !== col.shape.length) return false;
    for (let d = 0; d < l.shape.length; d++) if (l.shape[d] !== col.shape[d]) return false;
  }
  return true;
}

/** Number slots a batch takes: every non-text value. */
function slotsOf(batch: Batch): number {
  let n = 0;
  for (const col of batch.columns.values()) if (col.dtype !== 'string') n += col.data.length;
  return n;
}

/** The fields of a packed batch that hold one element per request. */
const ENTRY_FIELDS = [
  'requestIds', 'deployments', 'models', 'versions', 'variants', 'times', 'latencies', 'rows', 'outputRows',
  'inputLayout', 'outputLayout', 'numStart', 'strStart',
] as const;
type Entry = { [F in (typeof ENTRY_FIELDS)[number]]: PackedEntries[F][number] };

const emptyPacked = (layouts: ColumnLayout[][], nums: Float64Array): PackedEntries => ({
  ...(Object.fromEntries(ENTRY_FIELDS.map((f) => [f, []])) as unknown as Pick<PackedEntries, (typeof ENTRY_FIELDS)[number]>),
  layouts,
  nums,
  strs: [],
});

function pushEntry(p: PackedEntries, e: Entry): void {
  for (const f of ENTRY_FIELDS) (p[f] as unknown[]).push(e[f]);
}

/** Packs requests one at a time; `seal` hands over what it holds and starts afresh. */
export class PackBuilder {
  private packed: PackedEntries;
  private nums: Float64Array;
  private k = 0;
  /** Requests of one deployment nearly always share a layout: the last match is tried first. */
  private lastLayout = -1;
  rowCount = 0;

  constructor(initialSlots = 4096) {
    this.nums = new Float64Array(initialSlots);
    this.packed = emptyPacked([], this.nums);
  }

  get entries(): number {
    return this.packed.requestIds.length;
  }

  append(e: PredictionRecord): void {
    const p = this.packed;
    // Everything that can throw runs before anything is pushed: a bad entry leaves no trace.
    const li = this.layoutOf(e.inputs);
    const lo = this.layoutOf(e.outputs);
    const need = this.k + slotsOf(e.inputs) + slotsOf(e.outputs);
    if (need > this.nums.length) {
      const grown = new Float64Array(Math.max(need, this.nums.length * 2));
      grown.set(this.nums.subarray(0, this.k));
      this.nums = grown;
    }
    pushEntry(p, {
      requestIds: e.requestId, deployments: e.deployment, models: e.model, versions: e.version, variants: e.variant,
      times: e.timeMs, latencies: e.latencyMs, rows: e.inputs.rows, outputRows: e.outputs.rows,
      inputLayout: li, outputLayout: lo, numStart: this.k, strStart: p.strs.length,
    });
    this.k = this.packBatch(e.inputs, this.k);
    this.k = this.packBatch(e.outputs, this.k);
    this.rowCount += e.inputs.rows;
  }

  seal(): PackedEntries {
    const out = { ...this.packed, nums: this.nums.slice(0, this.k) };
    // The number buffer is kept for the next batch: a fresh one would grow (and be zeroed) again.
    this.packed = emptyPacked([], this.nums);
    this.k = 0;
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

  private packBatch(batch: Batch, k: number): number {
    const nums = this.nums;
    for (const col of batch.columns.values()) {
      const data = col.data;
      if (col.dtype === 'string') {
        for (let i = 0; i < data.length; i++) this.packed.strs.push((data as string[])[i]);
      } else if (col.dtype === 'int64' || col.dtype === 'uint64') {
        // The integers' own bits, so values past 2^53 stay exact.
        new BigInt64Array(nums.buffer, k * 8, data.length).set(new BigInt64Array((data as BigInt64Array).buffer, (data as BigInt64Array).byteOffset, data.length));
        k += data.length;
      } else if (col.dtype === 'float16') {
        for (let i = 0; i < data.length; i++) nums[k++] = fromFloat16Bits((data as Uint16Array)[i]);
      } else {
        nums.set(data as ArrayLike<number>, k);
        k += data.length;
      }
    }
    return k;
  }
}

export function packEntries(entries: readonly PredictionRecord[]): PackedEntries {
  const builder = new PackBuilder();
  for (const e of entries) builder.append(e);
  return builder.seal();
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** 64-bit integers are numbers while exact, decimal text beyond 2^53 (as JSON would need them). */
const bigValue = (b: bigint): number | string => (b <= SAFE && b >= -SAFE ? Number(b) : String(b));

interface Cursor {
  num: number;
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
  const cursor: Cursor = { num: packed.numStart[e], str: packed.strStart[e] };
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

/** One row per row of every packed request, in packing order. */
export function unpackRows(packed: PackedEntries): LogRow[] {
  const out: LogRow[] = [];
  for (let e = 0; e < packed.requestIds.length; e++) for (const row of entryRows(packed, e)) out.push(row);
  return out;
}

/** The entries `keep` (ascending indices) of a packed batch, as a packed batch of their own. */
export function selectEntries(packed: PackedEntries, keep: readonly number[]): PackedEntries {
  const n = packed.requestIds.length;
  const numEnd = (e: number) => (e + 1 < n ? packed.numStart[e + 1] : packed.nums.length);
  const strEnd = (e: number) => (e + 1 < n ? packed.strStart[e + 1] : packed.strs.length);
  let numCount = 0;
  for (const e of keep) numCount += numEnd(e) - packed.numStart[e];
  const out = emptyPacked(packed.layouts, new Float64Array(numCount));
  let k = 0;
  for (const e of keep) {
    const entry = Object.fromEntries(ENTRY_FIELDS.map((f) => [f, packed[f][e]])) as Entry;
    pushEntry(out, { ...entry, numStart: k, strStart: out.strs.length });
    out.nums.set(packed.nums.subarray(packed.numStart[e], numEnd(e)), k);
    k += numEnd(e) - packed.numStart[e];
    for (let i = packed.strStart[e]; i < strEnd(e); i++) out.strs.push(packed.strs[i]);
  }
  return out;
}

/** Segment format version, the first byte of every stored segment. */
const SEGMENT_FORMAT = 1;

/**
 * A packed batch as one binary value: format byte, header length, the header (everything but
 * the numbers) as JSON, padding to 8 bytes, then the numbers as little-endian float64 (copied
 * as they lie in memory on the little-endian machines Node runs on).
 */
export function encodeSegment(packed: PackedEntries): Buffer {
  const { nums, ...rest } = packed;
  const header = Buffer.from(JSON.stringify(rest));
  const start = 8 + header.length + ((8 - (header.length % 8)) % 8);
  const out = Buffer.alloc(start + nums.byteLength);
  out.writeUInt8(SEGMENT_FORMAT, 0);
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  Buffer.from(nums.buffer, nums.byteOffset, nums.byteLength).copy(out, start);
  return out;
}

export function decodeSegment(data: Uint8Array): PackedEntries {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 8 || buf.readUInt8(0) !== SEGMENT_FORMAT) throw new Error(`prediction-log segment: unknown format ${buf.length < 1 ? '(empty)' : buf.readUInt8(0)}`);
  const headerLength = buf.readUInt32LE(4);
  const start = 8 + headerLength + ((8 - (headerLength % 8)) % 8);
  const rest = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Omit<PackedEntries, 'nums'>;
  // A copy: the driver's buffer need not be 8-byte aligned.
  const nums = new Float64Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { ...rest, nums };
}

/** Legacy rows (JSON text per row) as one packed batch, a request per entry. */
export function packJsonRows(rows: readonly LegacyRow[]): PackedEntries {
  const json: ColumnLayout[] = [{ name: '', kind: 'json', shape: [] }];
  const packed = emptyPacked([json], new Float64Array(0));
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j < rows.length && rows[j].request_id === rows[i].request_id) j++;
    const r = rows[i];
    pushEntry(packed, {
      requestIds: r.request_id, deployments: r.deployment, models: r.model, versions: r.version, variants: r.variant,
      times: r.time_ms, latencies: r.latency_ms, rows: j - i, outputRows: j - i,
      inputLayout: 0, outputLayout: 0, numStart: 0, strStart: packed.strs.length,
    });
    for (let k = i; k < j; k++) packed.strs.push(rows[k].inputs);
    for (let k = i; k < j; k++) packed.strs.push(rows[k].outputs);
    i = j;
  }
  return packed;
}
