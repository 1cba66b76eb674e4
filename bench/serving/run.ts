/**
 * Online serving throughput and latency, on loopback, load from wrk. In one run:
 *   (a) a bare Node `http` server answering a fixed JSON body: the limit of a Node server here;
 *   (b) modelport V2 infer, one row, the ONNX logistic-regression fixture (and, with default
 *       settings, a seeded ONNX MLP 30-64-32-2: the target names both): the model in a
 *       worker thread or on the event loop, dynamic batching off and on, in one process and
 *       behind a two-worker Node cluster (the core-use experiment);
 *   (c) the same model as scikit-learn Pipeline(StandardScaler, LogisticRegression) trained at
 *       bench time, loaded by joblib, behind Flask: Flask's own server and gunicorn -w 2;
 *   (d) a 500-tree depth-8 XGBoost model, one row per request, 64 connections, dynamic
 *       batching off and on.
 * All Node servers run at once, idle but for the one under load, and take turns in rounds of
 * short runs (the order turning each round): this machine's speed drifts by tens of percent
 * within minutes, and every configuration meets the drift alike. Each figure is the median over
 * the rounds; a ratio to bare Node is the median of the rounds' ratios. Peak = requests/s with
 * 32 connections (64 for the tree model); latency under load = p99 at half of the peak rate.
 * modelport runs the tsc-compiled dist/ (built first), as in production. Server CPU per request
 * is the server's user + system time (all its threads, and its cluster workers) over a run,
 * divided by the requests answered; a server run with `node --cpu-prof` then takes each one-process
 * configuration in turn, and that CPU is split into decode, predict, encode, logging and the rest
 * by the profile (breakdown.ts).
 *
 *   node --import tsx bench/serving/run.ts        writes bench/results/serving.md
 *
 * Needs wrk and /usr/bin/python3 with python3-flask, python3-sklearn, gunicorn and
 * python3-xgboost (to train the tree model; kept in the temp folder).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, failures, load, medianRate, paired, rate, rounds, started, stop, type LoadTarget as Config, type LoadResult as Result, type Runs } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';
import { PHASES, phaseShares } from './breakdown.js';

const TMP = join(os.tmpdir(), 'modelport-bench-serving');
/** Rounds of one run per configuration, and the length of a run. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
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
/** 1,000 rows × 30 FP32 features, as V2 JSON and as V2 binary tensor data (outputs asked for binary too). */
const LARGE_ROWS = 1000;
const largeData = Float32Array.from({ length: LARGE_ROWS * 30 }, (_, i) => row[i % 30] * (1 + (Math.floor(i / 30) % 7) / 100));
const largeJson = JSON.stringify({ inputs: [{ name: 'input', shape: [LARGE_ROWS, 30], datatype: 'FP32', data: Array.from(largeData) }] });
const largeHeader = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'input', shape: [LARGE_ROWS, 30], datatype: 'FP32', parameters: { binary_data_size: largeData.byteLength } }], parameters: { binary_data_output: true } }),
);
const largeBinary = Buffer.concat([largeHeader, Buffer.from(largeData.buffer)]);
const treeBody = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: row.map((v, i) => (i % 3 === 0 ? v / 100 : -v / 50)) }] });

/**
 * p99 at about half the peak rate. wrk is closed-loop, so the load is lowered by connections:
 * the fewest that reach half of the peak.
 */
async function atHalfLoad(config: Config, peak: number): Promise<Result & { connections: number }> {
  let last: Result | undefined;
  for (const connections of [1, 2, 4, 8, 16]) {
    last = await load(config.url, config.body, { connections, seconds: SECONDS });
    if (last.requests.average >= peak / 2) return { ...last, connections };
  }
  return { ...last!, connections: 16 };
}

/** The one-row deployments bench/serving/server.ts creates for the fixture model. */
const ONE_ROW = [
  ['cancer-default', 'default settings (deployed with no flags)'],
  ['mlp-default', 'ONNX MLP 30-64-32-2, default settings'],
  ['cancer', 'model in a worker thread'],
  ['cancer-loop', 'model on the event loop'],
  ['cancer-batched', 'model in a worker thread, dynamic batching (≤64 rows)'],
  ['cancer-loop-batched', 'model on the event loop, dynamic batching (≤64 rows)'],
] as const;

/** A fresh server's JIT needs more than one short warm-up before its first measurement. */
async function warm(configs: Config[]): Promise<void> {
  for (const c of configs) await load(c.url, c.body, { connections: c.connections, seconds: 2 });
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

/**
 * Starts a Python peer on a free port (PORT in `cmd`), waits until it answers and `settleMs`
 * more, measures one run of `seconds`, and stops it.
 */
/** A Python peer's runs, or undefined (said on the console) when it cannot start here, e.g. gunicorn not installed. */
async function peer(what: string, cmd: string[], options: { ready: RegExp; seconds: number; settleMs?: number; env?: NodeJS.ProcessEnv }): Promise<Runs | undefined> {
  const port = await freePort();
  const args = cmd.map((a) => a.replace('PORT', String(port)));
  let child: Awaited<ReturnType<typeof started>>['child'];
  try {
    ({ child } = await started('/usr/bin/python3', args, options.ready, options.env));
  } catch (err) {
    console.log(`${what}: not run, it did not start (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
  try {
    const url = `http://127.0.0.1:${port}/v2/models/cancer/infer`;
    await answering(url, v2Body);
    await new Promise((r) => setTimeout(r, options.settleMs ?? 0));
    const [runs] = await rounds([{ what, url, body: v2Body, pid: child.pid!, connections: 32 }], { rounds: 1, seconds: options.seconds, label: what });
    return runs;
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  const treeModel = join(TMP, 'synthetic_500x8.json');
  if (!existsSync(treeModel)) {
    console.log('training the 500-tree depth-8 XGBoost model with python3-xgboost...');
    execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'runtimes', 'xgb_peer.py'), 'train', treeModel], { stdio: 'inherit' });
  }
  // Production runs tsc's output; bench/serving/server.ts serves dist/.
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  // Other processes on a shared machine move these figures a lot; the load average says how busy it was.
  const loadBefore = os.loadavg()[0].toFixed(1);

  const fixed = JSON.stringify({ model_name: 'cancer', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [0] }, { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.9956442, 0.0043558] }] });
  const bareCode = (workers: number) =>
    `const http=require('http'),cluster=require('cluster');const body=${JSON.stringify(fixed)};` +
    `if(${workers}>1&&cluster.isPrimary){let n=0;for(let i=0;i<${workers};i++)cluster.fork().on('message',(m)=>{if(++n===${workers})console.log(m)});}` +
    `else http.createServer((req,res)=>{req.resume();req.on('end',()=>{res.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(body)});res.end(body);});}).listen(${workers > 1 ? 'process.env.BARE_PORT' : 0},'127.0.0.1',function(){const m='listening http://127.0.0.1:'+this.address().port;process.send?process.send(m):console.log(m)});`;
  // A file, not -e: cluster workers run the primary's script.
  const bareFile = (workers: number) => {
    const file = join(TMP, `bare-${workers}.cjs`);
    writeFileSync(file, bareCode(workers));
    return file;
  };
  const bare = await started(process.execPath, [bareFile(1)], /listening (\S+)/);
  const bareCluster = await started(process.execPath, [bareFile(2)], /listening (\S+)/, { BARE_PORT: String(await freePort()) });

  // The prediction log is off: its cost is bench/monitoring's to measure.
  const server = (...flags: string[]) => ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(TMP, 'data-')), treeModel, '--log-rate', '0', ...flags];
  const single = await started(process.execPath, server(), /listening (\S+)/);
  const clustered = await started(process.execPath, server('--workers', '2'), /listening (\S+)/);
  const at = (s: typeof single, how: string) => ONE_ROW.map(([name, what]): Config => ({ what: `modelport V2 infer, ${how}, ${what}`, url: `${s.match[1]}/v2/models/${name}/infer`, body: v2Body, pid: s.child.pid!, connections: 32 }));
  const limit: Config = { what: 'bare Node http, fixed JSON body (the limit)', url: `${bare.match[1]}/`, body: v2Body, pid: bare.child.pid!, connections: 32 };
  const reference: Config = { what: 'for reference: bare Node http, Node cluster of 2', url: `${bareCluster.match[1]}/`, body: v2Body, pid: bareCluster.child.pid!, connections: 32 };
  const modelportConfigs = [...at(single, '1 process'), ...at(clustered, 'Node cluster of 2')];
  const trees = [
    ['trees-unbatched', 'batching off'],
    ['trees-batched', 'batching on (≤64 rows)'],
  ].map(([name, how]): Config => ({ what: `modelport V2, XGBoost 500×depth 8, ${how}, 64 conn.`, url: `${single.match[1]}/v2/models/${name}/infer`, body: treeBody, pid: single.child.pid!, connections: 64 }));
  const largeUrl = `${single.match[1]}/v2/models/cancer-default/infer`;
  const large: Config[] = [
    { what: `V2 JSON, ${LARGE_ROWS}×30 FP32`, url: largeUrl, body: largeJson, pid: single.child.pid!, connections: 8 },
    {
      what: `V2 binary tensor data, ${LARGE_ROWS}×30 FP32`,
      url: largeUrl,
      body: largeBinary,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(largeHeader.length) },
      pid: single.child.pid!,
      connections: 8,
    },
  ];
  await warm([limit, reference, ...modelportConfigs, ...trees, ...large]);

  const oneRow = await rounds([limit, ...modelportConfigs, reference], { rounds: ROUNDS, seconds: SECONDS, label: 'one-row' });
  const [limitRuns, ...rest] = oneRow;
  const modelport = rest.slice(0, -1);
  const referenceRuns = rest.at(-1)!;
  // Read before the half-load runs, whose few connections make small batches.
  const oneRowMetrics = await (await fetch(`${single.match[1]}/metrics`)).text();
  const halves = new Map<Runs, Result & { connections: number }>();
  for (const r of [limitRuns, ...modelport]) halves.set(r, await atHalfLoad(r.config, medianRate(r)));
  const [unbatched, batched] = await rounds(trees, { rounds: ROUNDS, seconds: SECONDS, label: 'trees' });
  const [largeJsonRuns, largeBinaryRuns] = await rounds(large, { rounds: ROUNDS, seconds: SECONDS, label: 'large tensor' });
  const treeMetrics = await (await fetch(`${single.match[1]}/metrics`)).text();
  const sample = (metrics: string, name: string, deployment: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${name}{deployment="${deployment}"}`))?.split(' ').at(-1));
  const meanRows = (deployment: string, metrics = oneRowMetrics) => sample(metrics, 'modelport_batch_size_rows_sum', deployment) / sample(metrics, 'modelport_batch_size_rows_count', deployment);
  for (const s of [single, clustered, bareCluster, bare]) await stop(s.child);

  // Where each one-process configuration's CPU goes: one profiled server takes them in turn.
  const profileDir = mkdtempSync(join(TMP, 'profile-'));
  const profiled = await started(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...server()], /listening (\S+)/);
  const windows: { from: number; to: number }[] = [];
  for (const c of at(profiled, '1 process')) {
    await load(c.url, c.body, { connections: c.connections, seconds: 1 });
    const from = Number(process.hrtime.bigint() / 1000n);
    await load(c.url, c.body, { connections: c.connections, seconds: SECONDS });
    windows.push({ from, to: Number(process.hrtime.bigint() / 1000n) });
  }
  await stop(profiled.child);
  const shares = phaseShares(profileDir, windows);

  const flaskRuns = await peer('Flask dev server (threaded), scikit-learn + joblib', [join(ROOT, 'bench', 'serving', 'flask_peer.py'), 'flask', 'PORT'], {
    ready: /listening/,
    seconds: 2 * SECONDS,
    env: { PYTHONUNBUFFERED: '1' },
  });
  // gunicorn's second worker may still be importing scikit-learn when the first answers.
  const gunicornRuns = await peer('gunicorn -w 2 + Flask, scikit-learn + joblib', ['-m', 'gunicorn', '-w', '2', '-b', '127.0.0.1:PORT', '--chdir', join(ROOT, 'bench', 'serving'), 'flask_peer:app'], {
    ready: /Listening at/,
    seconds: 2 * SECONDS,
    settleMs: 3000,
  });
  const ratio = (x: number) => `${x.toFixed(2)}×`;
  const peerRuns = [flaskRuns, gunicornRuns].filter((r): r is Runs => r !== undefined);
  const vsPeer = (r: Runs, p: Runs | undefined, name: string) => (p ? `${ratio(medianRate(r) / medianRate(p))} ${name}` : `${name}: not run`);

  const [oneRowMicros, blockMicros] = await treeRowMicros(treeModel, [1, 64]);

  const num = (v: number) => Math.round(v).toLocaleString('en-US');
  const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  const fastest = (rs: Runs[]) => rs.reduce((a, b) => (medianRate(b) > medianRate(a) ? b : a));
  // The configurations compared are the logistic regression's; the MLP is there for its defaults.
  const logreg = modelport.filter((r) => !r.config.url.includes('/mlp-default/'));
  const best = fastest(logreg);
  const bestUnbatched = fastest(logreg.filter((r) => !r.config.what.includes('batching')));
  const config = (r: Runs) => r.config.what.replace('modelport V2 infer, ', '');
  const vsLimit = (r: Runs) => (r === limitRuns ? '1.00×' : peerRuns.includes(r) ? ratio(medianRate(r) / medianRate(limitRuns)) : ratio(paired(r, limitRuns)));
  const rows = [limitRuns, ...modelport, ...peerRuns, referenceRuns].map((r) => {
    const half = halves.get(r);
    return [
      r.config.what,
      num(medianRate(r)),
      ms(median(r.runs.map((x) => x.latency.p50))),
      ms(median(r.runs.map((x) => x.latency.p99))),
      half ? `${ms(half.latency.p99)} (${num(rate(half))} req/s, ${half.connections} conn.)` : '',
      vsLimit(r),
      num(median(r.cpu)),
      String(failures(r)),
    ];
  });
  const breakdownRows = modelport.slice(0, ONE_ROW.length).map((r, i) => {
    const cpu = median(r.cpu);
    return [config(r), num(cpu), ...PHASES.map((ph) => `${(cpu * shares[i].get(ph)!).toFixed(1)} (${Math.round(100 * shares[i].get(ph)!)}%)`)];
  });
  const defaults = modelport.filter((r) => r.config.url.includes('/cancer-default/'));
  const [defaultSingle, defaultCluster] = defaults;
  const [mlpSingle, mlpCluster] = modelport.filter((r) => r.config.url.includes('/mlp-default/'));
  const largeRows = [largeJsonRuns, largeBinaryRuns].map((r) => [r.config.what, num(medianRate(r) * LARGE_ROWS), num(medianRate(r)), ms(median(r.runs.map((x) => x.latency.p99))), num(median(r.cpu)), String(failures(r))]);
  const treeRows = [unbatched, batched].map((r) => [r.config.what, num(medianRate(r)), ms(median(r.runs.map((x) => x.latency.p50))), ms(median(r.runs.map((x) => x.latency.p99))), num(median(r.cpu)), String(failures(r))]);
  const wrkCpu = median(oneRow.flatMap((r) => r.runs.map((x) => x.loadCpuMicros)));
  const floor = Math.min(...modelport.filter((r) => r.config.what.includes('1 process') && r.config.what.includes('batching')).map((r) => median(r.cpu)));
  const cpu = os.cpus()[0]?.model ?? 'CPU';
  const markdown = `# Online serving

${machine()}; 1-minute load average when the run started: ${loadBefore}

One-row Open Inference Protocol V2 requests over loopback, load from wrk (one thread, 32 connections; it spent ${wrkCpu.toFixed(1)} µs of CPU per request, median) on the same ${os.availableParallelism()} cores (${cpu}) as the servers. The Node servers run side by side and take turns: ${ROUNDS} rounds of one ${SECONDS} s run each, the order turning each round, after a 2 s warm-up of each; figures are medians over the rounds, and "vs bare Node" is the median of each round's ratio to the bare Node run of the same round. modelport serves its tsc-compiled dist/ with the prediction log off (what logging costs is bench/monitoring's measure); its V2 inference requests take the handler in front of Fastify (src/server/fast-infer.ts). Latencies in ms; "p99 @ ½ load" is the p99 with the fewest connections (1, 2, 4, ...) that reach half of that server's peak rate in a ${SECONDS} s run (wrk is closed-loop). "Server CPU" is the server's user + system time (all threads, cluster workers included) per request at peak. Dynamic batching: ${'`'}batching: { maxBatchSize: 64, maxQueueDelayUs: 0 }${'`'}: a request never waits for company beyond the turn of the event loop it arrived in; the requests of one turn, and those that queue while a call runs, share a model call. The Python peers run once each, for ${2 * SECONDS} s, after the Node servers have stopped.

${table(['server', 'req/s', 'p50', 'p99', 'p99 @ ½ load', 'vs bare Node', 'server CPU µs/req', 'non-2xx + errors'], rows)}

- Best modelport configuration: ${config(best)}, ${num(medianRate(best))} req/s: ${ratio(paired(best, limitRuns))} the bare Node server (median of the rounds' ratios), ${vsPeer(best, flaskRuns, 'the Flask dev server')}, ${vsPeer(best, gunicornRuns, 'gunicorn -w 2')}.
- Best without dynamic batching: ${config(bestUnbatched)}, ${num(medianRate(bestUnbatched))} req/s: ${ratio(paired(bestUnbatched, limitRuns))} the bare Node server, ${vsPeer(bestUnbatched, flaskRuns, 'the Flask dev server')}.
- The target's "bare Node http server" is one process, as the limit of a Node server; a bare Node cluster of 2 on these 2 cores (last line) is ${ratio(paired(referenceRuns, limitRuns))} of it, so the best modelport configuration is ${ratio(paired(best, referenceRuns))} of that.
- Default settings (a deployment made with no flags: batching on, executor auto): one process ${num(medianRate(defaultSingle))} req/s, ${ratio(paired(defaultSingle, limitRuns))} the bare Node server (target ≥ 0.5×); \`--workers 2\` ${num(medianRate(defaultCluster))} req/s, ${ratio(paired(defaultCluster, limitRuns))} the bare Node server (target ≥ 0.8×) and ${ratio(paired(defaultCluster, referenceRuns))} a bare Node cluster of 2. The ONNX MLP with default settings: one process ${ratio(paired(mlpSingle, limitRuns))}, \`--workers 2\` ${ratio(paired(mlpCluster, limitRuns))} (${ratio(paired(mlpCluster, referenceRuns))} a bare Node cluster of 2).
- Mean rows per model call at 32 connections, one process, batching on: ${meanRows('cancer-batched').toFixed(1)} (worker thread), ${meanRows('cancer-loop-batched').toFixed(1)} (event loop), from modelport_batch_size_rows.

## Where a one-row request's server CPU goes

Each one-process configuration again, on a server started with \`node --cpu-prof\` (a ${SECONDS} s run each, after a 1 s warm-up): each profile sample is charged to the phase of the nearest frame on its stack that names one (bench/serving/breakdown.ts), and the shares are applied to the server CPU per request measured above without the profiler. Decode: the V2 body read into a batch; predict: the batcher, the model call and the model's thread; encode: the answer's bytes; logging: the prediction log (off here: its cost is bench/monitoring's); HTTP and the rest: Node's HTTP server and the socket writes, headers, routing, metrics and GC. The Node cluster's workers run the same code per request. µs per request (share).

${table(['configuration', 'server CPU µs/req', ...PHASES], breakdownRows)}

## Large tensors: V2 JSON against binary tensor data

One request of ${LARGE_ROWS} rows × 30 FP32 features to the default-settings deployment of the one-process server, 8 connections, the two bodies taking turns as above: JSON (${(largeJson.length / 1024).toFixed(0)} KiB, JSON answer) and the binary tensor data extension (${(largeBinary.length / 1024).toFixed(0)} KiB, outputs asked for binary).

${table(['body', 'rows/s', 'req/s', 'p99', 'server CPU µs/req', 'non-2xx + errors'], largeRows)}

- Binary against JSON: ${ratio(paired(largeBinaryRuns, largeJsonRuns))} the throughput (median of the rounds' ratios).

## Dynamic batching, tree model

XGBoost 500 trees of depth 8 (python3-xgboost, synthetic data), one row per request, 64 connections, the one-process server above; the two deployments take turns as above.

${table(['deployment', 'req/s', 'p50', 'p99', 'server CPU µs/req', 'non-2xx + errors'], treeRows)}

- batching on vs off: ${ratio(paired(batched, unbatched))} (median of the rounds' ratios); mean rows per model call with batching on: ${meanRows('trees-batched', treeMetrics).toFixed(1)} (from modelport_batch_size_rows).
- Tree evaluation cost on one thread, measured in this run: ${oneRowMicros.toFixed(1)} µs for a one-row call, ${blockMicros.toFixed(1)} µs per row in 64-row calls (eight rows walk each tree side by side). It runs on the xgboost flavor's worker threads, off the event loop; the server's CPU per request above is mostly HTTP, JSON and the hand-off to those threads on the event loop. Batching removes the per-call part of that and cuts the tree work per row, but the per-request HTTP and JSON work stays: with the server CPU-bound, the gain is at most the ratio of its CPU per request, off to on (${ratio(median(unbatched.cpu) / median(batched.cpu))} here).
- The most batching could give here: with the server CPU-bound, throughput goes as 1 / (server CPU + load generator CPU) per request. Even a batcher that cost nothing would leave each request the cheapest one-row path measured above (${num(floor)} µs of server CPU, one process, batching on) plus its tree rows (${blockMicros.toFixed(1)} µs) against ${num(median(unbatched.cpu))} µs with batching off, wrk's ${wrkCpu.toFixed(1)} µs on both sides: at most ${ratio((median(unbatched.cpu) + wrkCpu) / (floor + blockMicros + wrkCpu))}. A 3× gain needs a model whose per-call cost dwarfs HTTP and JSON (a GPU, or a runtime with a large fixed cost per call).
`;
  console.log(`\n${markdown}`);
  writeResults('serving', markdown);
}

await main();
