/**
 * Time-ordered ids (UUID version 7, RFC 9562): the first 48 bits are the Unix time in
 * milliseconds, the rest random. Ids made one after another sort one after another, so a store
 * that indexes them appends at the end of its B-tree instead of writing to a random page for
 * every new id (the prediction log keys every logged request by its id).
 */
import { randomFillSync } from 'node:crypto';

let prefixMs = NaN;

/** The two lowercase hex digits of every byte value, as character codes: HEX[2b], HEX[2b + 1]. */
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const digits = b.toString(16).padStart(2, '0');
  HEX[2 * b] = digits.charCodeAt(0);
  HEX[2 * b + 1] = digits.charCodeAt(1);
}
/** Random bytes for the ids, filled 400 ids at a time (randomUUID's own pool, by hand: its formatting and our re-slicing cost more). */
const random = Buffer.alloc(10 * 400);
let used = random.length;
/**
 * The id's characters, written in place and read out as one string: joining 19 pieces made a
 * rope of intermediate strings per id (about 400 bytes) that a header check then flattened.
 */
const text = Buffer.alloc(36);

/** A version 7 UUID for `nowMs` (default: now). */
export function timeOrderedId(nowMs = Date.now()): string {
  const ms = Math.floor(nowMs);
  const t = text;
  // A server makes many ids per millisecond: the time part is written once per millisecond.
  if (ms !== prefixMs) {
    const time = ms.toString(16).padStart(12, '0');
    t.write(`${time.slice(0, 8)}-${time.slice(8, 12)}-7`, 0, 'latin1');
    t[18] = 0x2d;
    t[23] = 0x2d;
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
  t[15] = HEX[2 * (r[i] & 0x0f) + 1];
  hexAt(t, 16, r[i + 1]);
  hexAt(t, 19, (r[i + 2] & 0x3f) | 0x80);
  hexAt(t, 21, r[i + 3]);
  for (let k = 0; k < 6; k++) hexAt(t, 24 + 2 * k, r[i + 4 + k]);
  return t.toString('latin1', 0, 36);
}

function hexAt(t: Buffer, at: number, byte: number): void {
  t[at] = HEX[2 * byte];
  t[at + 1] = HEX[2 * byte + 1];
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The Unix time in milliseconds a version 7 UUID carries; undefined for any other text. */
export function uuidV7Time(id: string): number | undefined {
  if (id.length !== 36 || !UUID_V7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8), 16) * 0x10000 + Number.parseInt(id.slice(9, 13), 16);
}
