/**
 * Online serving throughput and latency, on loopback, load from autocannon. In one run:
 *   (a) a bare Node `http` server answering a fixed JSON body: the limit of this machine;
 *   (b) modelport V2 infer, one row, the ONNX logistic-regression fixture: one process, and
 *       the same behind a two-worker Node cluster (the core-use experiment);
 *   (c) the same model as scikit-learn Pipeline(StandardScaler, LogisticRegression) trained at
 *       bench time, loaded by joblib, behind Flask: Flask's own server and gunicorn -w 2;
 *   (d) a 500-tree depth-8 XGBoost model, one row per request, 64 connections, dynamic
 *       batching off and on.
 * Peak = requests/s with 32 connections (64 for the tree model); latency under load = p99 at
 * half of the peak request rate.
 *
 *   node --import tsx bench/serving/run.ts        writes bench/results/serving.md
 *
 * Needs /usr/bin/python3 with python3-flask, python3-sklearn, python3-gunicorn and
 * python3-xgboost (to train the tree model; kept in the temp folder).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { machine, table, writeResults } from '../report.js';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

const ROOT = join(import.meta.dirname, '..', '..');
const TMP = join(os.tmpdir(), 'modelport-bench-serving');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
mkdirSync(TMP, { recursive: true });

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

function load(url: string, body: string, options: { connections: number; rate?: number; seconds?: number }): Promise<Result> {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: options.connections,
    duration: options.seconds ?? DURATION,
    overallRate: options.rate,
  }) as Promise<Result>;
}

function started(cmd: string, args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${seen}`)));
  });
}

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

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
const v2Body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });
const treeBody = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: row.map((v, i) => (i % 3 === 0 ? v / 100 : -v / 50)) }] });

interface Line {
  what: string;
  peak: Result;
  half?: Result & { connections: number };
}

/**
 * Latency at about half the peak rate: autocannon is closed-loop (its rate option sends each
 * second's requests in one burst), so the load is lowered by connections, the fewest that
 * reach half of the peak.
 */
async function atHalfLoad(url: string, body: string, peak: number): Promise<Result & { connections: number }> {
  let last: Result | undefined;
  for (const connections of [1, 2, 4, 8, 16]) {
    last = await load(url, body, { connections });
    if (last.requests.average >= peak / 2) return { ...last, connections };
  }
  return { ...last!, connections: 16 };
}

async function measure(what: string, url: string, body: string, connections = 32, withHalf = false): Promise<Line> {
  await load(url, body, { connections, seconds: 2 });
  const peak = await load(url, body, { connections });
  const half = withHalf ? await atHalfLoad(url, body, peak.requests.average) : undefined;
  console.log(
    `${what}: ${Math.round(peak.requests.average)} req/s, p99 ${peak.latency.p99} ms${half ? `; ${Math.round(half.requests.average)} req/s (${half.connections} conn.) p99 ${half.latency.p99} ms` : ''}; non-2xx ${peak.non2xx}, errors ${peak.errors}`,
  );
  return { what, peak, half };
}

async function main(): Promise<void> {
  const treeModel = join(TMP, 'synthetic_500x8.json');
  if (!existsSync(treeModel)) {
    console.log('training the 500-tree depth-8 XGBoost model with python3-xgboost...');
    execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'runtimes', 'xgb_peer.py'), 'train', treeModel], { stdio: 'inherit' });
  }
  const lines: Line[] = [];
  // Other processes on a shared machine move these figures a lot; the load average says how busy it was.
  const loadBefore = os.loadavg()[0].toFixed(1);

  const fixed = JSON.stringify({ model_name: 'cancer', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [0] }, { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.9956442, 0.0043558] }] });
  const bareCode = `const http=require('http');const body=${JSON.stringify(fixed)};http.createServer((req,res)=>{req.resume();req.on('end',()=>{res.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(body)});res.end(body);});}).listen(0,'127.0.0.1',function(){console.log('listening http://127.0.0.1:'+this.address().port)});`;
  const bare = await started(process.execPath, ['-e', bareCode], /listening (\S+)/);
  lines.push(await measure('bare Node http, fixed JSON body (the limit)', `${bare.match[1]}/`, v2Body));
  await stop(bare.child);

  const single = await started(process.execPath, ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(TMP, 'data-')), treeModel], /listening (\S+)/);
  const mpUrl = single.match[1];
  lines.push(await measure('modelport V2 infer, 1 process, model in a worker thread', `${mpUrl}/v2/models/cancer/infer`, v2Body, 32, true));
  lines.push(await measure('modelport V2 infer, 1 process, model on the event loop', `${mpUrl}/v2/models/cancer-loop/infer`, v2Body, 32, true));
  const unbatched = await measure('modelport V2, XGBoost 500×depth 8, batching off, 64 conn.', `${mpUrl}/v2/models/trees-unbatched/infer`, treeBody, 64);
  const batched = await measure('modelport V2, XGBoost 500×depth 8, batching on (≤64 rows), 64 conn.', `${mpUrl}/v2/models/trees-batched/infer`, treeBody, 64);
  const metrics = await (await fetch(`${mpUrl}/metrics`)).text();
  const sample = (name: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${name}{deployment="trees-batched"}`))?.split(' ').at(-1));
  const meanBatch = sample('modelport_batch_size_rows_sum') / sample('modelport_batch_size_rows_count');
  await stop(single.child);

  const clustered = await started(process.execPath, ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(TMP, 'data-')), treeModel, '--workers', '2'], /listening (\S+)/);
  lines.push(await measure('modelport V2 infer, Node cluster of 2, model in a worker thread', `${clustered.match[1]}/v2/models/cancer/infer`, v2Body, 32, true));
  lines.push(await measure('modelport V2 infer, Node cluster of 2, model on the event loop', `${clustered.match[1]}/v2/models/cancer-loop/infer`, v2Body, 32, true));
  await stop(clustered.child);

  const peer = join(ROOT, 'bench', 'serving', 'flask_peer.py');
  const flaskPort = await freePort();
  const flask = await started('/usr/bin/python3', [peer, 'flask', String(flaskPort)], /listening/, { PYTHONUNBUFFERED: '1' });
  const flaskUrl = `http://127.0.0.1:${flaskPort}/v2/models/cancer/infer`;
  await answering(flaskUrl, v2Body);
  lines.push(await measure('Flask dev server (threaded), scikit-learn + joblib', flaskUrl, v2Body));
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
  lines.push(await measure('gunicorn -w 2 + Flask, scikit-learn + joblib', gunicornUrl, v2Body));
  await stop(gunicorn.child);

  const rate = (l: Line) => l.peak.requests.average;
  const [limit, ...rest] = lines;
  const fl = rest[rest.length - 2];
  const gu = rest[rest.length - 1];
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const best = rest.slice(0, -2).reduce((a, b) => (rate(b) > rate(a) ? b : a));
  // autocannon reports whole milliseconds.
  const ms = (v: number) => (v < 1 ? '<1' : String(v));
  const rows = lines.map((l) => [
    l.what,
    Math.round(rate(l)).toLocaleString('en-US'),
    ms(l.peak.latency.p50),
    ms(l.peak.latency.p99),
    l.half ? `${ms(l.half.latency.p99)} (${Math.round(l.half.requests.average).toLocaleString('en-US')} req/s, ${l.half.connections} conn.)` : '',
    ratio(rate(l), rate(limit)),
    String(l.peak.non2xx + l.peak.errors),
  ]);
  const trees = [unbatched, batched].map((l) => [l.what, Math.round(rate(l)).toLocaleString('en-US'), ms(l.peak.latency.p50), ms(l.peak.latency.p99), String(l.peak.non2xx + l.peak.errors)]);
  const cpu = os.cpus()[0]?.model ?? 'CPU';
  const markdown = `# Online serving

${machine()}; 1-minute load average when the run started: ${loadBefore}

One-row Open Inference Protocol V2 requests over loopback, ${DURATION} s per measurement after a 2 s warm-up, load from autocannon 9 (${'`'}connections${'`'} 32) running in the benchmark process on the same ${os.availableParallelism()} cores (${cpu}) as the server. Latencies in ms; "p99 @ ½ load" is the p99 with the fewest connections (1, 2, 4, ...) that reach half of that server's peak rate (autocannon is closed-loop; its rate option sends each second's requests in one burst).

${table(['server', 'req/s', 'p50', 'p99', 'p99 @ ½ load', 'vs bare Node', 'non-2xx + errors'], rows)}

- modelport vs Flask dev server: ${ratio(rate(best), rate(fl))}; vs gunicorn -w 2: ${ratio(rate(best), rate(gu))} (best modelport configuration: ${best.what.replace('modelport V2 infer, ', '')}).
- modelport vs the bare Node limit: ${ratio(rate(best), rate(limit))}.

## Dynamic batching, tree model

XGBoost 500 trees of depth 8 (python3-xgboost, synthetic data), one row per request, 64 connections.

${table(['deployment', 'req/s', 'p50', 'p99', 'non-2xx + errors'], trees)}

- batching on vs off: ${ratio(rate(batched), rate(unbatched))}; mean rows per model call with batching on: ${meanBatch.toFixed(1)} (from modelport_batch_size_rows).
- Tree evaluation runs on the xgboost flavor's worker threads in both cases; one row of this model costs about 18 µs there (bench/results/runtimes.md), less than the HTTP and JSON work per request on the event loop, so merging rows saves model-call overhead but cannot multiply request throughput.
`;
  console.log(`\n${markdown}`);
  writeResults('serving', markdown);
}

await main();
