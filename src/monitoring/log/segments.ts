/**
 * The prediction log in the store: segments (one per flushed batch of one deployment, see
 * pack.ts) and the request-id keys that point into them. Writing costs one segment insert per
 * batch and one small key row per request; reading decodes only the segments a query touches.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../storage/metadata.js';
import { decodeSegment, encodeSegment, entryRows, selectEntries, type LogRow, type PackedEntries } from './pack.js';
import type { LogTables } from './tables.js';

/** Any handle whose database has the log's tables (callers' handles type more tables than these). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any> | Transaction<any>;

/** Key rows per INSERT statement: 3 parameters each stays far below both engines' limits. */
const KEYS_PER_STATEMENT = 1000;
/** Ids or segment ids per `in (...)` list. */
const LOOKUP_CHUNK = 400;
/** Segments fetched per page when scanning a time range. */
const SCAN_PAGE = 16;

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

/** Stores one packed batch of one deployment and its request ids; resolves with its row count. Run it in a transaction. */
export async function insertSegment(db: Db, dialect: Dialect, packed: PackedEntries): Promise<number> {
  const n = packed.requestIds.length;
  let first = Infinity;
  let last = -Infinity;
  let rows = 0;
  for (let e = 0; e < n; e++) {
    if (packed.times[e] < first) first = packed.times[e];
    if (packed.times[e] > last) last = packed.times[e];
    rows += packed.rows[e];
  }
  const { segment_id } = (await db
    .insertInto('mon_log_segment')
    .values({ deployment: packed.deployments[0], first_ms: first, last_ms: last, entries: n, rows, payload: encodeSegment(packed) })
    .returning('segment_id')
    .executeTakeFirstOrThrow()) as { segment_id: number };
  for (let i = 0; i < n; i += KEYS_PER_STATEMENT) {
    const end = Math.min(n, i + KEYS_PER_STATEMENT);
    const params: unknown[] = [];
    for (let e = i; e < end; e++) params.push(packed.requestIds[e], segment_id, e);
    await db.executeQuery(CompiledQuery.raw(keyStatement(dialect, end - i), params));
  }
  return rows;
}

/** Stores several packed batches (each of one deployment) in one transaction; resolves with the rows stored. */
export async function insertSegments(db: Db, dialect: Dialect, batches: readonly PackedEntries[]): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let rows = 0;
    for (const packed of batches) rows += await insertSegment(trx, dialect, packed);
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
export async function readRows(handle: Db, query: RowQuery): Promise<LogRow[]> {
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
      const packed = decodeSegment(segment.payload);
      for (let e = 0; e < packed.requestIds.length; e++) if (inRange(packed.times[e])) kept.push(...entryRows(packed, e));
      kept.sort(newestFirst);
      if (kept.length > limit) kept = kept.slice(0, limit);
    }
    if (page.length < SCAN_PAGE) return kept;
  }
}

/** The logged rows of each of `ids` that has any (the first answer logged under an id). */
export async function rowsByRequestIds(handle: Db, ids: readonly string[]): Promise<Map<string, LogRow[]>> {
  const db = handle as Kysely<LogTables>;
  const found = new Map<string, LogRow[]>();
  const wanted = [...new Set(ids)];
  const pointers: { request_id: string; segment_id: number; entry: number }[] = [];
  for (let i = 0; i < wanted.length; i += LOOKUP_CHUNK) {
    pointers.push(...(await db.selectFrom('mon_log_key').selectAll().where('request_id', 'in', wanted.slice(i, i + LOOKUP_CHUNK)).execute()));
  }
  const segmentIds = [...new Set(pointers.map((p) => p.segment_id))];
  const segments = new Map<number, PackedEntries>();
  for (let i = 0; i < segmentIds.length; i += LOOKUP_CHUNK) {
    const rows = await db.selectFrom('mon_log_segment').select(['segment_id', 'payload']).where('segment_id', 'in', segmentIds.slice(i, i + LOOKUP_CHUNK)).execute();
    for (const r of rows) segments.set(r.segment_id, decodeSegment(r.payload));
  }
  for (const p of pointers) {
    const packed = segments.get(p.segment_id);
    if (packed) found.set(p.request_id, entryRows(packed, p.entry));
  }
  return found;
}

/**
 * Deletes logged requests older than `cutoff` and their keys; resolves with the rows deleted.
 * Whole segments go at once; a segment that straddles the cutoff is rewritten with its newer
 * requests only.
 */
export async function deleteRowsBefore(handle: Db, dialect: Dialect, cutoff: number): Promise<number> {
  return (handle as Kysely<LogTables>).transaction().execute(async (trx) => {
    let rows = 0;
    const drop = async (ids: number[]) => {
      for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
        const chunk = ids.slice(i, i + LOOKUP_CHUNK);
        await trx.deleteFrom('mon_log_key').where('segment_id', 'in', chunk).execute();
        await trx.deleteFrom('mon_log_segment').where('segment_id', 'in', chunk).execute();
      }
    };
    const old = await trx.selectFrom('mon_log_segment').select(['segment_id', 'rows']).where('last_ms', '<', cutoff).execute();
    await drop(old.map((s) => s.segment_id));
    for (const s of old) rows += s.rows;
    const straddling = await trx
      .selectFrom('mon_log_segment')
      .select(['segment_id', 'rows', 'payload'])
      .where('last_ms', '>=', cutoff)
      .where('first_ms', '<', cutoff)
      .execute();
    for (const s of straddling) {
      const packed = decodeSegment(s.payload);
      const keep = packed.times.flatMap((t, e) => (t >= cutoff ? [e] : []));
      await drop([s.segment_id]);
      rows += s.rows - (await insertSegment(trx, dialect, selectEntries(packed, keep)));
    }
    return rows;
  });
}
