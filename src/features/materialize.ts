/**
 * Materialization: the latest row per entity whose event time falls in a window, computed in
 * DuckDB and written to the online store in batches, blindly: the store keeps the newer row.
 */
import { sqlIdent, type DuckSession } from '../data/source.js';
import type { OnlineStore } from '../storage/online.js';
import { entityKey, writeRows, type OnlineRow } from './online.js';
import type { ResolvedView } from './repo.js';
import { DUCK_TYPES, openSource, timestampExpr, type DatasetFiles } from './sources.js';
import { toValue } from './historical.js';

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

export const MATERIALIZE_BATCH = 10_000;

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
  const feats = view.spec.features.map((f) => `CAST(${sqlIdent(f.name)} AS ${DUCK_TYPES[f.dtype]}) AS ${sqlIdent(f.name)}`);
  await src.read(() =>
    session.run(`
      CREATE OR REPLACE TEMP TABLE __latest AS
      SELECT ${keys.join(', ')}, __ts // 1000 AS __t, __created // 1000 AS __c, ${feats.join(', ')} FROM (
        SELECT *, ${ts} AS __ts, ${created} AS __created FROM ${src.from}
      ) WHERE __ts IS NOT NULL ${lower} AND __ts <= ${window.untilMs * 1000} AND ${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')}
      QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __ts DESC, __created DESC NULLS LAST) = 1`),
  );
  const [[total, newest]] = await session.rows('SELECT count(*), max(__t) FROM __latest');
  onProgress(Number(total), 0);
  const nKeys = keys.length;
  const names = view.spec.features.map((f) => f.name);
  const result = await session.con.stream('SELECT * FROM __latest');
  let done = 0;
  let written = 0;
  let batch: { key: string; row: OnlineRow }[] = [];
  const flush = async () => {
    written += await writeRows(store, view.spec.name, batch);
    done += batch.length;
    batch = [];
    onProgress(Number(total), done);
  };
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (const r of chunk.getRows()) {
      const v: Record<string, ReturnType<typeof toValue>> = {};
      for (let j = 0; j < names.length; j++) v[names[j]] = toValue(r[nKeys + 2 + j]);
      batch.push({ key: entityKey(r.slice(0, nKeys)), row: { t: Number(r[nKeys]), c: Number(r[nKeys + 1]), v } });
      if (batch.length >= MATERIALIZE_BATCH) await flush();
    }
  }
  await flush();
  return { view: view.spec.name, rows: Number(total), written, newestEventMs: newest === null ? null : Number(newest) };
}
