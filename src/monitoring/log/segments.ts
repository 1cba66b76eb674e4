/**
 * The prediction log in the store: segments (one per flushed batch of one deployment, see
 * pack.ts) and the request-id keys that point into them. Writing costs one segment insert per
 * batch; reading decodes only the segments a query touches.
 *
 * Feedback finds a prediction by its request id. The ids modelport makes are version 7 UUIDs,
 * which carry the millisecond they were made in, just before the request was logged: such ids
 * need no key row. Each segment keeps the range of those times (`key_lo`..`key_hi`, at most
 * KEY_SPAN_MS wide), and a lookup decodes the few segments whose range holds the id's time. Any
 * other id (a client's own, or one whose time is far from when it was logged) gets a key row.
 * The key rows had been the larger part of the log's write cost.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { uuidV7Time } from '../../core/ids.js';
import type { Dialect } from '../../storage/metadata.js';
import type { Keyring } from '../../security/keyring.js';
import { openUnsealed, rewrapPayload, type PayloadCipher } from '../../security/sealed-payload.js';
import { decodeSegment, encodeSegment, entryCount, entryRows, requestIdOf, selectEntries, type LogRow, type PackedEntries } from './pack.js';
import type { LogTables } from './tables.js';
import { batches, keysetRows } from '../../core/batches.js';

/** Segments are sealed under the master key when one is configured (the cipher), else stored as encoded. */
export type SegmentCipher = PayloadCipher | undefined;

const sealed = (cipher: SegmentCipher, packed: PackedEntries): Uint8Array => (cipher ? cipher.seal(encodeSegment(packed)) : encodeSegment(packed));

/** A stored payload decoded; a sealed one needs the cipher. */
export const openSegment = (cipher: SegmentCipher, payload: Uint8Array): PackedEntries =>
  decodeSegment(cipher ? cipher.open(payload) : openUnsealed(payload, 'a prediction-log segment'));

/** Any handle whose database has the log's tables (callers' handles type more tables than these). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any> | Transaction<any>;

/** Key rows per INSERT statement: 3 parameters each stays far below both engines' limits. */
const KEYS_PER_STATEMENT = 1000;
/** Segments fetched per page when scanning a time range. */
const SCAN_PAGE = 16;

/** Widest range of id times one segment covers; a lookup reads segments whose range starts this far before the id. */
export const KEY_SPAN_MS = 60_000;
/** An id made this long after its request was logged is not one this server made for it. */
const CLOCK_SKEW_MS = 5_000;

const keyStatements = new Map<string, string>();

/**
 * The multi-row key INSERT for `n` ids, written out once per size: building it through the
 * query builder for every batch cost as much as the database's own work.
 */
function keyStatement(dialect: Dialect, n: number): string {
  const cacheKey = `${dialect}:${n}`;
  let text = keyStatements.get(cacheKey);
  if (text === undefined) {
    let p = 0;
    const row = () => (dialect === 'postgres' ? `($${++p}, $${++p}, $${++p})` : '(?, ?, ?)');
    // A client may reuse a request id; the first logged answer stays the one feedback joins to.
    text = `insert into mon_log_key (request_id, segment_id, entry) values ${Array.from({ length: n }, row).join(', ')} on conflict (request_id) do nothing`;
    keyStatements.set(cacheKey, text);
  }
  return text;
}

/**
 * Which entries' ids are found by their own time (see the top of this file), and the range of
 * those times: the ids whose time lies within KEY_SPAN_MS below the newest such time.
 */
function idTimes(packed: PackedEntries): { implicit: boolean[]; lo: number | null; hi: number | null } {
  const n = entryCount(packed);
  const times = new Array<number | undefined>(n);
  let hi = -Infinity;
  for (let e = 0; e < n; e++) {
    const t = uuidV7Time(requestIdOf(packed, e));
    if (t !== undefined && t >= packed.times[e] - KEY_SPAN_MS && t <= packed.times[e] + CLOCK_SKEW_MS) {
      times[e] = t;
      if (t > hi) hi = t;
    }
  }
  let lo = Infinity;
  const implicit = times.map((t) => t !== undefined && t >= hi - KEY_SPAN_MS);
  for (let e = 0; e < n; e++) if (implicit[e] && times[e]! < lo) lo = times[e]!;
  return Number.isFinite(lo) ? { implicit, lo, hi } : { implicit, lo: null, hi: null };
}

/**
 * Stores one packed batch of one deployment and the key rows its ids need; resolves with its row
 * count. Run it in a transaction. `keyRange: false` keys every id by a row, for a store whose
 * segments have no key range yet (the upgrade that first made segments).
 */
export async function insertSegment(db: Db, dialect: Dialect, packed: PackedEntries, options: { keyRange?: boolean; cipher?: SegmentCipher } = {}): Promise<number> {
  const n = entryCount(packed);
  let first = Infinity;
  let last = -Infinity;
  let rows = 0;
  for (let e = 0; e < n; e++) {
    if (packed.times[e] < first) first = packed.times[e];
    if (packed.times[e] > last) last = packed.times[e];
    rows += packed.rows[e];
  }
  const keyRange = options.keyRange ?? true;
  const { implicit, lo, hi } = keyRange ? idTimes(packed) : { implicit: [], lo: null, hi: null };
  const { segment_id } = (await db
    .insertInto('mon_log_segment')
    .values({ deployment: packed.sources[0].deployment, first_ms: first, last_ms: last, entries: n, rows, payload: sealed(options.cipher, packed), ...(keyRange ? { key_lo: lo, key_hi: hi } : {}) })
    .returning('segment_id')
    .executeTakeFirstOrThrow()) as { segment_id: number };
  const keyed: number[] = [];
  for (let e = 0; e < n; e++) if (!implicit[e]) keyed.push(e);
  for (let i = 0; i < keyed.length; i += KEYS_PER_STATEMENT) {
    const chunk = keyed.slice(i, i + KEYS_PER_STATEMENT);
    const params: unknown[] = [];
    for (const e of chunk) params.push(requestIdOf(packed, e), segment_id, e);
    await db.executeQuery(CompiledQuery.raw(keyStatement(dialect, chunk.length), params));
  }
  return rows;
}

/** Stores several packed batches (each of one deployment) in one transaction; resolves with the rows stored. */
export async function insertSegments(db: Db, dialect: Dialect, batches: readonly PackedEntries[], cipher?: SegmentCipher): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let rows = 0;
    for (const packed of batches) rows += await insertSegment(trx, dialect, packed, { cipher });
    return rows;
  });
}

export interface RowQuery {
  deployment?: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  limit: number;
}

/** Newest first; ties by request id, then row. */
const newestFirst = (a: LogRow, b: LogRow) =>
  b.time_ms - a.time_ms || (a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0) || a.row_index - b.row_index;

/**
 * Logged rows in the query's range, newest first, at most `limit`. Segments are read newest
 * (by their latest request) first and the scan stops once no older segment can hold a row
 * newer than the oldest row kept.
 */
export async function readRows(handle: Db, query: RowQuery, cipher?: SegmentCipher): Promise<LogRow[]> {
  const db = handle as Kysely<LogTables>;
  const { deployment, from, to, limit } = query;
  const inRange = (t: number) => (from === undefined || t >= from) && (to === undefined || t < to);
  let kept: LogRow[] = [];
  for (let offset = 0; ; offset += SCAN_PAGE) {
    let q = db.selectFrom('mon_log_segment').select(['last_ms', 'payload']);
    if (deployment !== undefined) q = q.where('deployment', '=', deployment);
    if (from !== undefined) q = q.where('last_ms', '>=', from);
    if (to !== undefined) q = q.where('first_ms', '<', to);
    const page = await q.orderBy('last_ms', 'desc').orderBy('segment_id', 'desc').limit(SCAN_PAGE).offset(offset).execute();
    for (const segment of page) {
      if (kept.length >= limit && segment.last_ms < kept[limit - 1].time_ms) return kept;
      const packed = openSegment(cipher, segment.payload);
      for (let e = 0; e < entryCount(packed); e++) if (inRange(packed.times[e])) kept.push(...entryRows(packed, e));
      kept.sort(newestFirst);
      if (kept.length > limit) kept = kept.slice(0, limit);
    }
    if (page.length < SCAN_PAGE) return kept;
  }
}

/** The first index in sorted[from, to) whose value is at least `value` (`to` when none is). */
function firstAtLeast(sorted: number[], value: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The segments whose id-time range may hold ids of these times: times close together share a
 * query, which reads the segments whose range starts at most KEY_SPAN_MS before them.
 */
async function segmentsByIdTime(db: Kysely<LogTables>, times: number[]): Promise<Set<number>> {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const found = new Set<number>();
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] - sorted[j] <= KEY_SPAN_MS) j++;
    const from = sorted[i];
    const to = sorted[j];
    const ranges = (await db
      .selectFrom('mon_log_segment')
      .select(['segment_id', 'key_lo', 'key_hi'])
      .where('key_lo', '>=', from - KEY_SPAN_MS)
      .where('key_lo', '<=', to)
      .where('key_hi', '>=', from)
      .execute()) as { segment_id: number; key_lo: number; key_hi: number }[];
    // Only ranges that hold one of the times asked for are worth decoding.
    for (const r of ranges) {
      const k = firstAtLeast(sorted, r.key_lo, i, j + 1);
      if (k <= j && sorted[k] <= r.key_hi) found.add(r.segment_id);
    }
    i = j + 1;
  }
  return found;
}

/** The logged rows of each of `ids` that has any (the first answer logged under an id). */
export async function rowsByRequestIds(handle: Db, ids: readonly string[], cipher?: SegmentCipher): Promise<Map<string, LogRow[]>> {
  const db = handle as Kysely<LogTables>;
  const wanted = new Set(ids);
  const list = [...wanted];
  // Every place an id was logged: by its key row, or inside a segment its time points to.
  const firsts = new Map<string, { segment_id: number; entry: number }>();
  const consider = (request_id: string, segment_id: number, entry: number) => {
    const f = firsts.get(request_id);
    if (!f || segment_id < f.segment_id || (segment_id === f.segment_id && entry < f.entry)) firsts.set(request_id, { segment_id, entry });
  };
  for (const batch of batches(list)) {
    for (const p of await db.selectFrom('mon_log_key').selectAll().where('request_id', 'in', batch).execute()) consider(p.request_id, p.segment_id, p.entry);
  }
  const times = list.map(uuidV7Time).filter((t): t is number => t !== undefined);
  const scanned = await segmentsByIdTime(db, times);
  const segments = new Map<number, PackedEntries>();
  const load = async (segmentIds: number[]) => {
    for (const batch of batches(segmentIds)) {
      const rows = await db.selectFrom('mon_log_segment').select(['segment_id', 'payload']).where('segment_id', 'in', batch).execute();
      for (const r of rows) segments.set(r.segment_id, openSegment(cipher, r.payload));
    }
  };
  await load([...scanned]);
  for (const segmentId of scanned) {
    const packed = segments.get(segmentId);
    if (!packed) continue;
    for (let e = 0; e < entryCount(packed); e++) {
      const id = requestIdOf(packed, e);
      if (wanted.has(id)) consider(id, segmentId, e);
    }
  }
  await load([...new Set([...firsts.values()].map((f) => f.segment_id))].filter((id) => !segments.has(id)));
  const found = new Map<string, LogRow[]>();
  for (const [id, f] of firsts) {
    const packed = segments.get(f.segment_id);
    if (packed) found.set(id, entryRows(packed, f.entry));
  }
  return found;
}

/** Deletes segments and their key rows, in chunks. */
async function dropSegments(trx: Db, ids: readonly number[]): Promise<void> {
  for (const chunk of batches(ids)) {
    await trx.deleteFrom('mon_log_key').where('segment_id', 'in', chunk).execute();
    await trx.deleteFrom('mon_log_segment').where('segment_id', 'in', chunk).execute();
  }
}

/**
 * Replaces a segment by one holding only the entries `keep` names (none: it is deleted), so
 * what goes is gone from the store, not only hidden; resolves with the rows removed.
 */
async function rewriteSegment(trx: Db, dialect: Dialect, segmentId: number, packed: PackedEntries, keep: number[], cipher: SegmentCipher): Promise<number> {
  let before = 0;
  for (let e = 0; e < entryCount(packed); e++) before += packed.rows[e];
  await dropSegments(trx, [segmentId]);
  return before - (keep.length > 0 ? await insertSegment(trx, dialect, selectEntries(packed, keep), { cipher }) : 0);
}

/**
 * Deletes logged requests older than `cutoff` (of one deployment, or all) and their keys;
 * resolves with the rows deleted. Whole segments go at once; a segment that straddles the
 * cutoff is rewritten with its newer requests only.
 */
export async function deleteRowsBefore(handle: Db, dialect: Dialect, cutoff: number, options: { deployment?: string; cipher?: SegmentCipher } = {}): Promise<number> {
  return (handle as Kysely<LogTables>).transaction().execute(async (trx) => {
    let rows = 0;
    let oldQuery = trx.selectFrom('mon_log_segment').select(['segment_id', 'rows']).where('last_ms', '<', cutoff);
    if (options.deployment !== undefined) oldQuery = oldQuery.where('deployment', '=', options.deployment);
    const old = await oldQuery.execute();
    await dropSegments(trx, old.map((s) => s.segment_id));
    for (const s of old) rows += s.rows;
    let straddlingQuery = trx.selectFrom('mon_log_segment').select(['segment_id', 'payload']).where('last_ms', '>=', cutoff).where('first_ms', '<', cutoff);
    if (options.deployment !== undefined) straddlingQuery = straddlingQuery.where('deployment', '=', options.deployment);
    for (const s of await straddlingQuery.execute()) {
      const packed = openSegment(options.cipher, s.payload);
      const keep = Array.from(packed.times.keys()).filter((e) => packed.times[e] >= cutoff);
      rows += await rewriteSegment(trx, dialect, s.segment_id, packed, keep, options.cipher);
    }
    return rows;
  });
}

/** Every stored segment row, oldest first, read a page at a time by keyset (`segment_id` after the last one seen). */
function segmentRows(db: Db): AsyncGenerator<{ segment_id: number; payload: Uint8Array }> {
  return keysetRows(
    (after, size) =>
      (db as Kysely<LogTables>)
        .selectFrom('mon_log_segment')
        .select(['segment_id', 'payload'])
        .where('segment_id', '>', after)
        .orderBy('segment_id')
        .limit(size)
        .execute() as Promise<{ segment_id: number; payload: Uint8Array }[]>,
    (row) => row.segment_id,
    -1,
    SCAN_PAGE,
  );
}

/** Every stored segment, opened, oldest first (a data-subject request reads the whole log). */
async function* allSegments(db: Db, cipher: SegmentCipher): AsyncGenerator<{ segmentId: number; packed: PackedEntries }> {
  for await (const s of segmentRows(db)) yield { segmentId: s.segment_id, packed: openSegment(cipher, s.payload) };
}

/** The logged rows of the entries `match` picks, oldest segment first. */
export async function findEntries(handle: Db, match: (packed: PackedEntries, e: number) => boolean, cipher?: SegmentCipher): Promise<LogRow[]> {
  const out: LogRow[] = [];
  for await (const { packed } of allSegments(handle, cipher)) {
    for (let e = 0; e < entryCount(packed); e++) if (match(packed, e)) out.push(...entryRows(packed, e));
  }
  return out;
}

/** Deletes the entries `match` picks (rewriting the segments that hold them); resolves with their request ids and the rows deleted. */
export async function eraseEntries(handle: Db, dialect: Dialect, match: (packed: PackedEntries, e: number) => boolean, cipher?: SegmentCipher): Promise<{ requestIds: string[]; rows: number }> {
  return (handle as Kysely<LogTables>).transaction().execute(async (trx) => {
    const hits: { segmentId: number; packed: PackedEntries; keep: number[]; gone: string[] }[] = [];
    for await (const { segmentId, packed } of allSegments(trx, cipher)) {
      const keep: number[] = [];
      const gone: string[] = [];
      for (let e = 0; e < entryCount(packed); e++) {
        if (match(packed, e)) gone.push(requestIdOf(packed, e));
        else keep.push(e);
      }
      if (gone.length > 0) hits.push({ segmentId, packed, keep, gone });
    }
    // Rewritten after the scan: a rewritten segment gets a new id the scan would meet again.
    let rows = 0;
    for (const h of hits) rows += await rewriteSegment(trx, dialect, h.segmentId, h.packed, h.keep, cipher);
    return { requestIds: hits.flatMap((h) => h.gone), rows };
  });
}

/** Rewraps each sealed segment's data key under the current master key (the ciphertext stays); returns how many it rewrapped. */
export async function rewrapSegments(handle: Db, keyring: Keyring): Promise<number> {
  const db = handle as Kysely<LogTables>;
  let n = 0;
  for await (const s of segmentRows(db)) {
    const rewrapped = rewrapPayload(keyring, s.payload);
    if (!rewrapped) continue;
    await db.updateTable('mon_log_segment').set({ payload: rewrapped }).where('segment_id', '=', s.segment_id).execute();
    n++;
  }
  return n;
}
