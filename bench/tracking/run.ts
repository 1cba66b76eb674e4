/**
 * Experiment tracking under load, on SQLite (embedded) and PostgreSQL, each in the same run as
 * its limit:
 * - log-batch ingest: 8 concurrent HTTP clients, 1000 metric points per call, against a
 *   `modelport server` process; the limit is the raw insert rate of the same database for the
 *   same points in modelport's storage shape (one packed block per key per call), and the
 *   one-row-per-point insert rate is reported beside it.
 * - search-runs over 10,000 runs × 20 metrics with a metric filter and a metric order (target
 *   p50 ≤ 50 ms).
 * - get-history of one metric with 100,000 steps (target ≤ 100 ms); the limit is reading the
 *   same rows straight from the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';
import { machine, median, percentile, table, writeResults } from '../report.js';

const POSTGRES = process.env.MODELPORT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = 8;
const POINTS = 1000;
const INGEST_SECONDS = 6;
const RUNS = 10_000;
const METRICS = 20;
const HISTORY = 100_000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(1);
const dirs: string[] = [];
const dropAtEnd: (() => Promise<void>)[] = [];
const tmp = (label: string) => {
  const d = mkdtempSync(join(tmpdir(), `bench-trk-${label}-`));
  dirs.push(d);
  return d;
};

async function postgresUp(): Promise<boolean> {
  const c = new pg.Client({ connectionString: POSTGRES, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

// ---- ingest: modelport over HTTP -------------------------------------------------------------

function startServerProcess(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'server', '--port', '0', '--log-level', 'warn', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, MODELPORT_SERVER: '' },
    });
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /modelport listening on (\S+)/.exec(seen);
      if (m) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, url: m[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${seen}`)));
  });
}

async function post(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}/api/2.0/mlflow${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Request bodies: 10 keys × 100 steps per call, steps advancing call after call. */
function batchBody(runId: string, call: number): string {
  const metrics = new Array(POINTS);
  const t = 1_700_000_000_000 + call;
  for (let i = 0; i < POINTS; i++) metrics[i] = { key: `m${i % 10}`, value: Math.sin(call + i), timestamp: t, step: call * 100 + Math.floor(i / 10) };
  return JSON.stringify({ run_id: runId, metrics });
}

async function modelportIngest(storeArgs: string[]): Promise<number> {
  const { child, url } = await startServerProcess(storeArgs);
  try {
    const { experiment_id } = await post(url, '/experiments/create', { name: `ingest-${Date.now()}` });
    const runs: string[] = [];
    for (let c = 0; c < CLIENTS; c++) runs.push((await post(url, '/runs/create', { experiment_id })).run.info.run_id);
    // Warm up the connection and the statement caches.
    await Promise.all(runs.map((r) => post(url, '/runs/log-batch', batchBody(r, 0))));
    let points = 0;
    const deadline = performance.now() + INGEST_SECONDS * 1000;
    const t0 = performance.now();
    await Promise.all(
      runs.map(async (runId) => {
        for (let call = 1; performance.now() < deadline; call++) {
          await post(url, '/runs/log-batch', batchBody(runId, call));
          points += POINTS;
        }
      }),
    );
    return points / ((performance.now() - t0) / 1000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

// ---- ingest: the databases' raw insert rate ---------------------------------------------------

function rawRows(call: number): { steps: number[]; keys: string[]; values: number[]; times: number[] } {
  const steps: number[] = [];
  const keys: string[] = [];
  const values: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < POINTS; i++) {
    keys.push(`m${i % 10}`);
    steps.push(call * 100 + Math.floor(i / 10));
    values.push(Math.sin(call + i));
    times.push(1_700_000_000_000 + call);
  }
  return { steps, keys, values, times };
}

const METRIC_TABLE = `(run_pk bigint not null, key varchar(250) not null, step bigint not null, timestamp bigint not null,
  value double precision not null, is_nan smallint not null, primary key (run_pk, key, step, timestamp, value, is_nan))`;

const BLOCK_TABLE = `(block_id integer primary key, run_pk bigint not null, key varchar(250) not null, count integer not null,
  min_step bigint not null, max_step bigint not null, data blob not null)`;

/** The same 1000 points as 10 packed blocks (one per key), as modelport stores them. */
function rawBlocks(call: number): { key: string; count: number; min: number; max: number; data: Buffer }[] {
  const r = rawRows(call);
  const out = [];
  for (let k = 0; k < 10; k++) {
    const idx = r.keys.map((key, i) => (key === `m${k}` ? i : -1)).filter((i) => i >= 0);
    const cols = new Float64Array(idx.length * 3);
    idx.forEach((i, j) => {
      cols[j] = r.steps[i];
      cols[idx.length + j] = r.times[i];
      cols[2 * idx.length + j] = r.values[i];
    });
    out.push({ key: `m${k}`, count: idx.length, min: r.steps[idx[0]], max: r.steps[idx.at(-1)!], data: Buffer.from(cols.buffer) });
  }
  return out;
}

/** One writer, as SQLite allows; clients take turns, one commit per 1000-point batch. */
function sqliteRawIngest(shape: 'rows' | 'blocks'): number {
  const db = new Database(join(tmp('raw-sqlite'), 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(shape === 'rows' ? `create table m ${METRIC_TABLE} without rowid` : `create table b ${BLOCK_TABLE}; create index b_key on b (run_pk, key, min_step)`);
  const insertRow = shape === 'rows' ? db.prepare('insert into m values (?, ?, ?, ?, ?, 0) on conflict do nothing') : undefined;
  const insertBlock = shape === 'blocks' ? db.prepare('insert into b (run_pk, key, count, min_step, max_step, data) values (?, ?, ?, ?, ?, ?)') : undefined;
  const commit = db.transaction((run: number, call: number) => {
    if (insertRow) {
      const rows = rawRows(call);
      for (let i = 0; i < POINTS; i++) insertRow.run(run, rows.keys[i], rows.steps[i], rows.times[i], rows.values[i]);
    } else {
      for (const b of rawBlocks(call)) insertBlock!.run(run, b.key, b.count, b.min, b.max, b.data);
    }
  });
  let points = 0;
  const t0 = performance.now();
  const deadline = t0 + INGEST_SECONDS * 1000;
  for (let call = 1; performance.now() < deadline; call++) {
    for (let run = 0; run < CLIENTS; run++) commit(run, call);
    points += CLIENTS * POINTS;
  }
  const rate = points / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

async function postgresRawIngest(connectionString: string, shape: 'rows' | 'blocks'): Promise<number> {
  const schema = `bench_raw_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString, max: CLIENTS, options: `-c search_path=${schema}` });
  try {
    await pool.query(`create schema ${schema}`);
    await pool.query(`create table m ${METRIC_TABLE}`);
    await pool.query(`create table b ${BLOCK_TABLE.replace('integer primary key', 'bigint generated by default as identity primary key').replace('blob', 'bytea')}`);
    await pool.query('create index b_key on b (run_pk, key, min_step)');
    let points = 0;
    const t0 = performance.now();
    const deadline = t0 + INGEST_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, run) => {
        for (let call = 1; performance.now() < deadline; call++) {
          if (shape === 'rows') {
            const r = rawRows(call);
            await pool.query(
              'insert into m select $1::bigint, *, 0 from unnest($2::text[], $3::bigint[], $4::bigint[], $5::float8[]) on conflict do nothing',
              [run, r.keys, r.steps, r.times, r.values],
            );
          } else {
            const blocks = rawBlocks(call);
            await pool.query(
              'insert into b (run_pk, key, count, min_step, max_step, data) select $1::bigint, * from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bytea[])',
              [run, blocks.map((b) => b.key), blocks.map((b) => b.count), blocks.map((b) => b.min), blocks.map((b) => b.max), blocks.map((b) => b.data)],
            );
          }
          points += POINTS;
        }
      }),
    );
    return points / ((performance.now() - t0) / 1000);
  } finally {
    await pool.query(`drop schema ${schema} cascade`).catch(() => undefined);
    await pool.end();
  }
}

// ---- search and history ----------------------------------------------------------------------

/** 10,000 finished runs × 20 latest metrics, 3 params and a tag each, loaded straight into the tables. */
async function populate(db: Kysely<any>, experimentId: number): Promise<void> {
  const CHUNK = 250;
  for (let start = 0; start < RUNS; start += CHUNK) {
    await db.transaction().execute(async (trx) => {
      const runs = Array.from({ length: CHUNK }, (_, j) => {
        const i = start + j;
        return {
          run_id: randomBytes(16).toString('hex'),
          experiment_id: experimentId,
          run_name: `run-${i}`,
          user_id: 'bench',
          status: 'FINISHED',
          start_time: 1_700_000_000_000 + i * 1000,
          end_time: 1_700_000_000_000 + i * 1000 + 500,
          artifact_uri: `mlflow-artifacts:/${experimentId}/${i}/artifacts`,
          lifecycle_stage: 'active',
          deleted_time: null,
        };
      });
      const pks = (await trx.insertInto('tracking_run').values(runs).returning('run_pk').execute()).map((r) => Number(r.run_pk));
      const metrics = pks.flatMap((run_pk, j) =>
        Array.from({ length: METRICS }, (_, k) => ({ run_pk, key: `m${k}`, step: 10, timestamp: 1, value: Math.abs(Math.sin((start + j) * 31 + k)), is_nan: 0 })),
      );
      for (let i = 0; i < metrics.length; i += 1000) {
        await trx.insertInto('tracking_latest_metric').values(metrics.slice(i, i + 1000)).execute();
      }
      const params = pks.flatMap((run_pk, j) => ['lr', 'depth', 'seed'].map((key, k) => ({ run_pk, key, value: String((start + j + k) % 7) })));
      await trx.insertInto('tracking_param').values(params).execute();
      await trx.insertInto('tracking_tag').values(pks.map((run_pk, j) => ({ run_pk, key: 'mlflow.runName', value: `run-${start + j}` }))).execute();
    });
  }
}

async function timeRequests(n: number, fn: () => Promise<void>): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

interface ReadFigures {
  search100: number[];
  search1000: number[];
  history: number[];
  historyCold: number;
  historyRaw: number[];
  matched: number;
}

async function readBenchmarks(store: string | undefined): Promise<ReadFigures> {
  const data = tmp('read');
  const server = await startServer(loadConfig({ data, port: 0, logLevel: 'silent', ...(store ? { store } : {}) }, {}), { logger: false });
  try {
    const url = server.url;
    const { experiment_id } = await post(url, '/experiments/create', { name: 'search-bench' });
    await populate(server.platform.metadata.db, Number(experiment_id));
    // Fresh statistics (and on PostgreSQL a visibility map), as autovacuum keeps them on a live server.
    await sql.raw(store ? 'vacuum analyze' : 'analyze').execute(server.platform.metadata.db);
    const search = (max_results: number) => async () => {
      const res = await post(url, '/runs/search', { experiment_ids: [experiment_id], filter: 'metrics.m3 > 0.5', order_by: ['metrics.m7 DESC'], max_results });
      if (res.runs.length !== max_results) throw new Error(`search returned ${res.runs.length} runs`);
    };
    const matched = (await server.platform.metadata.db
      .selectFrom('tracking_latest_metric')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('key', '=', 'm3')
      .where('value', '>', 0.5)
      .executeTakeFirstOrThrow()) as { n: number | string };
    const search100 = await timeRequests(30, search(100));
    const search1000 = await timeRequests(10, search(1000));

    const { run } = await post(url, '/runs/create', { experiment_id });
    for (let call = 0; call < HISTORY / POINTS; call++) {
      const metrics = Array.from({ length: POINTS }, (_, i) => ({ key: 'loss', value: 1 / (call * POINTS + i + 1), timestamp: 1_700_000_000_000 + call, step: call * POINTS + i }));
      await post(url, '/runs/log-batch', { run_id: run.info.run_id, metrics });
    }
    const historyUrl = `${url}/api/2.0/mlflow/metrics/get-history?run_id=${run.info.run_id}&metric_key=loss`;
    const first = performance.now();
    const body = (await (await fetch(historyUrl)).json()) as { metrics: unknown[] };
    const historyCold = performance.now() - first;
    if (body.metrics.length !== HISTORY) throw new Error(`history has ${body.metrics.length} points`);
    // Time to the whole answer received (parsing 8 MB of JSON on the client is the client's cost).
    const history = await timeRequests(15, async () => {
      await (await fetch(historyUrl)).arrayBuffer();
    });
    const db = server.platform.metadata.db;
    const pk = Number((await db.selectFrom('tracking_run').select('run_pk').where('run_id', '=', run.info.run_id).executeTakeFirstOrThrow()).run_pk);
    const historyRaw = await timeRequests(15, async () => {
      const { rows } = await sql<{ count: number }>`select count, data from tracking_metric_block where run_pk = ${pk} and key = 'loss' order by min_step, block_id`.execute(db);
      const points = rows.reduce((n, r) => n + Number(r.count), 0);
      if (points !== HISTORY) throw new Error(`raw history has ${points} points`);
    });
    return { search100, search1000, history, historyCold, historyRaw, matched: Number(matched.n) };
  } finally {
    await server.close();
  }
}

// ---- run ---------------------------------------------------------------------------------------

const engines: { name: string; store?: string; cleanup?: () => Promise<void> }[] = [{ name: 'SQLite (embedded)' }];
if (await postgresUp()) {
  // A database of its own (not just a schema), so nothing else in the server shares its tables.
  const database = `bench_trk_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: POSTGRES });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  const url = new URL(POSTGRES);
  url.pathname = `/${database}`;
  engines.push({
    name: 'PostgreSQL',
    store: url.toString(),
    cleanup: async () => {
      await admin(`drop database if exists ${database} with (force)`);
      await admin(`create database ${database}`);
    },
  });
  await admin(`create database ${database}`);
  dropAtEnd.push(() => admin(`drop database if exists ${database} with (force)`));
} else {
  console.log(`# PostgreSQL at ${POSTGRES} is not reachable; its rows are skipped`);
}

const ingestRows: string[][] = [];
const readRows: string[][] = [];
for (const engine of engines) {
  const target = engine.store ? 30_000 : 100_000;
  console.log(`${engine.name}: ingest`);
  const storeArgs = engine.store ? ['--data', tmp('ingest'), '--store', engine.store] : ['--data', tmp('ingest')];
  const rate = await modelportIngest(storeArgs);
  const rows = engine.store ? await postgresRawIngest(engine.store, 'rows') : sqliteRawIngest('rows');
  const blocks = engine.store ? await postgresRawIngest(engine.store, 'blocks') : sqliteRawIngest('blocks');
  ingestRows.push(
    [`${engine.name}: modelport log-batch, ${CLIENTS} HTTP clients`, fmt(rate), `${(rate / target).toFixed(2)}× the ${fmt(target)}/s target`, `${((rate / blocks) * 100).toFixed(0)}% of the block limit; ${(rate / rows).toFixed(2)}× the row insert rate`],
    [`${engine.name}: limit, raw inserts of the same points as blocks (1000 points per commit)`, fmt(blocks), '', '100%'],
    [`${engine.name}: reference, raw inserts of one row per point (1000 rows per commit)`, fmt(rows), '', ''],
  );
  if (engine.cleanup) await engine.cleanup();

  console.log(`${engine.name}: search and history`);
  const read = await readBenchmarks(engine.store);
  readRows.push(
    [`${engine.name}: runs/search, 100 of ${fmt(read.matched)} matching runs`, ms(median(read.search100)), ms(percentile(read.search100, 95)), `${(median(read.search100) / 50).toFixed(2)} of the 50 ms target`],
    [`${engine.name}: runs/search, 1000 of ${fmt(read.matched)} matching runs`, ms(median(read.search1000)), ms(percentile(read.search1000, 95)), ''],
    [`${engine.name}: metrics/get-history, ${fmt(HISTORY)} steps, first read (blocks rendered)`, ms(read.historyCold), '', ''],
    [`${engine.name}: metrics/get-history, ${fmt(HISTORY)} steps, later reads`, ms(median(read.history)), ms(percentile(read.history, 95)), `${(median(read.history) / 100).toFixed(2)} of the 100 ms target; ${(median(read.history) / median(read.historyRaw)).toFixed(1)}× the raw read`],
    [`${engine.name}: limit, raw SELECT of the same ${fmt(HISTORY)} rows`, ms(median(read.historyRaw)), ms(percentile(read.historyRaw, 95)), ''],
  );
  if (engine.cleanup) await engine.cleanup();
}

const ingestTable = table(['log-batch ingest (1000 points per call)', 'points/s', 'vs target', 'vs limit'], ingestRows);
const readTable = table(['read', 'p50 ms', 'p95 ms', 'vs target'], readRows);
const load = loadavg().map((x) => x.toFixed(1)).join(', ');
const markdown = `## Experiment tracking (bench/tracking)

${machine()}; load average at the end ${load} (the machine is shared, so figures move with its load). Ingest runs ${INGEST_SECONDS} s per row against a \`modelport server\` process (the clients run in the benchmark process); the limit writes the same points straight into the database with the same durability (SQLite WAL with synchronous=FULL, one writer; PostgreSQL with ${CLIENTS} connections), packed as modelport packs them (one block per key per call); the reference line writes one row per point into a table keyed like MLflow's metrics table. Search runs over ${fmt(RUNS)} runs × ${METRICS} metrics with \`metrics.m3 > 0.5\` ordered by \`metrics.m7 DESC\`.

${ingestTable}

${readTable}
`;
console.log(`\n${ingestTable}\n\n${readTable}`);
writeResults('tracking', markdown);
for (const d of dirs) rmSync(d, { recursive: true, force: true });
for (const drop of dropAtEnd) await drop();
