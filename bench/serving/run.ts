/**
 * Online serving throughput and latency, on loopback, load from autocannon. In one run:
 *   (a) a bare Node `http` server answering a fixed JSON body: the limit of this machine;
 *   (b) modelport V2 infer, one row, the ONNX logistic-regression fixture: the model in a
 *       worker thread or on the event loop, dynamic batching off and on, in one process and
 *       behind a two-worker Node cluster (the core-use experiment);
 *   (c) the same model as scikit-learn Pipeline(StandardScaler, LogisticRegression) trained at
 *       bench time, loaded by joblib, behind Flask: Flask's own server and gunicorn -w 2;
 *   (d) a 500-tree depth-8 XGBoost model, one row per request, 64 connections, dynamic
 *       batching off and on.
 * Peak = requests/s with 32 connections (64 for the tree model); latency under load = p99 at
 * half of the peak request rate. modelport runs the tsc-compiled dist/ (built first), as in
 * production. Server CPU per request is the server's user + system time (all its threads, and
 * its cluster workers) over the peak measurement, divided by the requests answered.
 *
 *   node --import tsx bench/serving/run.ts        writes bench/results/serving.md
 *
 * Needs /usr/bin/python3 with python3-flask, python3-sklearn, python3-gunicorn and
 * python3-xgboost (to train the tree model; kept in the temp folder).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, load, processCpuMicros, started, stop, type LoadResult as Result } from '../load.js';
import { machine, table, writeResults } from '../report.js';

const TMP = join(os.tmpdir(), 'modelport-bench-serving');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const HALF_SECONDS = Math.min(DURATION, 5);
mkdirSync(TMP, { recursive: true });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers 200 (a peer that prints before it binds, or forks workers after). */
async function answering(url: string, body: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
const v2Body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });
const treeBody = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: row.map((v, i) => (i % 3 === 0 ? v / 100 : -v / 50)) }] });

interface Line {
  what: string;
  peak: Result;
  half?: Result & { connections: number };
  /** Server CPU (user + system, all threads and cluster workers) per answered request, µs. */
  cpuMicros?: number;
  /** Computed from other lines (no latencies of its own). */
  derived?: boolean;
}

/**
 * Latency at about half the peak rate: autocannon is closed-loop (its rate option sends each
 * second's requests in one burst), so the load is lowered by connections, the fewest that
 * reach half of the peak.
 */
async function atHalfLoad(url: string, body: string, peak: number): Promise<Result & { connections: number }> {
  let last: Result | undefined;
  for (const connections of [1, 2, 4, 8, 16]) {
    last = await load(url, body, { connections, seconds: HALF_SECONDS });
    if (last.requests.average >= peak / 2) return { ...last, connections };
  }
  return { ...last!, connections: 16 };
}

async function measure(what: string, url: string, body: string, options: { connections?: number; withHalf?: boolean; pid?: number } = {}): Promise<Line> {
  const connections = options.connections ?? 32;
  await load(url, body, { connections, seconds: 2 });
  const before = options.pid ? processCpuMicros(options.pid) : 0;
  const peak = await load(url, body, { connections, seconds: DURATION });
  const cpuMicros = options.pid ? (processCpuMicros(options.pid) - before) / (peak.requests.average * DURATION) : undefined;
  const half = options.withHalf ? await atHalfLoad(url, body, peak.requests.average) : undefined;
  console.log(
    `${what}: ${Math.round(peak.requests.average)} req/s${cpuMicros ? ` (server CPU ${Math.round(cpuMicros)} µs/req)` : ''}, p99 ${peak.latency.p99} ms${half ? `; ${Math.round(half.requests.average)} req/s (${half.connections} conn.) p99 ${half.latency.p99} ms` : ''}; non-2xx ${peak.non2xx}, errors ${peak.errors}`,
  );
  return { what, peak, half, cpuMicros };
}

/** The one-row deployments bench/serving/server.ts creates for the fixture model. */
const ONE_ROW = [
  ['cancer', 'model in a worker thread'],
  ['cancer-loop', 'model on the event loop'],
  ['cancer-batched', 'model in a worker thread, dynamic batching (≤64 rows)'],
  ['cancer-loop-batched', 'model on the event loop, dynamic batching (≤64 rows)'],
] as const;

/** A fresh server's JIT needs more than one short warm-up before its first measurement. */
async function warm(base: string): Promise<void> {
  for (const [name] of ONE_ROW) await load(`${base}/v2/models/${name}/infer`, v2Body, { connections: 32, seconds: 2 });
}

/** µs per row of the tree model evaluated on this thread, in calls of `rows` rows (best of 5 rounds). */
async function treeRowMicros(treeModel: string, sizes: readonly number[]): Promise<number[]> {
  const models = (await import(pathToFileURL(join(ROOT, 'dist', 'models', 'index.js')).href)) as typeof import('../../src/models/index.js');
  const p = await models.loadModel(treeModel, { flavor: 'xgboost', threads: 0 });
  const features = JSON.parse(treeBody).inputs[0].data as number[];
  const out: number[] = [];
  for (const rows of sizes) {
    const data = new Float32Array(rows * features.length);
    for (let r = 0; r < rows; r++) data.set(features.map((v, j) => v * (1 + ((r * 7 + j) % 5) / 10)), r * features.length);
    const batch = models.Batch.from([['features', { dtype: 'float32', shape: [features.length], data }]], rows);
    const conformed = models.conform(batch, p.signature.inputs);
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const calls = Math.max(20, Math.round(4000 / rows));
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) await p.predict(conformed);
      best = Math.min(best, ((performance.now() - t0) * 1000) / calls / rows);
    }
    out.push(best);
  }
  await p.close();
  return out;
}

async function main(): Promise<void> {
  const treeModel = join(TMP, 'synthetic_500x8.json');
  if (!existsSync(treeModel)) {
    console.log('training the 500-tree depth-8 XGBoost model with python3-xgboost...');
    execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'runtimes', 'xgb_peer.py'), 'train', treeModel], { stdio: 'inherit' });
  }
  // Production runs tsc's output; bench/serving/server.ts serves dist/.
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const lines: Line[] = [];
  // Other processes on a shared machine move these figures a lot; the load average says how busy it was.
  const loadBefore = os.loadavg()[0].toFixed(1);

  const fixed = JSON.stringify({ model_name: 'cancer', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [0] }, { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.9956442, 0.0043558] }] });
  const bareCode = `const http=require('http');const body=${JSON.stringify(fixed)};http.createServer((req,res)=>{req.resume();req.on('end',()=>{res.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(body)});res.end(body);});}).listen(0,'127.0.0.1',function(){console.log('listening http://127.0.0.1:'+this.address().port)});`;
  const bare = await started(process.execPath, ['-e', bareCode], /listening (\S+)/);
  // Measured before and after the modelport runs: the machine's speed drifts within minutes.
  const bareBefore = await measure('bare Node http, fixed JSON body, before', `${bare.match[1]}/`, v2Body, { pid: bare.child.pid });

  // The prediction log is off: its cost is bench/monitoring's to measure.
  const server = (...flags: string[]) => ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(TMP, 'data-')), treeModel, '--log-rate', '0', ...flags];
  const single = await started(process.execPath, server(), /listening (\S+)/);
  const mpUrl = single.match[1];
  await warm(mpUrl);
  for (const [name, how] of ONE_ROW) {
    lines.push(await measure(`modelport V2 infer, 1 process, ${how}`, `${mpUrl}/v2/models/${name}/infer`, v2Body, { withHalf: true, pid: single.child.pid }));
  }
  const unbatched = await measure('modelport V2, XGBoost 500×depth 8, batching off, 64 conn.', `${mpUrl}/v2/models/trees-unbatched/infer`, treeBody, { connections: 64, pid: single.child.pid });
  const batched = await measure('modelport V2, XGBoost 500×depth 8, batching on (≤64 rows), 64 conn.', `${mpUrl}/v2/models/trees-batched/infer`, treeBody, { connections: 64, pid: single.child.pid });
  const metrics = await (await fetch(`${mpUrl}/metrics`)).text();
  const sample = (name: string, deployment: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${name}{deployment="${deployment}"}`))?.split(' ').at(-1));
  const meanRows = (deployment: string) => sample('modelport_batch_size_rows_sum', deployment) / sample('modelport_batch_size_rows_count', deployment);
  const meanBatch = meanRows('trees-batched');
  const meanOneRowBatch = meanRows('cancer-batched');
  await stop(single.child);

  const clustered = await started(process.execPath, server('--workers', '2'), /listening (\S+)/);
  await warm(clustered.match[1]);
  for (const [name, how] of ONE_ROW) {
    lines.push(await measure(`modelport V2 infer, Node cluster of 2, ${how}`, `${clustered.match[1]}/v2/models/${name}/infer`, v2Body, { withHalf: true, pid: clustered.child.pid }));
  }
  await stop(clustered.child);
  const bareAfter = await measure('bare Node http, fixed JSON body, after', `${bare.match[1]}/`, v2Body, { pid: bare.child.pid });
  await stop(bare.child);
  const mean = (a: Result, b: Result): Result => ({ ...a, requests: { average: (a.requests.average + b.requests.average) / 2 } });
  const limitLine: Line = {
    what: 'bare Node http, fixed JSON body: the limit (mean of the runs before and after)',
    peak: mean(bareBefore.peak, bareAfter.peak),
    cpuMicros: ((bareBefore.cpuMicros ?? 0) + (bareAfter.cpuMicros ?? 0)) / 2,
    derived: true,
  };
  lines.unshift(limitLine, bareBefore, bareAfter);

  const peer = join(ROOT, 'bench', 'serving', 'flask_peer.py');
  const flaskPort = await freePort();
  const flask = await started('/usr/bin/python3', [peer, 'flask', String(flaskPort)], /listening/, { PYTHONUNBUFFERED: '1' });
  const flaskUrl = `http://127.0.0.1:${flaskPort}/v2/models/cancer/infer`;
  await answering(flaskUrl, v2Body);
  lines.push(await measure('Flask dev server (threaded), scikit-learn + joblib', flaskUrl, v2Body, { pid: flask.child.pid }));
  await stop(flask.child);

  const gunicornPort = await freePort();
  const gunicorn = await started(
    '/usr/bin/python3',
    ['-m', 'gunicorn', '-w', '2', '-b', `127.0.0.1:${gunicornPort}`, '--chdir', join(ROOT, 'bench', 'serving'), 'flask_peer:app'],
    /Listening at/,
  );
  const gunicornUrl = `http://127.0.0.1:${gunicornPort}/v2/models/cancer/infer`;
  await answering(gunicornUrl, v2Body);
  // The second worker may still be importing scikit-learn.
  await new Promise((r) => setTimeout(r, 3000));
  lines.push(await measure('gunicorn -w 2 + Flask, scikit-learn + joblib', gunicornUrl, v2Body, { pid: gunicorn.child.pid }));
  await stop(gunicorn.child);

  const [oneRowMicros, blockMicros] = await treeRowMicros(treeModel, [1, 64]);

  const rate = (l: Line) => l.peak.requests.average;
  const [limit, , , ...rest] = lines;
  const fl = rest[rest.length - 2];
  const gu = rest[rest.length - 1];
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const modelport = rest.slice(0, -2);
  const fastest = (ls: Line[]) => ls.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const best = fastest(modelport);
  const bestUnbatched = fastest(modelport.filter((l) => !l.what.includes('batching')));
  const config = (l: Line) => l.what.replace('modelport V2 infer, ', '');
  const num = (v: number) => Math.round(v).toLocaleString('en-US');
  // autocannon reports whole milliseconds.
  const ms = (v: number) => (v < 1 ? '<1' : String(v));
  const rows = lines.map((l) => [
    l.what,
    num(rate(l)),
    l.derived ? '' : ms(l.peak.latency.p50),
    l.derived ? '' : ms(l.peak.latency.p99),
    l.half ? `${ms(l.half.latency.p99)} (${num(l.half.requests.average)} req/s, ${l.half.connections} conn.)` : '',
    ratio(rate(l), rate(limit)),
    l.cpuMicros ? num(l.cpuMicros) : '',
    l.derived ? '' : String(l.peak.non2xx + l.peak.errors),
  ]);
  const trees = [unbatched, batched].map((l) => [l.what, num(rate(l)), ms(l.peak.latency.p50), ms(l.peak.latency.p99), l.cpuMicros ? num(l.cpuMicros) : '', String(l.peak.non2xx + l.peak.errors)]);
  const cpu = os.cpus()[0]?.model ?? 'CPU';
  const markdown = `# Online serving

${machine()}; 1-minute load average when the run started: ${loadBefore}

One-row Open Inference Protocol V2 requests over loopback, ${DURATION} s per measurement after a 2 s warm-up (and, for a new modelport server, 2 s on each deployment first), load from autocannon 9 (${'`'}connections${'`'} 32) running in the benchmark process on the same ${os.availableParallelism()} cores (${cpu}) as the server. modelport serves its tsc-compiled dist/ with the prediction log off (what logging costs is bench/monitoring's measure); its V2 inference requests take the handler in front of Fastify (src/server/fast-infer.ts). The bare Node server is measured before and after the modelport runs, and the limit is the mean of the two. Latencies in ms; "p99 @ ½ load" is the p99 with the fewest connections (1, 2, 4, ...) that reach half of that server's peak rate in ${HALF_SECONDS} s runs (autocannon is closed-loop; its rate option sends each second's requests in one burst). "Server CPU" is the server's user + system time (all threads, cluster workers included) per request at peak; the load generator's share of the cores is not in it. Dynamic batching: ${'`'}batching: { maxBatchSize: 64, maxQueueDelayUs: 0 }${'`'}, so a request never waits for company; rows merge only while a model call is already running.

${table(['server', 'req/s', 'p50', 'p99', 'p99 @ ½ load', 'vs bare Node', 'server CPU µs/req', 'non-2xx + errors'], rows)}

- Best modelport configuration: ${config(best)}, ${num(rate(best))} req/s: ${ratio(rate(best), rate(limit))} the bare Node limit, ${ratio(rate(best), rate(fl))} the Flask dev server, ${ratio(rate(best), rate(gu))} gunicorn -w 2.
- Best without dynamic batching: ${config(bestUnbatched)}, ${num(rate(bestUnbatched))} req/s: ${ratio(rate(bestUnbatched), rate(limit))} the bare Node limit, ${ratio(rate(bestUnbatched), rate(fl))} the Flask dev server.
- Mean rows per model call for the one-process worker-thread deployment with batching on: ${meanOneRowBatch.toFixed(1)} (from modelport_batch_size_rows).

## Dynamic batching, tree model

XGBoost 500 trees of depth 8 (python3-xgboost, synthetic data), one row per request, 64 connections, same server process as above.

${table(['deployment', 'req/s', 'p50', 'p99', 'server CPU µs/req', 'non-2xx + errors'], trees)}

- batching on vs off: ${ratio(rate(batched), rate(unbatched))}; mean rows per model call with batching on: ${meanBatch.toFixed(1)} (from modelport_batch_size_rows).
- Tree evaluation cost on one thread, measured in this run: ${oneRowMicros.toFixed(1)} µs for a one-row call, ${blockMicros.toFixed(1)} µs per row in 64-row calls (eight rows walk each tree side by side). It runs on the xgboost flavor's worker threads, off the event loop, while the server's CPU per request above is mostly HTTP, JSON and the hand-off to those threads on the event loop; batching removes the per-call part of that and cuts the tree work per row, but the per-request HTTP and JSON work stays: with the server CPU-bound, the gain is about the ratio of its CPU per request, off to on (${ratio(unbatched.cpuMicros ?? 0, batched.cpuMicros ?? 1)} here).
`;
  console.log(`\n${markdown}`);
  writeResults('serving', markdown);
}

await main();
