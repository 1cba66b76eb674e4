/**
 * Prediction-log overhead on serving.
 *
 *   node --import tsx bench/monitoring/run.ts        writes bench/results/monitoring.md
 *
 * In one run: what `record()` costs a request on the serving thread (sampling and packing), how
 * many rows a second the writer thread stores and what CPU it spends per row, and the target
 * itself: a modelport server's one-row V2 throughput (the ONNX logistic-regression fixture, the
 * same server as bench/serving, compiled dist/) with the prediction log off, logging every
 * request, and logging 10%, taking turns on one server in rounds of short runs, so that drift in
 * the machine touches every setting alike. Load from wrk on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { timeOrderedId } from '../../src/core/ids.js';
import { parseStoreUri } from '../../src/config.js';
import { Batch, column } from '../../src/models/index.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { openMetadataStore, migrate } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { MonitoringService, monitoringMigrations } from '../../src/monitoring/service.js';
import type { PredictionRecord } from '../../src/monitoring/log/types.js';
import { ROOT, failures, load, medianRate, paired, rounds, started, statCpuMicros, stop, type LoadTarget, type Runs } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';

/** Rounds of one run per setting, and the length of a run. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const SETTLE_MS = 500;
const CONNECTIONS = 32;
const dir = mkdtempSync(join(tmpdir(), 'mp-bench-mon-'));

/** A request as the cancer deployment logs it: 30 float inputs, an int64 label and two probabilities. */
const entry = (i: number): PredictionRecord => ({
  requestId: timeOrderedId(),
  deployment: 'cancer',
  model: 'cancer',
  version: 1,
  variant: 'primary',
  latencyMs: 0.1,
  timeMs: Date.now(),
  inputs: Batch.from({ input: column('float32', Float32Array.from({ length: 30 }, (_, j) => ((i * 31 + j * 7) % 100) / 10), [30]) }),
  outputs: Batch.from({ label: column('int64', BigInt64Array.from([BigInt(i & 1)])), probabilities: column('float32', Float32Array.from([0.9, 0.1]), [2]) }),
});

/** CPU time (µs) of each thread of this process, by thread id. */
function threadCpuMicros(): Map<string, number> {
  return new Map(readdirSync('/proc/self/task').map((t) => [t, statCpuMicros(`/proc/self/task/${t}/stat`)]));
}

/** record() per call, and the writer thread's rows per second and CPU per row, over 100 000 requests. */
async function inProcess(): Promise<{ recordNs: number; writerRowsPerS: number; writerCpuUs: number }> {
  const home = mkdtempSync(join(dir, 'svc-'));
  const store = parseStoreUri(`sqlite:${join(home, 'm.db')}`, home);
  const metadata = await openMetadataStore(store);
  await migrate(metadata, { ...coreMigrations, ...monitoringMigrations });
  const blobs = await openFileBlobStore(join(home, 'blobs'));
  const service = new MonitoringService({ config: { store }, metadata, blobs, clock: systemClock }, { tickMs: false, log: { writer: 'thread' } });
  await service.start();
  try {
    // The writer thread starts on the first write: start it before any clock runs.
    service.sink.record(entry(0));
    await service.log.flush();
    const main = String(process.pid);
    const before = threadCpuMicros();
    const recordNs: number[] = [];
    const N = 100_000;
    const CHUNK = 1000;
    const t0 = performance.now();
    for (let i = 0; i < N; i += CHUNK) {
      const batch = Array.from({ length: CHUNK }, (_, j) => entry(i + j));
      const t = process.hrtime.bigint();
      for (const e of batch) service.sink.record(e);
      recordNs.push(Number(process.hrtime.bigint() - t) / CHUNK);
      // A server yields between requests; the flusher gets its turns here too.
      await new Promise((r) => setImmediate(r));
    }
    await service.log.flush();
    const seconds = (performance.now() - t0) / 1000;
    const after = threadCpuMicros();
    // The writer is the thread (other than this one) that spent the most CPU meanwhile.
    let writerMicros = 0;
    for (const [tid, micros] of after) if (tid !== main) writerMicros = Math.max(writerMicros, micros - (before.get(tid) ?? 0));
    return { recordNs: median(recordNs.slice(5)), writerRowsPerS: N / seconds, writerCpuUs: writerMicros / N };
  } finally {
    await service.close();
    await blobs.close();
    await metadata.close();
  }
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const loadBefore = loadavg()[0].toFixed(1);
  const micro = await inProcess();
  console.log(`record(): ${micro.recordNs.toFixed(0)} ns; writer thread: ${Math.round(micro.writerRowsPerS)} rows/s, ${micro.writerCpuUs.toFixed(2)} µs CPU per row`);

  // The tree model argument of bench/serving/server.ts; this benchmark only loads the V2 fixture deployment.
  const treeModel = join(ROOT, 'assets', 'demo', 'loans', 'candidates', 'xgb-d4-eta0.05', 'model.json');
  const deployment = 'cancer-loop';
  const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });
  const settings = [
    { what: 'prediction log off', rate: 0 },
    { what: 'every request logged', rate: 1 },
    { what: '10% of requests logged', rate: 0.1 },
    // The same setting as the first: how far two identical settings land apart is this run's noise.
    { what: 'prediction log off again (A/A control)', rate: 0 },
  ];
  const server = await started(process.execPath, ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(dir, 'data-')), treeModel, '--log-rate', '0'], /listening (\S+)/);
  const base = server.match[1];
  const logStats = async () => ((await (await fetch(`${base}/api/v1/monitoring/logging`)).json()) as { stats: { offered: number; sampled: number; written: number; dropped: number } }).stats;
  try {
    const url = `${base}/v2/models/${deployment}/infer`;
    const targets = settings.map((s) => ({ what: s.what, rate: s.rate, url, body, pid: server.child.pid!, connections: CONNECTIONS }));
    // Before each run: the run's sampling rate, then time for the writer to store what the run
    // before left queued (it flushes every 250 ms), so no run pays for another's rows.
    const before = async (t: LoadTarget & { rate: number }) => {
      const r = await fetch(`${base}/api/v1/monitoring/logging/${deployment}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sampleRate: t.rate }) });
      if (!r.ok) throw new Error(`setting the sample rate: ${r.status} ${await r.text()}`);
      await new Promise((res) => setTimeout(res, SETTLE_MS));
    };
    for (const t of targets) {
      await before(t);
      await load(t.url, t.body, { connections: CONNECTIONS, seconds: 3 });
    }
    const all = await rounds(targets, { rounds: ROUNDS, seconds: SECONDS, label: 'logging', before });
    await new Promise((res) => setTimeout(res, SETTLE_MS));
    const logged = await logStats();
    const failed = all.reduce((a, r) => a + failures(r), 0);
    const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
    const off = all[0];
    const overall = (r: Runs) => r.runs.reduce((a, x) => a + x.requests.total, 0) / r.runs.reduce((a, x) => a + x.requests.total / x.requests.average, 0);
    const cpuPerRequest = (r: Runs) => median(r.cpu);
    const rows = all.map((r, i) => {
      const o = overall(r) / overall(off);
      const p = paired(r, off);
      const c = cpuPerRequest(r) / cpuPerRequest(off);
      return [
        r.config.what,
        Math.round(medianRate(r)).toLocaleString('en-US'),
        i === 0 ? '—' : `${p.toFixed(3)}× (${pct(p)})`,
        i === 0 ? '—' : `${o.toFixed(3)}× (${pct(o)})`,
        cpuPerRequest(r).toFixed(1),
        i === 0 ? '—' : `${c.toFixed(3)}× (${pct(c)})`,
      ];
    });
    const text = `## Monitoring: prediction-log overhead on serving

${machine()}; 1-minute load average when the run started: ${loadBefore}

The target is serving throughput with every request logged within 5% of the throughput with the log off. One modelport server (bench/serving/server.ts, compiled dist/, SQLite store) answers one-row Open Inference Protocol V2 requests for the ONNX logistic-regression fixture (deployment \`${deployment}\`, one process, model on the event loop); wrk (one thread) drives ${CONNECTIONS} connections on loopback, on the same 2 cores. This machine's speed swings by ±20% and more within minutes, and two server processes started alike differ by up to 10% in throughput and 20% in CPU per request (measured here with three log-off servers taking turns), so the settings take turns on the one server: ${ROUNDS} rounds of one ${SECONDS} s run per setting, the order turning each round; before each run the sampling rate is set through the API and the server gets ${SETTLE_MS} ms to store what the run before left queued. The table gives each setting's median rate, the median of its rounds' rates against the log-off run of the same round, its rate over all its runs against the log-off runs, and its median server CPU per request (all threads, from /proc). The last row runs the log-off setting a second time: how far it lands from the first is this run's resolution.

${table(['setting', 'req/s (median)', 'req/s vs log off (paired, median)', 'req/s vs log off (all runs)', 'server CPU µs/request', 'CPU vs log off'], rows)}

- Non-2xx answers and errors during the load: ${failed}. Requests the server answered: ${logged.offered.toLocaleString('en-US')}; rows its log sampled: ${logged.sampled.toLocaleString('en-US')}, wrote: ${logged.written.toLocaleString('en-US')}; dropped (full queue): ${logged.dropped}.
- How: \`record()\` samples, packs the request's numbers into its deployment's open batch (so the request's objects die young) and returns: ${micro.recordNs.toFixed(0)} ns per one-row request here. Every 500 rows (or 250 ms) a batch goes to a writer thread with its own store connection, which stores it as one segment row (float32 inputs as float32): ${Math.round(micro.writerRowsPerS).toLocaleString('en-US')} rows/s through the whole path in this process, ${micro.writerCpuUs.toFixed(1)} µs of writer-thread CPU per row. The request ids modelport makes are UUIDv7 and carry their time, so feedback finds them through the segments' id-time ranges and they need no key row; only a client's own ids get one.
`;
    console.log(`\n${text}`);
    writeResults('monitoring', text);
  } finally {
    await stop(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
