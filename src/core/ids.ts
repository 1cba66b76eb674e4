/**
 * Time-ordered ids (UUID version 7, RFC 9562): the first 48 bits are the Unix time in
 * milliseconds, the rest random. Ids made one after another sort one after another, so a store
 * that indexes them appends at the end of its B-tree instead of writing to a random page for
 * every new id (the prediction log keys every logged request by its id).
 */
import { randomUUID } from 'node:crypto';

/** A version 7 UUID for `nowMs` (default: now). */
export function timeOrderedId(nowMs = Date.now()): string {
  const time = Math.floor(nowMs).toString(16).padStart(12, '0');
  // randomUUID's own entropy pool is the fastest source; its variant bits already sit in place.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
