/**
 * PostgreSQL tables and queries as feature sources. DuckDB's postgres scanner is an extension
 * that may not be installable where modelport runs, so rows are read with `pg` through a
 * server-side cursor in batches, appended to a DuckDB temp table as text and cast once to the
 * column types PostgreSQL reported: every later step (point-in-time join, materialize, checks)
 * reads it as it reads a file.
 */
import { invalidArgument, unavailable } from '../core/errors.js';
import { sqlIdent, type DuckSession } from '../data/source.js';
import type { SourceSpec } from './types.js';

export const PG_BATCH = 10_000;

/** PostgreSQL type OID → DuckDB type; anything else stays text. */
const PG_TYPES: Record<number, string> = {
  16: 'BOOLEAN',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  700: 'FLOAT',
  701: 'DOUBLE',
  1700: 'DOUBLE',
  1082: 'DATE',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMPTZ',
};

const pgIdent = (name: string) => name.split('.').map(sqlIdent).join('.');

export const describePostgres = (spec: SourceSpec) => (spec.table !== undefined ? `PostgreSQL table ${spec.table}` : `PostgreSQL query of source ${spec.name}`);

/** Copies the source's rows into DuckDB temp table `into`. */
export async function loadPostgres(session: DuckSession, spec: SourceSpec, into: string): Promise<void> {
  const { default: pg } = await import('pg');
  // Text for every type: DuckDB casts once, so big integers and numerics lose nothing on the way.
  const client = new pg.Client({ connectionString: spec.url, types: { getTypeParser: () => (v: string) => v } });
  try {
    await client.connect();
  } catch (err) {
    throw unavailable(`source ${spec.name}: cannot reach PostgreSQL at ${new URL(spec.url!).host}: ${(err as Error).message}`);
  }
  const what = describePostgres(spec);
  try {
    await client.query('BEGIN READ ONLY');
    try {
      await client.query(`DECLARE __mp_src NO SCROLL CURSOR FOR ${spec.table !== undefined ? `SELECT * FROM ${pgIdent(spec.table)}` : spec.query}`);
    } catch (err) {
      throw invalidArgument(`source ${spec.name}: ${what}: ${(err as Error).message}`);
    }
    let batch = await client.query({ text: `FETCH ${PG_BATCH} FROM __mp_src`, rowMode: 'array' });
    const fields = batch.fields;
    const cols = fields.map((f) => sqlIdent(f.name));
    await session.run(`CREATE OR REPLACE TABLE ${sqlIdent(into + '__text')} (${cols.map((c) => `${c} VARCHAR`).join(', ')})`);
    const appender = await session.con.createAppender(into + '__text');
    try {
      for (; batch.rows.length > 0; batch = await client.query({ text: `FETCH ${PG_BATCH} FROM __mp_src`, rowMode: 'array' })) {
        for (const row of batch.rows as (string | null)[][]) {
          for (const v of row) {
            if (v === null) appender.appendNull();
            else appender.appendVarchar(v);
          }
          appender.endRow();
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await client.query('COMMIT');
    const casts = fields.map((f, i) => `CAST(${cols[i]} AS ${PG_TYPES[f.dataTypeID] ?? 'VARCHAR'}) AS ${cols[i]}`);
    await session.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(into)} AS SELECT ${casts.join(', ')} FROM ${sqlIdent(into + '__text')}`);
    await session.run(`DROP TABLE ${sqlIdent(into + '__text')}`);
  } finally {
    await client.end();
  }
}
