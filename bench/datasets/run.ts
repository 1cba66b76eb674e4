/**
 * Registering and profiling a 10,000,000-row Parquet file, against DuckDB's own SUMMARIZE of the
 * same file (the limit: one engine pass with approximate quantiles and distinct counts, no
 * histograms or value counts). Each measurement runs in a fresh child process so that its
 * peak resident memory (maxRSS) is its own; a child that only opens DuckDB gives the baseline.
 *
 *   node --import tsx bench/datasets/run.ts [--rows N] [--repeats R]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { openMetadataStore, migrate } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { systemClock } from '../../src/core/clock.js';
import { DatasetsService, datasetMigrations } from '../../src/data/index.js';
import { DuckSession, describeSource, readerSql, resolveSource } from '../../src/data/source.js';
import { profileRelation, rawColumns } from '../../src/data/profile.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ROWS = Number(arg('rows', '10000000'));
const REPEATS = Number(arg('repeats', '3'));
const SELF = fileURLToPath(import.meta.url);

type Role = 'baseline' | 'summarize' | 'profile' | 'register';

/** One measurement, in this (child) process: prints {seconds, maxRssMiB}. */
async function child(role: Role, file: string, work: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  if (role === 'baseline') {
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run('SELECT 1');
    con.closeSync();
    inst.closeSync();
  } else if (role === 'summarize') {
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.runAndReadAll(`SUMMARIZE SELECT * FROM read_parquet('${file}')`);
    con.closeSync();
    inst.closeSync();
  } else if (role === 'profile') {
    const session = await DuckSession.open();
    const source = resolveSource(file);
    await profileRelation(session, readerSql(source), rawColumns(await describeSource(session, source)));
    session.close();
  } else {
    const metadata = await openMetadataStore({ kind: 'sqlite', path: join(work, 'modelport.db') });
    await migrate(metadata, { ...coreMigrations, ...datasetMigrations });
    const blobs = await openFileBlobStore(join(work, 'artifacts'));
    const ds = new DatasetsService({ metadata, blobs, clock: systemClock, workDir: work });
    const r = await ds.register('bench', file);
    if (r.version.rowCount !== ROWS) throw new Error(`registered ${r.version.rowCount} rows, expected ${ROWS}`);
    await metadata.close();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function measure(role: Role, file: string, work: string): { seconds: number; maxRssMiB: number } {
  const runs = [];
  for (let i = 0; i < (role === 'baseline' ? 1 : REPEATS); i++) {
    const dir = mkdtempSync(join(work, `${role}-`));
    const r = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', role, '--file', file, '--work', dir, '--rows', String(ROWS)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`${role} failed: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout) as { seconds: number; maxRssMiB: number });
  }
  runs.sort((a, b) => a.seconds - b.seconds);
  const median = runs[Math.floor(runs.length / 2)];
  return { seconds: median.seconds, maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)) };
}

async function generate(file: string): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run('SELECT setseed(0.42)');
  await con.run(`COPY (
    SELECT
      i AS id,
      round(50 + 10 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS score,
      round(exp(10 + 0.5 * (random() + random() + random() - 1.5)), 2) AS income,
      CAST(floor(random() * 100) AS INTEGER) AS visits,
      ['north', 'south', 'east', 'west', 'centre', 'islands', 'abroad', 'unknown'][1 + CAST(floor(random() * 8) AS INTEGER)] AS region,
      CASE WHEN random() < 0.05 THEN NULL ELSE random() < 0.3 END AS churned,
      TIMESTAMP '2025-01-01' + INTERVAL (CAST(floor(random() * 31536000) AS BIGINT)) SECOND AS seen_at
    FROM range(${ROWS}) t(i)
  ) TO '${file}' (FORMAT parquet)`);
  con.closeSync();
  inst.closeSync();
}

async function main(): Promise<void> {
  const role = arg('child', '');
  if (role) return child(role as Role, arg('file', ''), arg('work', ''));

  const work = mkdtempSync(join(os.tmpdir(), 'modelport-bench-datasets-'));
  try {
    const file = join(work, 'data.parquet');
    const g0 = Date.now();
    await generate(file);
    const size = statSync(file).size;
    console.log(`generated ${ROWS.toLocaleString('en-US')} rows × 7 columns, ${(size / 2 ** 20).toFixed(1)} MiB Parquet in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
    const base = measure('baseline', file, work);
    const limit = measure('summarize', file, work);
    const profile = measure('profile', file, work);
    const register = measure('register', file, work);
    const row = (what: string, m: { seconds: number; maxRssMiB: number }, ratio: boolean) =>
      `| ${what} | ${m.seconds.toFixed(2)} | ${ratio ? `${(m.seconds / limit.seconds).toFixed(2)}×` : '1×'} | ${Math.round(m.maxRssMiB)} | ${Math.round(m.maxRssMiB - base.maxRssMiB)} |`;
    const table = [
      '| work | seconds (median) | vs SUMMARIZE | peak RSS MiB | above baseline MiB |',
      '| --- | --- | --- | --- | --- |',
      row('DuckDB `SUMMARIZE` (the limit: approximate quantiles and distinct counts, no histograms or value counts)', limit, false),
      row('modelport profile (t-digest quantiles, exact distinct counts, 10-bucket histograms, value counts of columns with at most 100,000 values)', profile, true),
      row('modelport `register` (sha256, profile, schema, blob store copy, metadata)', register, true),
      `| baseline: Node + DuckDB opened, no work | | | ${Math.round(base.maxRssMiB)} | 0 |`,
    ].join('\n');
    console.log(`\n${table}\n`);
    const cpus = os.cpus();
    const machine = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(
      'bench/results/datasets.md',
      `## Datasets: register and profile a ${ROWS.toLocaleString('en-US')}-row Parquet file\n\n${machine}; ${new Date().toISOString().slice(0, 10)}. ` +
        `File: ${(size / 2 ** 20).toFixed(1)} MiB, 7 columns (id, 2 floats, int, 8-level string, bool with 5% nulls, timestamp), generated by DuckDB. ` +
        `Median of ${REPEATS} runs, each in a fresh process; peak RSS is that process's maxRSS (Node, DuckDB and its buffers), so no row is read into JavaScript memory.\n\n${table}\n`,
    );
    console.log('wrote bench/results/datasets.md');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
