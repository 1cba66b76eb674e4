/**
 * Point-in-time correct training data, in DuckDB: for each entity row (keys, time t) and each
 * feature view, the view's row with the latest event time ≤ t and ≥ t − TTL (both inclusive),
 * the latest created time winning among equal event times; the whole row is taken (a null stays
 * null) and no candidate gives nulls. One ASOF JOIN per view over rows deduplicated by
 * (keys, event time); entity rows keep their order and duplicates. On-demand features are then
 * computed by the same transform serving runs.
 */
import { invalidArgument } from '../core/errors.js';
import { loadColumns, type MemoryColumn } from '../data/memory.js';
import { checkStreamed } from '../data/read-table.js';
import { DuckSession, describeSource, readerSql, reading, resolveSource, sqlIdent } from '../data/source.js';
import { outputNames, type FeatureRef, type FeatureRepo } from './repo.js';
import { checkColumns } from './online.js';
import { DUCK_TYPES, NUMERIC, openSource, timestampExpr, valueTieBreak, type DatasetFiles } from './sources.js';
import { coerceValue, transformInputs } from './transforms.js';
import type { Value } from './types.js';

/** A CSV or Parquet file, columns in memory, or a table already in the session. */
export type EntityInput = { path: string } | { columns: MemoryColumn[] } | { table: string };

export interface HistoricalRequest {
  entities: EntityInput;
  features: FeatureRef[];
  /** The entity table's event time column (default event_timestamp). */
  timestampColumn?: string;
  /** Source name → a table of the session already holding its rows (data loaded by the caller). */
  loaded?: ReadonlyMap<string, string>;
}

export interface HistoricalPlan {
  /** The SELECT giving the result, ordered as the entity rows. */
  sql: string;
  /** Output column names: the entity table's, then one per feature. */
  columns: string[];
  rowCount: number;
}

/** Builds the result as temp tables in `session`; the caller copies `sql` where it needs it. */
export async function buildHistorical(session: DuckSession, repo: FeatureRepo, req: HistoricalRequest, datasetFiles: DatasetFiles): Promise<HistoricalPlan> {
  const tsColumn = req.timestampColumn ?? 'event_timestamp';
  await session.run("SET TimeZone = 'UTC'");
  const entityFrom = await loadEntities(session, req.entities, tsColumn);
  const described = await session.rows(`DESCRIBE SELECT * FROM ${entityFrom}`);
  const entityTypes = new Map(described.map((r) => [String(r[0]), String(r[1])]));
  const what = 'path' in req.entities ? req.entities.path : 'table' in req.entities ? req.entities.table : 'entities';
  if (!entityTypes.has(tsColumn)) {
    throw invalidArgument(`${what}: no timestamp column "${tsColumn}"; it has ${[...entityTypes.keys()].join(', ')} (name another with --timestamp-column)`);
  }
  const tsSql = await timestampExpr(session, entityFrom, tsColumn, entityTypes.get(tsColumn)!, `${what}, column "${tsColumn}"`);
  await session.run(`CREATE OR REPLACE TEMP TABLE __entities AS SELECT *, row_number() OVER () AS __row, ${tsSql} AS __ts FROM ${entityFrom}`);
  const [[missingTs]] = await session.rows(`SELECT min(__row) FROM __entities WHERE __ts IS NULL`);
  if (missingTs !== null) throw invalidArgument(`${what}: row ${missingTs} has no value in "${tsColumn}"`);
  const [[rowCount]] = await session.rows('SELECT count(*) FROM __entities');

  const names = outputNames(req.features);
  for (const n of names) if (entityTypes.has(n)) throw invalidArgument(`${what}: has a column "${n}", the name of a requested feature; rename it`);
  const lookups = [...req.features.filter((f) => f.kind === 'view'), ...repo.dependencies(req.features)];
  const viewNames = [...new Set(lookups.map((f) => f.view))];
  const joins: string[] = [];
  const featureSql = new Map<string, string>();
  for (const [k, viewName] of viewNames.entries()) {
    const view = repo.views.get(viewName)!;
    const alias = `__v${k}`;
    const src = await openSource(session, view.source, datasetFiles, req.loaded?.get(view.source.name));
    const keyPairs = view.joinKeys.map((key) => {
      const et = entityTypes.get(key);
      if (et === undefined) throw invalidArgument(`${what}: no column "${key}", the join key of entity ${view.entities.find((e) => e.join_keys.includes(key))!.name} (feature view ${viewName})`);
      const st = src.columns.get(key)!;
      const cast = et === st ? '' : NUMERIC.test(et) && NUMERIC.test(st) ? 'DOUBLE' : 'VARCHAR';
      return { key, cast };
    });
    const srcTs = await timestampExpr(session, src.from, view.source.timestamp_field, src.columns.get(view.source.timestamp_field)!, `source ${view.source.name}, column "${view.source.timestamp_field}"`);
    const created = view.source.created_timestamp_field
      ? await timestampExpr(session, src.from, view.source.created_timestamp_field, src.columns.get(view.source.created_timestamp_field)!, `source ${view.source.name}, column "${view.source.created_timestamp_field}"`)
      : '0';
    const keyCols = keyPairs.map((p, i) => `${p.cast ? `CAST(${sqlIdent(p.key)} AS ${p.cast})` : sqlIdent(p.key)} AS __k${i}`);
    const wanted = lookups.filter((f) => f.view === viewName);
    const featCols = wanted.map((f, j) => `CAST(${sqlIdent(f.feature)} AS ${DUCK_TYPES[f.spec.dtype]}) AS __f${j}`);
    // Among rows with equal keys and event time only the latest created survives (then
    // `valueTieBreak`'s), so the ASOF match (which picks any of equal times) is the one Feast
    // would take and the one materialize writes online.
    await src.read(() => session.run(`
      CREATE OR REPLACE TEMP TABLE ${alias} AS
      SELECT ${keyCols.join(', ')}, __ts, ${featCols.join(', ')} FROM (
        SELECT *, ${srcTs} AS __ts, ${created} AS __created FROM ${src.from}
      ) WHERE __ts IS NOT NULL AND ${keyPairs.map((p) => `${sqlIdent(p.key)} IS NOT NULL`).join(' AND ')}
      QUALIFY row_number() OVER (PARTITION BY ${keyPairs.map((_, i) => `__k${i}`).join(', ')}, __ts ORDER BY __created DESC NULLS LAST, ${valueTieBreak(view.spec.features)}) = 1`));
    const on = keyPairs.map((p, i) => `${p.cast ? `CAST(e.${sqlIdent(p.key)} AS ${p.cast})` : `e.${sqlIdent(p.key)}`} = ${alias}.__k${i}`);
    joins.push(`ASOF LEFT JOIN ${alias} ON ${on.join(' AND ')} AND e.__ts >= ${alias}.__ts`);
    const fresh = view.ttlMs > 0 ? `${alias}.__ts >= e.__ts - ${view.ttlMs * 1000}` : `${alias}.__ts IS NOT NULL`;
    wanted.forEach((f, j) => featureSql.set(`${f.view}:${f.feature}`, `CASE WHEN ${fresh} THEN ${alias}.__f${j} END`));
  }
  const lookedUp = [...featureSql.entries()].map(([ref], i) => ({ ref, col: `__l${i}` }));
  await session.run(`
    CREATE OR REPLACE TEMP TABLE __joined AS
    SELECT e.*, ${lookedUp.map((l) => `${featureSql.get(l.ref)} AS ${l.col}`).join(', ') || 'NULL AS __none'}
    FROM __entities e ${joins.join('\n')}`);
  const colOf = new Map(lookedUp.map((l) => [l.ref, `j.${l.col}`]));

  const onDemand = req.features.filter((f) => f.kind === 'on_demand');
  let odfvJoin = '';
  if (onDemand.length) {
    await computeOnDemand(session, repo, onDemand, colOf, entityTypes, what, Number(rowCount));
    onDemand.forEach((f, i) => colOf.set(`${f.view}:${f.feature}`, `CAST(o.__o${i} AS ${DUCK_TYPES[f.spec.dtype]})`));
    odfvJoin = 'JOIN __odfv o ON o.__row = j.__row';
  }
  const entityCols = [...entityTypes.keys()].map((c) => `j.${sqlIdent(c)}`);
  const featureCols = req.features.map((f, i) => `${colOf.get(`${f.view}:${f.feature}`)} AS ${sqlIdent(names[i])}`);
  return {
    sql: `SELECT ${[...entityCols, ...featureCols].join(', ')} FROM __joined j ${odfvJoin} ORDER BY j.__row`,
    columns: [...entityTypes.keys(), ...names],
    rowCount: Number(rowCount),
  };
}

async function loadEntities(session: DuckSession, input: EntityInput, tsColumn: string): Promise<string> {
  if ('table' in input) return sqlIdent(input.table);
  if ('columns' in input) {
    checkColumns(Object.fromEntries(input.columns.map((c) => [c.name, Array.from(c.values as ArrayLike<unknown>)])), 'entities');
    // Whole numbers stay integers, so keys compare with integer source keys and print as given.
    const columns = input.columns.map((c) => {
      const values = Array.from(c.values as ArrayLike<unknown>);
      const whole = values.length > 0 && values.every((v) => typeof v === 'number' && Number.isSafeInteger(v));
      return whole ? { name: c.name, values: BigInt64Array.from(values as number[], (v) => BigInt(v)) } : c;
    });
    await loadColumns(session, columns, '__entity_input');
    return '__entity_input';
  }
  const table = resolveSource(input.path);
  if (table.format === 'jsonl') throw invalidArgument(`${input.path}: entity tables are CSV or Parquet`);
  await describeSource(session, table);
  // The timestamp column is read as written, so the output shows the caller's own values.
  const header = await reading(session, table, () => session.rows(`DESCRIBE SELECT * FROM ${readerSql(table)}`));
  const hasTs = header.some((r) => r[0] === tsColumn);
  const from = readerSql(table, table.format === 'csv' && hasTs ? [tsColumn] : []);
  await reading(session, table, () => session.run(`CREATE OR REPLACE TEMP TABLE __entity_input AS SELECT * FROM ${from}`));
  return '__entity_input';
}

/**
 * Runs each on-demand transform over the joined rows, chunk by chunk, and stores the outputs
 * in __odfv keyed by entity row; the same transform and coercion serve online requests.
 */
async function computeOnDemand(
  session: DuckSession,
  repo: FeatureRepo,
  refs: FeatureRef[],
  colOf: Map<string, string>,
  entityTypes: Map<string, string>,
  what: string,
  rowCount: number,
): Promise<void> {
  const views = [...new Set(refs.map((r) => r.view))].map((n) => repo.onDemand.get(n)!);
  // Each distinct source of a transform field is read once, as one column of the stream.
  const columns = new Map<string, { at: number; sql: string }>();
  const fields = views.map((v) =>
    transformInputs(repo, v.spec).map((input) => {
      let key: string;
      let sql: string;
      if ('request' in input) {
        if (!entityTypes.has(input.name)) throw invalidArgument(`${what}: no column "${input.name}", a request value on-demand view ${v.spec.name} needs`);
        key = `request:${input.name}`;
        sql = `CAST(j.${sqlIdent(input.name)} AS ${DUCK_TYPES[input.request.dtype]})`;
      } else {
        key = `${input.view}:${input.feature}`;
        sql = colOf.get(key)!;
      }
      if (!columns.has(key)) columns.set(key, { at: columns.size + 1, sql });
      return { name: input.name, at: columns.get(key)!.at };
    }),
  );
  const out: Value[][] = refs.map(() => new Array(rowCount));
  const rowIds: number[] = new Array(rowCount);
  const sql = `SELECT j.__row, ${[...columns.values()].map((c) => c.sql).join(', ')} FROM __joined j ORDER BY j.__row`;
  const result = await session.con.stream(sql);
  let r = 0;
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const rows = chunk.getRows();
    for (const row of rows) {
      rowIds[r] = Number(row[0]);
      const outputs = new Map(
        views.map((v, k) => {
          const input: Record<string, Value> = {};
          for (const f of fields[k]) input[f.name] = toValue(row[f.at]);
          return [v.spec.name, v.transform(input)];
        }),
      );
      refs.forEach((f, k) => (out[k][r] = coerceValue(outputs.get(f.view)![f.feature], f.spec)));
      r++;
    }
  }
  if (r < rowCount) {
    await checkStreamed(session.con, sql, r);
    throw new Error(`on-demand features: the joined rows gave ${r} of ${rowCount} rows`);
  }
  await loadColumns(session, [{ name: '__row', values: rowIds }, ...refs.map((_, k) => ({ name: `__o${k}`, values: out[k] }))], '__odfv');
}

/** A DuckDB value as JSON: BIGINT as a number, timestamps as ISO text. */
export function toValue(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * An entity file as JSON columns, for a server that cannot read the caller's disk: CSV cells
 * as written (text), Parquet values as typed.
 */
export async function readEntityColumns(path: string): Promise<Record<string, Value[]>> {
  const table = resolveSource(path);
  if (table.format === 'jsonl') throw invalidArgument(`${path}: entity tables are CSV or Parquet`);
  const session = await DuckSession.open();
  try {
    const from = table.format === 'csv' ? readerSql(table).replace(/\)$/, ', all_varchar = true)') : readerSql(table);
    const names = (await reading(session, table, () => session.rows(`DESCRIBE SELECT * FROM ${from}`))).map((r) => String(r[0]));
    const rows = await reading(session, table, () => session.rows(`SELECT * FROM ${from}`));
    return Object.fromEntries(names.map((n, j) => [n, rows.map((r) => toValue(r[j]))]));
  } finally {
    session.close();
  }
}
