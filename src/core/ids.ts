/**
 * Time-ordered ids (UUID version 7, RFC 9562): the first 48 bits are the Unix time in
 * milliseconds, the rest random. Ids made one after another sort one after another, so a store
 * that indexes them appends at the end of its B-tree instead of writing to a random page for
 * every new id (the prediction log keys every logged request by its id).
 */
import { randomFillSync } from 'node:crypto';

let prefixMs = NaN;
let prefix = '';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes for the ids, filled 400 ids at a time (randomUUID's own pool, by hand: its formatting and our re-slicing cost more). */
const random = Buffer.alloc(10 * 400);
let used = random.length;

/** A version 7 UUID for `nowMs` (default: now). */
export function timeOrderedId(nowMs = Date.now()): string {
  const ms = Math.floor(nowMs);
  // A server makes many ids per millisecond: the time part is formatted once per millisecond.
  if (ms !== prefixMs) {
    const time = ms.toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixMs = ms;
  }
  if (used === random.length) {
    randomFillSync(random);
    used = 0;
  }
  const r = random;
  const i = used;
  used += 10;
  // 12 random bits, the variant (binary 10) and 14 bits, then 48 bits: 74 random bits, as in randomUUID.
  return (
    prefix +
    HEX[r[i] & 0x0f][1] +
    HEX[r[i + 1]] +
    '-' +
    HEX[(r[i + 2] & 0x3f) | 0x80] +
    HEX[r[i + 3]] +
    '-' +
    HEX[r[i + 4]] +
    HEX[r[i + 5]] +
    HEX[r[i + 6]] +
    HEX[r[i + 7]] +
    HEX[r[i + 8]] +
    HEX[r[i + 9]]
  );
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The Unix time in milliseconds a version 7 UUID carries; undefined for any other text. */
export function uuidV7Time(id: string): number | undefined {
  if (id.length !== 36 || !UUID_V7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8), 16) * 0x10000 + Number.parseInt(id.slice(9, 13), 16);
}
