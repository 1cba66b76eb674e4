/**
 * The stored form of one (view, entity) row in the online store, packed so that materialize
 * writes a chunk of rows as one buffer and a read decodes only the features it wants:
 *
 *   "~" + event time + created time   33 bytes of sortable hex, compared inside the store on write
 *   0x01                              the packed form (entries of older releases have "{" here)
 *   fingerprint                       8 bytes naming the feature list the row was written with
 *   null bitmap                       one bit per feature, in feature order
 *   padding to 8 bytes
 *   numeric and bool features         8-byte little-endian doubles, in feature order
 *   string features                   uint32 length + UTF-8, in feature order
 *
 * A reader whose definition has another feature list finds the writer's list under
 * `featlayout:<fingerprint>`, which every write stores beside its rows.
 */
import { createHash } from 'node:crypto';
import type { OnlineStore } from '../storage/online.js';
import { RowsBuilder } from '../storage/packed-rows.js';
import type { Dtype, Value } from './types.js';

export const HEADER_BYTES = 33;
const MARK = 0x7e;
const PACKED = 0x01;
const FP_AT = HEADER_BYTES + 1;
const FP_BYTES = 8;
const BITMAP_AT = FP_AT + FP_BYTES;
const TWO_32 = 2 ** 32;

export interface RowLayout {
  fingerprint: Buffer;
  features: { name: string; dtype: Dtype }[];
  /** Feature name → position in `features`. */
  index: Map<string, number>;
  /** Position in `features` → its 8-byte slot, or -1 for a string. */
  slot: Int32Array;
  /** Positions of the string features, in order. */
  strings: number[];
  bitmapBytes: number;
  /** Byte offset of the first 8-byte slot (a multiple of 8). */
  valuesAt: number;
  /** Bytes before the strings. */
  fixedBytes: number;
}

const layouts = new Map<string, RowLayout>();

export function layoutOf(features: readonly { name: string; dtype: Dtype }[]): RowLayout {
  const list = features.map((f) => ({ name: f.name, dtype: f.dtype }));
  const fingerprint = createHash('sha256').update(JSON.stringify(list.map((f) => [f.name, f.dtype]))).digest().subarray(0, FP_BYTES);
  const hex = fingerprint.toString('hex');
  const known = layouts.get(hex);
  if (known) return known;
  const slot = new Int32Array(list.length);
  const strings: number[] = [];
  let slots = 0;
  list.forEach((f, i) => {
    if (f.dtype === 'string') {
      slot[i] = -1;
      strings.push(i);
    } else slot[i] = slots++;
  });
  const bitmapBytes = Math.ceil(list.length / 8);
  const valuesAt = align8(BITMAP_AT + bitmapBytes);
  const layout: RowLayout = { fingerprint, features: list, index: new Map(list.map((f, i) => [f.name, i])), slot, strings, bitmapBytes, valuesAt, fixedBytes: valuesAt + 8 * slots };
  layouts.set(hex, layout);
  return layout;
}

const align8 = (n: number) => (n + 7) & ~7;

export const layoutKey = (fingerprint: Buffer) => `featlayout:${fingerprint.toString('hex')}`;

/** Stores the layout's feature list, so readers with another definition can decode its rows. */
export async function saveLayout(store: OnlineStore, layout: RowLayout): Promise<void> {
  await store.set(layoutKey(layout.fingerprint), JSON.stringify(layout.features));
}

/** Rows of one view: numbers row by row (bools as 0/1), text per string feature. */
export interface PackedColumns {
  rows: number;
  /** Event and created times, ms. */
  t: ArrayLike<number>;
  c: ArrayLike<number>;
  /** `rows × bitmapBytes` bytes: bit j of a row's bytes set when feature j is null. */
  nulls: Uint8Array;
  /** `rows × numeric features`: each row's numbers in feature order, as the row stores them (anything where null). */
  numbers: Float64Array;
  /** Per string feature, in feature order: its text per row. */
  strings: readonly (readonly (string | null)[])[];
}

/** Appends every row to `into` (a new builder by default), which it returns. */
export function encodeRows(layout: RowLayout, cols: PackedColumns, into = new RowsBuilder()): RowsBuilder {
  const n = cols.rows;
  const { bitmapBytes, valuesAt, slot, fingerprint, fixedBytes } = layout;
  const texts = cols.strings;
  // Each row starts on 8 bytes, so its numbers are written through one Float64Array.
  let size = n * align8(fixedBytes);
  let lengths: Uint32Array | undefined;
  if (texts.length) {
    lengths = new Uint32Array(n);
    size = 0;
    for (let i = 0; i < n; i++) {
      let len = fixedBytes;
      for (const text of texts) {
        const s = text[i];
        len += 4 + (s === null ? 0 : Buffer.byteLength(s));
      }
      lengths[i] = len;
      size += align8(len);
    }
  }
  const { buf, f64, bounds, at: first, boundsAt } = into.append(n, size);
  for (let i = 0, at = first; i < n; i++) {
    const len = lengths ? lengths[i] : fixedBytes;
    bounds[boundsAt + 2 * i] = at;
    bounds[boundsAt + 2 * i + 1] = at + len;
    at += align8(len);
  }
  // Every row begins with the same bytes but for its times and nulls: a template (zeros up to
  // the numbers, as the memory may hold an earlier batch's bytes), its times rewritten only when
  // they change (rows of a chunk mostly share them).
  const head = Buffer.alloc(valuesAt);
  head[0] = MARK;
  head[HEADER_BYTES] = PACKED;
  fingerprint.copy(head, FP_AT);
  const numeric: number[] = [];
  for (let j = 0; j < slot.length; j++) if (slot[j] >= 0) numeric.push(j);
  const m = numeric.length;
  const { numbers } = cols;
  let lastT = NaN;
  let lastC = NaN;
  for (let i = 0; i < n; i++) {
    const at = bounds[boundsAt + 2 * i];
    const t = cols.t[i];
    const c = cols.c[i];
    if (t !== lastT) head.write(sortableHex((lastT = t)), 1, 'latin1');
    if (c !== lastC) head.write(sortableHex((lastC = c)), 17, 'latin1');
    buf.set(head, at);
    let anyNull = 0;
    for (let b = 0; b < bitmapBytes; b++) anyNull |= buf[at + BITMAP_AT + b] = cols.nulls[i * bitmapBytes + b];
    if (m === 0) continue;
    // A row's numbers lie as the row stores them: one copy each. A NULL's place is zeroed after.
    const base = (at + valuesAt) / 8;
    f64.set(numbers.subarray(i * m, i * m + m), base);
    if (anyNull === 0) continue;
    for (let k = 0; k < m; k++) {
      const j = numeric[k];
      if ((buf[at + BITMAP_AT + (j >> 3)] & (1 << (j & 7))) !== 0) f64[base + k] = 0;
    }
  }
  for (let i = 0; i < n && texts.length; i++) {
    let at = bounds[boundsAt + 2 * i] + fixedBytes;
    for (const text of texts) {
      const s = text[i];
      const len = s === null ? 0 : buf.write(s, at + 4, 'utf8');
      buf.writeUInt32LE(len, at);
      at += 4 + len;
    }
  }
  return into;
}

/** Rows given value by value (a push): columns for `encodeRows`, numbers coerced, bools as 0/1. */
export function columnsOf(layout: RowLayout, t: number[], c: number[], values: Value[][]): PackedColumns {
  const n = t.length;
  const m = (layout.fixedBytes - layout.valuesAt) / 8;
  const nulls = new Uint8Array(n * layout.bitmapBytes);
  const numbers = new Float64Array(n * m);
  const strings: (string | null)[][] = [];
  layout.features.forEach((f, j) => {
    const col = values[j];
    const isNull = (i: number) => {
      if (col[i] !== null && col[i] !== undefined) return false;
      nulls[i * layout.bitmapBytes + (j >> 3)] |= 1 << (j & 7);
      return true;
    };
    if (f.dtype === 'string') strings.push(Array.from({ length: n }, (_, i) => (isNull(i) ? null : String(col[i]))));
    else for (let i = 0; i < n; i++) numbers[i * m + layout.slot[j]] = isNull(i) ? 0 : Number(col[i]);
  });
  return { rows: n, t, c, nulls, numbers, strings };
}

/** Event or created time as 16 hex digits of (ms + 2^63), so byte order is time order. */
function sortableHex(ms: number): string {
  const whole = Math.trunc(ms);
  const hi = Math.floor(whole / TWO_32);
  const lo = whole - hi * TWO_32;
  return ((hi + 0x80000000) >>> 0).toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** The inverse of sortableHex, read from the bytes: no string per time on the read path. */
function readTime(buf: Buffer, from: number): number {
  return (hexAt(buf, from) - 0x80000000) * TWO_32 + hexAt(buf, from + 8);
}

/** 8 hex digits (either case) as a number; NaN if one is not a hex digit. */
function hexAt(buf: Buffer, from: number): number {
  let n = 0;
  for (let i = from; i < from + 8; i++) {
    const ch = buf[i];
    const d = ch >= 0x30 && ch <= 0x39 ? ch - 0x30 : (ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x66 ? (ch | 0x20) - 0x57 : -1;
    if (d < 0) return NaN;
    n = n * 16 + d;
  }
  return n;
}

/** A stored row as read: its times and each feature's value by name (undefined: not in the row). */
export interface StoredRow {
  t: number;
  c: number;
  get(feature: string): Value | undefined;
}

export class PackedRow implements StoredRow {
  private stringsAt: Int32Array | undefined;
  constructor(
    readonly t: number,
    readonly c: number,
    private readonly buf: Buffer,
    readonly layout: RowLayout,
  ) {}

  get(feature: string): Value | undefined {
    const j = this.layout.index.get(feature);
    return j === undefined ? undefined : this.at(j);
  }

  /** The value of the feature at position `j` of `layout`: a reader of many rows looks the name up once per layout. */
  at(j: number): Value {
    const { buf, layout } = this;
    if ((buf[BITMAP_AT + (j >> 3)] & (1 << (j & 7))) !== 0) return null;
    const s = layout.slot[j];
    if (s >= 0) {
      const v = buf.readDoubleLE(layout.valuesAt + 8 * s);
      const dtype = layout.features[j].dtype;
      if (dtype === 'bool') return v !== 0;
      // JSON has no NaN or infinity; they read as null, as they did when rows were JSON.
      return Number.isFinite(v) ? v : null;
    }
    const at = this.stringOffset(j);
    return buf.toString('utf8', at + 4, at + 4 + buf.readUInt32LE(at));
  }

  private stringOffset(j: number): number {
    if (!this.stringsAt) {
      const { strings, fixedBytes } = this.layout;
      this.stringsAt = new Int32Array(this.layout.features.length);
      let at = fixedBytes;
      for (const k of strings) {
        this.stringsAt[k] = at;
        at += 4 + this.buf.readUInt32LE(at);
      }
    }
    return this.stringsAt[j];
  }
}

/** A whole-row JSON entry, or a hex header and JSON values, as releases before the packed form wrote. */
class JsonRow implements StoredRow {
  constructor(
    readonly t: number,
    readonly c: number,
    private readonly v: Record<string, Value>,
  ) {}

  get(feature: string): Value | undefined {
    return this.v[feature];
  }
}

/** The layout a packed entry names, if this process knows it; rows of a read mostly name the one before. */
let lastLayout: RowLayout | undefined;
function layoutIn(buf: Buffer): RowLayout | undefined {
  if (lastLayout && sameFingerprint(buf, lastLayout.fingerprint)) return lastLayout;
  const layout = layouts.get(buf.toString('hex', FP_AT, FP_AT + FP_BYTES));
  if (layout) lastLayout = layout;
  return layout;
}

function sameFingerprint(buf: Buffer, fp: Buffer): boolean {
  for (let k = 0; k < FP_BYTES; k++) if (buf[FP_AT + k] !== fp[k]) return false;
  return true;
}

/** The fingerprint of a packed entry whose layout this process has not seen, else undefined. */
export function unknownLayout(buf: Buffer | null): Buffer | undefined {
  if (!buf || buf[0] !== MARK || buf[HEADER_BYTES] !== PACKED) return undefined;
  return layoutIn(buf) ? undefined : buf.subarray(FP_AT, FP_AT + FP_BYTES);
}

/** Adds layouts read from the store (their JSON feature lists). */
export function learnLayouts(lists: (Buffer | null)[]): void {
  for (const list of lists) if (list) layoutOf(JSON.parse(list.toString('utf8')));
}

/** Undefined for no entry, or a packed entry whose layout is unknown even to the store. */
export function decodeRow(buf: Buffer | null): StoredRow | undefined {
  if (!buf) return undefined;
  if (buf[0] !== MARK) {
    const row = JSON.parse(buf.toString('utf8')) as { t: number; c: number; v: Record<string, Value> };
    return new JsonRow(row.t, row.c, row.v);
  }
  const t = readTime(buf, 1);
  const c = readTime(buf, 17);
  if (buf[HEADER_BYTES] !== PACKED) return new JsonRow(t, c, JSON.parse(buf.toString('utf8', HEADER_BYTES)));
  const layout = layoutIn(buf);
  return layout ? new PackedRow(t, c, buf, layout) : undefined;
}
