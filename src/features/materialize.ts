/**
 * Materialization: the latest row per entity whose event time falls in a window, computed in
 * DuckDB and written to the online store in batches, blindly: the store keeps the newer row.
 */
import type { DuckDBVector } from '@duckdb/node-api';
import { checkStreamed } from '../data/read-table.js';
import { sqlIdent, type DuckSession } from '../data/source.js';
import type { OnlineStore } from '../storage/online.js';
import { RowsBuilder } from '../storage/packed-rows.js';
import { entityKey, onlineKey } from './online.js';
import { encodeRows, HEADER_BYTES, layoutOf, saveLayout } from './row-codec.js';
import type { ResolvedView } from './repo.js';
import { DUCK_TYPES, openSource, timestampExpr, valueTieBreak, type DatasetFiles } from './sources.js';

export interface MaterializeWindow {
  /** Exclusive lower bound on event time, ms; undefined: from the beginning. */
  afterMs?: number;
  /** Inclusive upper bound on event time, ms. */
  untilMs: number;
}

export interface ViewMaterialization {
  view: string;
  /** Entities found in the window. */
  rows: number;
  /** Entries written (rows older than what the store held are skipped). */
  written: number;
  newestEventMs: number | null;
}

export const MATERIALIZE_BATCH = 20_000;

/** Rows of a DuckDB chunk (its standard vector size). */
const CHUNK_ROWS = 2048;

/** Counts the window's entities first so progress has a total. */
export async function materializeView(
  session: DuckSession,
  store: OnlineStore,
  view: ResolvedView,
  window: MaterializeWindow,
  datasetFiles: DatasetFiles,
  onProgress: (total: number, done: number) => void,
): Promise<ViewMaterialization> {
  await session.run("SET TimeZone = 'UTC'");
  const src = await openSource(session, view.source, datasetFiles);
  const tsField = view.source.timestamp_field;
  const createdField = view.source.created_timestamp_field;
  const ts = await timestampExpr(session, src.from, tsField, src.columns.get(tsField)!, `source ${view.source.name}, column "${tsField}"`);
  const created = createdField ? await timestampExpr(session, src.from, createdField, src.columns.get(createdField)!, `source ${view.source.name}, column "${createdField}"`) : '0';
  const keys = view.joinKeys.map(sqlIdent);
  const lower = window.afterMs === undefined ? '' : `AND __ts > ${window.afterMs * 1000}`;
  const features = view.spec.features;
  const rows = `(
    SELECT * FROM (SELECT *, ${ts} AS __ts, ${created} AS __created FROM ${src.from})
    WHERE __ts IS NOT NULL ${lower} AND __ts <= ${window.untilMs * 1000} AND ${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')}
  )`;
  // The store readies itself while DuckDB finds the winners: a writer thread takes ~40 ms to
  // start compiled and 150-300 ms through tsx, which made the first batch wait for it.
  store.expectWrites();
  // The winners are found on keys and times alone, so the wide rows are neither copied into a
  // table nor sorted by a window: they stream once, joined to their winner. __n counts the rows
  // sharing the winner's times, which `valueTieBreak` then settles.
  await src.read(() =>
    session.run(`
      CREATE OR REPLACE TEMP TABLE __latest AS
      SELECT ${keys.join(', ')}, __ts, __created, count(*) AS __n FROM ${rows}
      GROUP BY ${keys.join(', ')}, __ts, __created
      QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __ts DESC, __created DESC NULLS LAST) = 1`),
  );
  const [[total, newest, tied]] = await session.rows('SELECT count(*), max(__ts) // 1000, count(*) FILTER (WHERE __n > 1) FROM __latest');
  onProgress(Number(total), 0);
  const layout = layoutOf(features);
  // The numbers come out as one array of doubles per row, laid out as the packed row holds them,
  // then each string feature; NULLs are read from the vectors' validity masks.
  const typed = (f: (typeof features)[number]) => `CAST(r.${sqlIdent(f.name)} AS ${DUCK_TYPES[f.dtype]})`;
  const numeric = features.flatMap((f, j) => (f.dtype === 'string' ? [] : [j]));
  const strings = features.flatMap((f, j) => (f.dtype === 'string' ? [j] : []));
  const m = numeric.length;
  // (array_value builds its array row by row, ten times the work of a list cast to one.)
  const array = `CAST(list_value(${numeric.map((j) => `CAST(${typed(features[j])} AS DOUBLE)`).join(', ')}) AS DOUBLE[${m}])`;
  const values = [...(m > 0 ? [array] : []), ...strings.map((j) => typed(features[j]))];
  const winners = (n: string) => `
    SELECT ${keys.map((k) => `r.${k}`).join(', ')}, CAST(r.__ts // 1000 AS DOUBLE), CAST(coalesce(r.__created // 1000, 0) AS DOUBLE), ${values.join(', ')}
    FROM ${rows} r
    JOIN __latest w ON ${keys.map((k) => `r.${k} = w.${k}`).join(' AND ')} AND r.__ts = w.__ts AND r.__created IS NOT DISTINCT FROM w.__created AND w.__n ${n}`;
  const tieBreak = `QUALIFY row_number() OVER (PARTITION BY ${keys.map((k) => `r.${k}`).join(', ')} ORDER BY ${valueTieBreak(features, 'r.')}) = 1`;
  const nKeys = keys.length;
  const prefix = onlineKey(view.spec.name, '');
  let done = 0;
  let written = 0;
  let batchKeys: string[] = [];
  // Sized for a batch of rows without strings, which then never grows.
  const batchRows = new RowsBuilder((MATERIALIZE_BATCH + CHUNK_ROWS) * ((layout.fixedBytes + 7) & ~7));
  // One batch is written while the next is fetched and encoded.
  let writing: Promise<void> | undefined;
  const settle = async () => {
    const w = writing;
    writing = undefined;
    await w;
  };
  const flush = async () => {
    if (batchKeys.length === 0) return settle();
    const n = batchKeys.length;
    // Handed to the store while the previous batch is still being written, so that the store
    // readies it meanwhile (SQLite sorts its keys) and writes it straight after.
    const previous = writing;
    const write = store.msetNewer(batchKeys, batchRows.take(), HEADER_BYTES).then((w) => {
      written += w;
      done += n;
      onProgress(Number(total), done);
    });
    // Awaited by the next flush; a failure meanwhile must not count as unhandled.
    write.catch(() => undefined);
    writing = write;
    batchKeys = [];
    // The next batch is encoded into the previous one's memory.
    await previous;
  };
  /** `expected`: the rows the query gives, known from the first step. */
  const pump = async (sql: string, expected: number) => {
    const result = await src.read(() => session.con.stream(sql));
    // Most of the scan and the feature casts run as chunks are fetched, so their failures are
    // explained as the source's, as those of the first step are.
    const fetch = () => src.read(() => result.fetchChunk());
    // The next chunk is fetched while this one is encoded and written.
    let next = fetch();
    let streamed = 0;
    try {
      for (let chunk = await next; chunk && chunk.rowCount > 0; chunk = await next) {
        next = fetch();
        const n = chunk.rowCount;
        streamed += n;
        if (nKeys === 1) {
          // The common single key spares a list per row (entityKey of one value is its text).
          keyTexts(chunk.getColumnVector(0), n, prefix, batchKeys);
        } else {
          const keyCols = Array.from({ length: nKeys }, (_, k) => chunk.getColumnVector(k));
          for (let i = 0; i < n; i++) batchKeys.push(prefix + entityKey(keyCols.map((v) => v.getItem(i))));
        }
        const bb = layout.bitmapBytes;
        const nulls = new Uint8Array(n * bb);
        const markNull = (i: number, j: number) => (nulls[i * bb + (j >> 3)] |= 1 << (j & 7));
        encodeRows(layout, {
          rows: n,
          t: items(chunk.getColumnVector(nKeys), n),
          c: items(chunk.getColumnVector(nKeys + 1), n),
          nulls,
          numbers: m > 0 ? numbersOf(chunk.getColumnVector(nKeys + 2), n, m, (i, k) => markNull(i, numeric[k])) : new Float64Array(0),
          strings: strings.map((j, s) => {
            const v = chunk.getColumnVector(nKeys + 2 + (m > 0 ? 1 : 0) + s);
            forEachNull(v, n, (i) => markNull(i, j));
            return Array.from({ length: n }, (_, i) => v.getItem(i) as string | null);
          }),
        }, batchRows);
        if (batchKeys.length >= MATERIALIZE_BATCH) await flush();
      }
    } finally {
      // A write that failed leaves the fetch ahead of it unawaited; its own failure must not go unhandled.
      next.catch(() => undefined);
    }
    if (streamed < expected) {
      await src.read(() => checkStreamed(session.con, sql, streamed));
      throw new Error(`materialize ${view.spec.name}: the source gave ${streamed} of ${expected} rows`);
    }
  };
  // Saved once, before any rows: a store write beside the batches in flight would wait for them.
  if (Number(total) > 0) await saveLayout(store, layout);
  try {
    // In no order: a sort would hold back every row until DuckDB had them all, and the SQLite
    // store sorts each batch's keys itself.
    await pump(winners('= 1'), Number(total) - Number(tied));
    if (Number(tied) > 0) await pump(`${winners('> 1')} ${tieBreak}`, Number(tied));
    await flush();
    await settle();
  } catch (err) {
    // The batch in flight ends before the failure is told, so nothing writes after it.
    await settle().catch(() => undefined);
    throw err;
  }
  return { view: view.spec.name, rows: Number(total), written, newestEventMs: newest === null ? null : Number(newest) };
}

/**
 * The numbers of a DOUBLE vector (anything at a NULL's place). Its typed array over DuckDB's
 * memory is used as it is where the vector exposes it (this release does), else they are copied out.
 */
function items(vector: DuckDBVector, n: number): Float64Array {
  const raw = (vector as unknown as { items?: unknown }).items;
  if (raw instanceof Float64Array && raw.length >= n) return raw;
  return Float64Array.from({ length: n }, (_, i) => (vector.getItem(i) as number | null) ?? 0);
}

/**
 * The numbers of the first n rows of a DOUBLE[m] vector, row by row (its child vector's items
 * where the vector exposes them, as this release does); `onNull(i, k)` for each NULL number.
 */
function numbersOf(vector: DuckDBVector, n: number, m: number, onNull: (i: number, k: number) => void): Float64Array {
  const child = (vector as unknown as { childData?: DuckDBVector }).childData;
  if (child) {
    forEachNull(child, n * m, (q) => onNull(Math.floor(q / m), q % m));
    return items(child, n * m);
  }
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    (vector.getItem(i) as { items: (number | null)[] }).items.forEach((v, k) => {
      if (v === null) onNull(i, k);
      else out[i * m + k] = v;
    });
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** DuckDBTypeId.BIGINT, named here so that loading this module does not load DuckDB. */
const BIGINT_TYPE_ID = 5;

/**
 * Appends `prefix` + the text of each of the first n values of a key column, as entityKey
 * writes one value. BIGINTs within 2^53 are read as two 32-bit halves and written as numbers,
 * the same digits without a BigInt made per row. Timestamps and times are held as 64-bit
 * integers too, but their text is the formatted value: they take the general path.
 */
function keyTexts(vector: DuckDBVector, n: number, prefix: string, out: string[]): void {
  const raw = (vector as unknown as { items?: unknown }).items;
  if (LITTLE_ENDIAN && vector.type.typeId === BIGINT_TYPE_ID && raw instanceof BigInt64Array && raw.length >= n) {
    const halves = new Int32Array(raw.buffer, raw.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) {
      const hi = halves[2 * i + 1];
      out.push(prefix + (hi >= -0x200000 && hi < 0x200000 ? String(hi * 2 ** 32 + (halves[2 * i] >>> 0)) : raw[i].toString()));
    }
    return;
  }
  for (let i = 0; i < n; i++) out.push(prefix + String(vector.getItem(i)));
}

/**
 * Calls `onNull` with the place of each of the vector's first `count` items that is NULL.
 * DuckDB's validity mask (bit q of 64-bit words set when item q is valid, the words
 * little-endian here) is read byte by byte where the vector exposes it (this release does), a
 * whole byte of valid items at a time; no mask at all means no NULLs.
 */
function forEachNull(vector: DuckDBVector, count: number, onNull: (q: number) => void): void {
  const validity = (vector as unknown as { validity?: { data?: unknown; offset?: unknown } }).validity;
  if (LITTLE_ENDIAN && validity?.offset === 0 && (validity.data === null || validity.data instanceof BigUint64Array)) {
    if (validity.data === null) return;
    const mask = new Uint8Array(validity.data.buffer, validity.data.byteOffset, validity.data.byteLength);
    for (let b = 0; b < count; b += 8) {
      const valid = mask[b >> 3];
      if (valid === 0xff) continue;
      for (let q = b; q < b + 8 && q < count; q++) if ((valid & (1 << (q - b))) === 0) onNull(q);
    }
    return;
  }
  for (let q = 0; q < count; q++) if (vector.getItem(q) === null) onNull(q);
}
