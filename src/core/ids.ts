/**
 * Time-ordered ids (UUID version 7, RFC 9562): the first 48 bits are the Unix time in
 * milliseconds, the rest random. Ids made one after another sort one after another, so a store
 * that indexes them appends at the end of its B-tree instead of writing to a random page for
 * every new id (the prediction log keys every logged request by its id).
 */
import { randomUUID } from 'node:crypto';

let prefixMs = NaN;
let prefix = '';

/** A version 7 UUID for `nowMs` (default: now). */
export function timeOrderedId(nowMs = Date.now()): string {
  const ms = Math.floor(nowMs);
  // A server makes many ids per millisecond: the time part is formatted once per millisecond.
  if (ms !== prefixMs) {
    const time = ms.toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixMs = ms;
  }
  // randomUUID's own entropy pool is the fastest source; its variant bits already sit in place.
  return prefix + randomUUID().slice(15);
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The Unix time in milliseconds a version 7 UUID carries; undefined for any other text. */
export function uuidV7Time(id: string): number | undefined {
  if (id.length !== 36 || !UUID_V7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8), 16) * 0x10000 + Number.parseInt(id.slice(9, 13), 16);
}
