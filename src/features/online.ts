/**
 * The online layout: one entry per (view, entity key) holding the view's newest row (packed as
 * row-codec describes), so a read of any number of features is one multi-get. Rows carry their
 * event and created times; a write keeps whichever row is newer, which makes materialize
 * idempotent and lets a push outrun a later materialize of older data.
 */
import { invalidArgument } from '../core/errors.js';
import type { OnlineStore } from '../storage/online.js';
import type { PackedRows } from '../storage/packed-rows.js';
import { HEADER_BYTES, saveLayout, type RowLayout } from './row-codec.js';

const SEP = '\u001f';

/** Entity key text: the join-key values in order, so 10022 and "10022" name the same entity. */
export function entityKey(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'bigint' ? v.toString() : String(v))).join(SEP);
}

export const onlineKey = (view: string, key: string) => `feat:${view}:${key}`;

/**
 * Writes, without reading first, the rows (entries under `onlineKey` with values encoded in
 * `layout`) newer than what the store holds (by event, then created time; the same times with
 * other values, as after a definition change, count as newer); returns how many.
 */
export async function writeRows(store: OnlineStore, layout: RowLayout, keys: string[], rows: PackedRows): Promise<number> {
  if (keys.length === 0) return 0;
  await saveLayout(store, layout);
  return store.msetNewer(keys, rows, HEADER_BYTES);
}

const ZONED = /\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$/;

/** A pushed or requested timestamp as epoch ms: ISO 8601 with a zone, or epoch seconds (ms when too large for seconds). */
export function parseTimestamp(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.abs(v) < 1e11 ? v * 1000 : v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) return parseTimestamp(Number(t), field);
    if (!ZONED.test(t)) throw invalidArgument(`${field}: "${v}" has no time zone; use ISO 8601 with a zone, e.g. 2025-01-01T00:00:00Z, or epoch seconds`);
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw invalidArgument(`${field}: ${JSON.stringify(v)} is not a timestamp; use ISO 8601 with a zone or epoch seconds`);
}

/** Columns of request values: lists of equal length holding strings, numbers, booleans or nulls. */
export function checkColumns(columns: Record<string, unknown>, field: string, rows?: number): number {
  let n = rows;
  let first = '';
  for (const [name, values] of Object.entries(columns)) {
    if (!Array.isArray(values)) throw invalidArgument(`${field}.${name}: must be a list of values`);
    if (n === undefined) {
      n = values.length;
      first = name;
    } else if (values.length !== n) throw invalidArgument(`${field}.${name}: has ${values.length} values, but ${first || 'the other columns'} has ${n}`);
    values.forEach((v, i) => {
      if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw invalidArgument(`${field}.${name}[${i}]: ${JSON.stringify(v) ?? String(v)} is not a string, number, boolean or null`);
      }
    });
  }
  return n ?? 0;
}
