/**
 * The quickstart's wall time, as a user meets it: `modelport quickstart --no-serve` on a new
 * data folder, from launch to exit, against the issue's target of 2 minutes on a 2-core machine.
 * The built package runs when it is built (as `npx modelport` would), else the TypeScript source
 * through tsx (which adds its compile time, and says so). The load average beside each run says
 * whether the machine was quiet.
 *
 *   node --import tsx bench/quickstart/run.ts [--engines sqlite,scaleout]
 *
 * `scaleout` runs the same story on PostgreSQL and Redis (MODELPORT_BENCH_POSTGRES, default
 * postgres://postgres@127.0.0.1:5432/test; MODELPORT_BENCH_REDIS, default redis://127.0.0.1:6379)
 * in a schema and key prefix of its own, twice on one folder (the second run shows that the
 * quickstart empties the stores it filled), then drops the schema and the keys.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, table, writeResults } from '../report.js';

const TARGET_S = 120;
const built = existsSync('dist/cli/run.js');
const command = built ? ['bin/modelport.js'] : ['--import', 'tsx', 'src/cli/run.ts'];

interface Timed {
  label: string;
  seconds: number;
  stages: number[];
  load: [number, number];
}

function quickstart(label: string, args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    const child = spawn(process.execPath, [...command, 'quickstart', '--no-serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`${label}: quickstart exited ${code}\n${out}\n${err}`));
      const stages = [...out.matchAll(/^ {6}done in ([\d.]+) s$/gm)].map((m) => Number(m[1]));
      resolve({ label, seconds, stages, load: [loadBefore, loadavg()[0]] });
    });
  });
}

const engines = (process.argv.find((a, i) => process.argv[i - 1] === '--engines') ?? 'sqlite').split(',');
const runs: Timed[] = [];
if (engines.includes('sqlite')) {
  const data = join(mkdtempSync(join(tmpdir(), 'bench-quickstart-')), 'data');
  try {
    runs.push(await quickstart('embedded (SQLite, files)', ['--data', data]));
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}
if (engines.includes('scaleout')) {
  const tag = `bench_quickstart_${process.pid}`;
  const postgres = new URL(process.env.MODELPORT_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test');
  postgres.searchParams.set('schema', tag);
  const redis = new URL(process.env.MODELPORT_BENCH_REDIS ?? 'redis://127.0.0.1:6379');
  redis.searchParams.set('prefix', `${tag}:`);
  const data = join(mkdtempSync(join(tmpdir(), 'bench-quickstart-')), 'data');
  const args = ['--data', data, '--store', postgres.toString(), '--online', redis.toString()];
  try {
    runs.push(await quickstart('PostgreSQL + Redis', args));
    runs.push(await quickstart('PostgreSQL + Redis, run again on the same folder', args));
  } finally {
    rmSync(data, { recursive: true, force: true });
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: process.env.MODELPORT_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    await client.query(`drop schema if exists "${tag}" cascade`);
    await client.end();
    const { Redis } = await import('ioredis');
    const r = new Redis(process.env.MODELPORT_BENCH_REDIS ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${tag}:*`, 'COUNT', 1000);
      if (keys.length > 0) await r.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    r.disconnect();
  }
}

const rows = runs.map((r) => [
  r.label,
  r.seconds.toFixed(1),
  `${(r.seconds / TARGET_S).toFixed(2)} of the 2 min target`,
  r.stages.map((s) => s.toFixed(1)).join(' / '),
  `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`,
]);
const md = `## Quickstart (bench/quickstart)

${machine()}. \`modelport quickstart --no-serve\` on a new data folder, launch to exit, ${built ? 'the built package' : 'from the TypeScript source through tsx (run `npm run build` to time the package)'}.

${table(['stores', 'wall s', 'vs target', 'stages 1–9, s', 'load average (1 min) before → after'], rows)}
`;
console.log(md);
writeResults('quickstart', md);
