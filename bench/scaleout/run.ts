/**
 * Scale-out: what two replicas behind nginx cost against one replica, and how fast a change
 * reaches the other replica. In one run, on loopback, load from wrk, the servers taking turns:
 *  - one-row V2 predictions: one replica straight, two replicas behind nginx, and nginx in front of
 *    two bare Node servers that answer a fixed body (the limit of the balancing itself);
 *  - tracking ingest (MLflow log-metric) on PostgreSQL: one replica straight, two behind nginx;
 *  - propagation: a deployment's rate limit switched on and off through replica A, timed until
 *    replica B answers accordingly (bus delivery, store read and apply), p50 and max over 100
 *    changes; and an alias moved through replica A, timed until replica B serves the other
 *    version (the same, plus loading and warming the version on B).
 * Replicas run the compiled dist/ (npm ci builds it) through bin/modelport.js, as users start them.
 * Needs PostgreSQL and Redis on loopback, wrk and nginx. Artifacts are a shared folder (one
 * machine). BENCH_SMOKE=1 runs tiny sizes (what was run while other work loaded this machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPlatform } from '../../src/platform.js';
import { loadConfig } from '../../src/config.js';
import { machine, median, percentile, table, writeResults } from '../report.js';
import { failures, medianRate, rounds, started, stop, type LoadTarget } from '../load.js';
import { NGINX, loopbackNginxConfig } from '../../test/deploy/nginx-config.js';

const SMOKE = process.env.BENCH_SMOKE === '1';
const SECONDS = SMOKE ? 2 : 10;
const ROUNDS = SMOKE ? 1 : 5;
// Changes cost no load, so the smoke run makes as many as the full one.
const CHANGES = 100;
const MOVES = SMOKE ? 6 : 20;
const POSTGRES = process.env.MODELPORT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.MODELPORT_TEST_REDIS ?? 'redis://127.0.0.1:6379';

const tmp = (label: string) => mkdtempSync(join(os.tmpdir(), `scaleout-${label}-`));
const schema = `bench_${randomBytes(4).toString('hex')}`;
const prefix = `bench:${randomBytes(4).toString('hex')}:`;
const env = {
  MODELPORT_STORE: `${POSTGRES}?schema=${schema}`,
  MODELPORT_ARTIFACTS: `file:${tmp('artifacts')}`,
  MODELPORT_ONLINE: `${REDIS}/?prefix=${encodeURIComponent(prefix)}`,
  MODELPORT_LOG_LEVEL: 'warn',
};

const children: ChildProcess[] = [];
async function replica(): Promise<{ url: string; pid: number }> {
  const { child, match } = await started(process.execPath, ['bin/modelport.js', 'server', '--port', '0', '--data', tmp('data')], /listening on (\S+)/, env);
  children.push(child);
  return { url: match[1], pid: child.pid! };
}

function nginx(upstreams: string[]): Promise<string> {
  const dir = tmp('nginx');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(join(dir, 'nginx.conf'), loopbackNginxConfig(upstreams, port, dir));
  children.push(spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' }));
  return new Promise((resolve) => setTimeout(() => resolve(`http://127.0.0.1:${port}`), 500));
}

/** A bare Node server answering a fixed JSON body: what nginx in front of any server costs. */
function bare(): Promise<{ url: string; close: () => void }> {
  const body = JSON.stringify({ model_name: 'd', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [1] }] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() })));
}

const json = (method: string, url: string, body?: unknown) =>
  fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

try {
  const setup = await createPlatform(loadConfig({ data: tmp('setup'), logLevel: 'silent' }, env));
  const { register, LOGREG, breastCancerRows } = await import('../../test/serving/helpers.js');
  await register(setup.services.registry, 'm', LOGREG, ['model.onnx']);
  await register(setup.services.registry, 'm', LOGREG, ['model.onnx']);
  await setup.services.registry.setAlias('m', 'prod', 1);
  await setup.close();
  const [a, b] = [await replica(), await replica()];
  const lb = await nginx([new URL(a.url).host, new URL(b.url).host]);
  const bares = [await bare(), await bare()];
  const bareLb = await nginx(bares.map((s) => new URL(s.url).host));
  await json('POST', `${a.url}/api/v1/deployments`, { name: 'd', model: 'm', version: 1 });
  await json('POST', `${a.url}/api/v1/deployments`, { name: 'follow', model: 'm', alias: 'prod' });
  const row = (await breastCancerRows())[0];
  const v2 = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: row }] });
  for (const url of [a.url, b.url]) for (const d of ['d', 'follow']) while ((await fetch(`${url}/v2/models/${d}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: v2 })).status !== 200);

  const serving: LoadTarget[] = [
    { what: 'one replica, no nginx', url: `${a.url}/v2/models/d/infer`, body: v2, pid: a.pid, connections: 32 },
    { what: 'two replicas behind nginx', url: `${lb}/v2/models/d/infer`, body: v2, pid: a.pid, connections: 32 },
    { what: 'nginx + two bare Node servers (limit)', url: `${bareLb}/v2/models/d/infer`, body: v2, pid: a.pid, connections: 32 },
  ];
  const servingRuns = await rounds(serving, { rounds: ROUNDS, seconds: SECONDS, label: 'serving' });

  const exp = await json('POST', `${a.url}/api/2.0/mlflow/experiments/create`, { name: 'bench' });
  const run = await json('POST', `${a.url}/api/2.0/mlflow/runs/create`, { experiment_id: exp.body.experiment_id, start_time: Date.now() });
  const metric = JSON.stringify({ run_id: run.body.run.info.run_id, key: 'loss', value: 0.5, timestamp: Date.now(), step: 1 });
  const ingest: LoadTarget[] = [
    { what: 'one replica, no nginx', url: `${a.url}/api/2.0/mlflow/runs/log-metric`, body: metric, pid: a.pid, connections: 16 },
    { what: 'two replicas behind nginx', url: `${lb}/api/2.0/mlflow/runs/log-metric`, body: metric, pid: a.pid, connections: 16 },
  ];
  const ingestRuns = await rounds(ingest, { rounds: ROUNDS, seconds: SECONDS, label: 'ingest' });

  const delays: number[] = [];
  const infer = () => fetch(`${b.url}/v2/models/d/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: v2 }).then((r) => r.status);
  for (let i = 0; i < CHANGES; i++) {
    const on = i % 2 === 0;
    const t0 = performance.now();
    await json('PATCH', `${a.url}/api/v1/deployments/d`, { rate_limit: on ? { enabled: true, requests_per_second: 0.001, burst: 1, key: 'address' } : { enabled: false } });
    // On: the first request may take the one token; the change has arrived once B refuses. Off: once B answers again.
    for (let n = 0; ; n++) {
      const status = await infer();
      if (on ? status === 429 : status === 200) break;
      if (n > 100_000) throw new Error('the change never reached replica B');
    }
    delays.push(performance.now() - t0);
  }

  const moves: number[] = [];
  const servedOnB = () =>
    fetch(`${b.url}/v2/models/follow/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: v2 }).then(async (r) => ((await r.json()) as { model_version?: string }).model_version);
  for (let i = 0; i < MOVES; i++) {
    const version = String(i % 2 === 0 ? 2 : 1);
    const t0 = performance.now();
    await json('POST', `${a.url}/api/2.0/mlflow/registered-models/alias`, { name: 'm', alias: 'prod', version });
    for (let n = 0; (await servedOnB()) !== version; n++) if (n > 100_000) throw new Error('the alias move never reached replica B');
    moves.push(performance.now() - t0);
  }

  const rate = (r: (typeof servingRuns)[number]) => Math.round(medianRate(r)).toLocaleString('en-US');
  const p = (r: (typeof servingRuns)[number], q: 'p50' | 'p99') => median(r.runs.map((x) => x.latency[q])).toFixed(2);
  const md = `## scaleout

${machine()}${SMOKE ? ` — **smoke run** (BENCH_SMOKE=1: 1 round of 2 s per target, ${MOVES} alias moves) on a machine loaded by other work (1-minute load average ${os.loadavg()[0].toFixed(1)} at the end): the figures show that the mechanism works, not what it costs` : ''}.

Two \`modelport server\` processes (the compiled package, as users run it) on PostgreSQL (one schema) and Redis, behind nginx (deploy/nginx/modelport.conf: keep-alive upstreams), load from wrk on the same ${os.availableParallelism()} cores. On 2 cores a second replica cannot add throughput: these rows show what nginx and the second process cost; the limit row is nginx balancing two Node servers that do nothing.

${table(
  ['One-row V2 predictions', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
  servingRuns.map((r) => [r.config.what, rate(r), p(r, 'p50'), p(r, 'p99'), String(failures(r))]),
)}

${table(
  ['Tracking ingest (log-metric, PostgreSQL)', 'req/s', 'p50 ms', 'p99 ms', 'failed'],
  ingestRuns.map((r) => [r.config.what, rate(r), p(r, 'p50'), p(r, 'p99'), String(failures(r))]),
)}

Propagation of a deployment change made through replica A until replica B acts on it (over the Redis bus; PATCH, bus, B's store read and apply, and B's next answer): p50 ${median(delays).toFixed(1)} ms, p90 ${percentile(delays, 90).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms over ${CHANGES} changes.

Propagation of an alias move made through replica A until replica B serves the other version (the same path, plus loading and warming that version on B before it takes traffic): p50 ${median(moves).toFixed(1)} ms, max ${Math.max(...moves).toFixed(1)} ms over ${MOVES} moves.
`;
  console.log(md);
  writeResults('scaleout', md);
  for (const s of bares) s.close();
} finally {
  for (const c of children.reverse()) await stop(c).catch(() => undefined);
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}
