/**
 * bench/chaos: the fault and hostile-load probe of issue 20, scaled by CHAOS_SCALE (default 1;
 * CHAOS_SCALE=0.1 for a smoke run). Starts real `modelport server` processes and:
 * - SIGKILLs them during heavy log-batch writes (SQLite and PostgreSQL, one process and
 *   `--workers 2` with the primary killed), restarts, and counts acknowledged points that are gone;
 * - flips a byte in stored artifacts and counts the reads still served as a clean 200;
 * - floods one with slow bodies, then with large JSON bodies, while probing /health every 100 ms;
 * - sends fuzzed requests at tracking, registry, monitoring and serving routes and counts 5xx;
 * - moves a deployment between two versions again and again under load with `--workers 2`, and
 *   counts the requests that failed;
 * - sends SIGTERM with a flood in flight and times the exit against the shutdown grace.
 * Prints the table; with CHAOS_SCALE ≥ 1 also writes bench/results/chaos.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createPlatform } from '../../src/platform.js';

const SCALE = Number(process.env.CHAOS_SCALE ?? '1');
const PG_URL = process.env.MODELPORT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENTRY = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
const GRACE_MS = 5000;
const n = (full: number) => Math.max(1, Math.round(full * SCALE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dirs: string[] = [];

interface Server {
  child: ChildProcess;
  url: string;
}

function startServer(data: string, env: Record<string, string> = {}, args: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'server', '--data', data, '--port', '0', '--log-level', 'error', ...args], {
    env: { ...process.env, MODELPORT_SHUTDOWN_GRACE_MS: String(GRACE_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));

async function api(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}/api/2.0/mlflow${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * SIGKILL during writes, restart, count acknowledged points that are missing. With `--workers`
 * the primary is killed, and its workers go down with it (cluster mode).
 */
async function killDuringWrites(env: Record<string, string>, args: string[] = []): Promise<{ kills: number; acked: number; lost: number }> {
  const data = mkdtempSync(join(tmpdir(), 'chaos-kill-'));
  dirs.push(data);
  let server = await startServer(data, env, args);
  const { experiment_id } = await api(server.url, '/experiments/create', { name: `chaos-${Date.now()}` });
  const run_id = (await api(server.url, '/runs/create', { experiment_id })).run.info.run_id as string;
  const acked = new Set<number>();
  let step = 0;
  const kills = n(6);
  for (let k = 0; k < kills; k++) {
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const first = (step += 100) - 100;
        const metrics = Array.from({ length: 100 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: first + i }));
        try {
          const res = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ run_id, metrics }) });
          if (res.status === 200) for (let i = 0; i < 100; i++) acked.add(first + i);
        } catch {
          return;
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    await sleep(300 + Math.random() * 700);
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await exited(server.child);
    server = await startServer(data, env, args);
  }
  const res = await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${run_id}&metric_key=m`);
  const stored = new Set(((await res.json()) as { metrics: { step: number }[] }).metrics.map((m) => m.step));
  server.child.kill('SIGTERM');
  await exited(server.child);
  return { kills, acked: acked.size, lost: [...acked].filter((s) => !stored.has(s)).length };
}

/** Probes /health every 100 ms while `flood` runs; counts probes slower than 1 s or failed. */
async function healthDuring(url: string, flood: () => Promise<void>): Promise<{ probes: number; failed: number; worstMs: number }> {
  let done = false;
  let probes = 0;
  let failed = 0;
  let worstMs = 0;
  const probe = (async () => {
    while (!done) {
      const t = Date.now();
      probes++;
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status !== 200) failed++;
      } catch {
        failed++;
      }
      worstMs = Math.max(worstMs, Date.now() - t);
      await sleep(100);
    }
  })();
  await flood();
  done = true;
  await probe;
  return { probes, failed, worstMs };
}

function slowBodies(url: string, count: number, holdMs: number): Promise<void> {
  const { hostname, port } = new URL(url);
  const sockets = Array.from({ length: count }, () => {
    const s = net.connect(Number(port), hostname);
    s.on('error', () => undefined);
    s.write(`POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
    return s;
  });
  const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write(' ')), 500);
  return sleep(holdMs).then(() => {
    clearInterval(drip);
    sockets.forEach((s) => s.destroy());
  });
}

async function largeBodies(url: string, count: number, mib: number): Promise<void> {
  const row = JSON.stringify(Array.from({ length: 30 }, () => 0.5));
  const body = `{"inputs":[${Array.from({ length: Math.floor((mib * 2 ** 20) / (row.length + 1)) }, () => row).join(',')}]}`;
  await Promise.all(Array.from({ length: count }, () => fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text()).catch(() => undefined)));
}

async function fuzz(url: string, count: number): Promise<{ sent: number; fiveXx: number; examples: string[] }> {
  const weird = ['', 'Infinity', '1e309', '-1', '9007199254740993', '1e20', 'a%00b', '__proto__', 'constructor', 'toString', '%ff', 'x'.repeat(300)];
  const routes = [
    (w: string) => ['GET', `/api/v1/alerts?limit=${w}`],
    (w: string) => ['GET', `/api/2.0/mlflow/runs/get?run_id=${w}`],
    (w: string) => ['GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${w}`],
    (w: string) => ['GET', `/api/2.0/mlflow/registered-models/get?name=${w}`],
    (w: string) => ['GET', `/api/v1/registry/models/m/versions/${w}`],
    (w: string) => ['POST', '/api/2.0/mlflow/runs/search', JSON.stringify({ order_by: [w] })],
    (w: string) => ['POST', '/api/2.0/mlflow/experiments/search', JSON.stringify({ order_by: [w], max_results: Number(w) || w })],
    (w: string) => ['POST', '/api/2.0/mlflow/runs/create', `{"experiment_id":"0","start_time":${/^-?[\d.e]+$/.test(w) ? w : JSON.stringify(w)}}`],
    (w: string) => ['POST', '/api/2.0/mlflow/experiments/create', JSON.stringify({ name: decodeURIComponent(w.replace('%ff', '')) })],
    (w: string) => ['POST', '/api/v1/datasets/d/schema/infer', `{"version":${/^-?[\d.e]+$/.test(w) ? w : '"x"'}}`],
    (w: string) => ['GET', `/v2/models/${w}/ready`],
    (w: string) => ['POST', '/invocations', w],
  ];
  let fiveXx = 0;
  const examples: string[] = [];
  let sent = 0;
  const worker = async () => {
    while (sent < count) {
      const i = sent++;
      const [method, path, body] = routes[i % routes.length](weird[Math.floor(i / routes.length) % weird.length]);
      try {
        const res = await fetch(url + path, { method, headers: body !== undefined ? { 'content-type': 'application/json' } : {}, body });
        const text = await res.text();
        if (res.status >= 500) {
          fiveXx++;
          if (examples.length < 5) examples.push(`${method} ${path} -> ${res.status} ${text.slice(0, 120)}`);
        }
      } catch (err) {
        fiveXx++;
        if (examples.length < 5) examples.push(`${method} ${path} -> ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { sent, fiveXx, examples };
}

/** Stores `count` artifacts of 2 MiB, flips one byte of each on disk, and counts the reads that still end as a clean, whole 200. */
async function corruptReads(url: string, data: string, count: number): Promise<{ reads: number; servedAsValid: number }> {
  let servedAsValid = 0;
  for (let i = 0; i < count; i++) {
    const body = randomBytes(2 * 2 ** 20);
    const sha = createHash('sha256').update(body).digest('hex');
    const path = `${url}/api/2.0/mlflow-artifacts/artifacts/chaos/blob-${i}.bin`;
    const put = await fetch(path, { method: 'PUT', body });
    if (put.status !== 200) throw new Error(`artifact upload: ${put.status} ${await put.text()}`);
    const fd = openSync(join(data, 'artifacts', 'objects', sha.slice(0, 2), sha), 'r+');
    const at = Math.floor(Math.random() * body.length);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    try {
      const res = await fetch(path);
      const got = Buffer.from(await res.arrayBuffer());
      if (res.status === 200 && got.length === body.length) servedAsValid++;
    } catch {
      // Cut short: the corruption was caught.
    }
  }
  return { reads: count, servedAsValid };
}

/** Two versions of one model, deployed, in a fresh data folder. */
async function deployedModel(): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'chaos-swap-'));
  dirs.push(data);
  const platform = await createPlatform(loadConfig({ data, logLevel: 'silent' }, {}));
  try {
    const { registry, serving } = platform.services;
    for (const fixture of ['onnx_logreg_breast_cancer', 'onnx_forest_breast_cancer']) {
      const { sha256 } = await registry.putBlob(readFileSync(fileURLToPath(new URL(`../../test/fixtures/models/${fixture}/model.onnx`, import.meta.url))));
      await registry.createVersion({ name: 'cancer', files: [{ path: 'model.onnx', sha256 }], createModel: true });
    }
    await serving.create({ model: 'cancer', version: 1 });
  } finally {
    await platform.close();
  }
  return data;
}

/** PATCHes the deployment between its two versions `swaps` times while 8 clients predict; counts the requests that did not get a 200. */
async function swapsUnderLoad(swaps: number): Promise<{ requests: number; failed: number; examples: string[] }> {
  const server = await startServer(await deployedModel(), {}, ['--workers', '2']);
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: Array.from({ length: 30 }, () => 0.5) }] });
  let done = false;
  let requests = 0;
  let failed = 0;
  const examples: string[] = [];
  const client = async () => {
    while (!done) {
      requests++;
      try {
        const res = await fetch(`${server.url}/v2/models/cancer/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        if (res.status !== 200) {
          failed++;
          if (examples.length < 5) examples.push(`${res.status} ${text.slice(0, 120)}`);
        }
      } catch (err) {
        failed++;
        if (examples.length < 5) examples.push((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: 8 }, client);
  for (let i = 0; i < swaps; i++) {
    const res = await fetch(`${server.url}/api/v1/deployments/cancer`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: i % 2 === 0 ? 2 : 1 }) });
    if (res.status !== 200) throw new Error(`PATCH: ${res.status} ${await res.text()}`);
    // Each worker follows the store on its own; give the other one time to swap too.
    await sleep(1500);
  }
  done = true;
  await Promise.all(clients);
  server.child.kill('SIGTERM');
  await exited(server.child);
  return { requests, failed, examples };
}

async function pgSchema(): Promise<{ env: Record<string, string>; drop(): Promise<void> } | undefined> {
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const schema = `chaos_${process.pid}_${Date.now()}`;
  return {
    env: { MODELPORT_STORE: `${PG_URL}?schema=${schema}` },
    async drop() {
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
}

const rows: [string, string][] = [];
const pgs = await pgSchema();
try {
  const sqliteKill = await killDuringWrites({});
  rows.push(['SQLite: acknowledged points lost after SIGKILL', `${sqliteKill.lost} of ${sqliteKill.acked} (${sqliteKill.kills} kills)`]);
  if (pgs) {
    const pgKill = await killDuringWrites(pgs.env);
    rows.push(['PostgreSQL: acknowledged points lost after SIGKILL', `${pgKill.lost} of ${pgKill.acked} (${pgKill.kills} kills)`]);
  }
  const clusterKill = await killDuringWrites({}, ['--workers', '2']);
  rows.push(['cluster mode (--workers 2, SQLite): acknowledged points lost after SIGKILL of the primary', `${clusterKill.lost} of ${clusterKill.acked} (${clusterKill.kills} kills)`]);
  if (pgs) {
    const pgClusterKill = await killDuringWrites(pgs.env, ['--workers', '2']);
    rows.push(['cluster mode (--workers 2, PostgreSQL): acknowledged points lost after SIGKILL of the primary', `${pgClusterKill.lost} of ${pgClusterKill.acked} (${pgClusterKill.kills} kills)`]);
  }

  const data = mkdtempSync(join(tmpdir(), 'chaos-load-'));
  dirs.push(data);
  const server = await startServer(data);
  const corrupt = await corruptReads(server.url, data, n(6));
  rows.push(['corrupt artifacts (one flipped byte each) served as a clean 200', `${corrupt.servedAsValid} of ${corrupt.reads}`]);
  const slow = await healthDuring(server.url, () => slowBodies(server.url, n(2000), n(10_000)));
  rows.push([`slow-body flood (${n(2000)} connections): health probes failed or > 1 s`, `${slow.failed} of ${slow.probes} (worst ${slow.worstMs} ms)`]);
  const large = await healthDuring(server.url, () => largeBodies(server.url, n(16), 20));
  rows.push([`large-body flood (${n(16)} × 20 MiB JSON): health probes failed or > 1 s`, `${large.failed} of ${large.probes} (worst ${large.worstMs} ms)`]);
  for (const [label, env] of [['SQLite', {}], ...(pgs ? [['PostgreSQL', pgs.env]] : [])] as [string, Record<string, string>][]) {
    const target = label === 'SQLite' ? server : await startServer(mkdtempSync(join(tmpdir(), 'chaos-fuzz-')), env);
    const f = await fuzz(target.url, n(10_000));
    rows.push([`${label}: 5xx per fuzzed request`, `${f.fiveXx} of ${f.sent}${f.examples.length ? ` (${f.examples.join('; ')})` : ''}`]);
    if (target !== server) {
      target.child.kill('SIGTERM');
      await exited(target.child);
    }
  }
  const swaps = await swapsUnderLoad(n(10));
  rows.push([`hot swaps under load with --workers 2 (${n(10)} swaps): failed requests`, `${swaps.failed} of ${swaps.requests}${swaps.examples.length ? ` (${swaps.examples.join('; ')})` : ''}`]);
  const flood = largeBodies(server.url, n(8), 20);
  await sleep(200);
  const t = Date.now();
  server.child.kill('SIGTERM');
  await exited(server.child);
  await flood;
  rows.push([`SIGTERM with a large-body flood in flight (grace ${GRACE_MS} ms)`, `stopped in ${Date.now() - t} ms`]);
} finally {
  await pgs?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

const table = ['| probe | result |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
console.log(`\nchaos (CHAOS_SCALE=${SCALE})\n${table}`);
if (SCALE >= 1) writeFileSync(new URL('../results/chaos.md', import.meta.url), `## chaos\n\n${table}\n`);
