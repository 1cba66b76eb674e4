/**
 * Prediction-log overhead on serving.
 *
 *   node --import tsx bench/monitoring/run.ts        writes bench/results/monitoring.md
 *
 * In one run: what `record()` costs a request on the serving thread (sampling and packing), how
 * many rows a second the writer thread stores and what CPU it spends per row, and the target
 * itself: a modelport server's one-row V2 throughput (the ONNX logistic-regression fixture, the
 * same server as bench/serving, compiled dist/) with the prediction log off, logging every
 * request, and logging 10%, taking turns every 1.25 s on one server under one continuous load,
 * so that drift in the machine and the process touches every setting alike. Load from
 * wrk on loopback.
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
import { ROOT, load, processCpuMicros, started, statCpuMicros, stop } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';

/** Cycles of one window per setting; a window measures WINDOW_MS after SETTLE_MS on the new setting. */
const CYCLES = Number(process.env.BENCH_CYCLES ?? 40);
const WINDOW_MS = 1000;
const SETTLE_MS = 250;
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
  const server = await started(process.execPath, ['--import', 'tsx', 'bench/serving/server.ts', mkdtempSync(join(dir, 'data-')), treeModel, '--log-rate', '0'], /listening (\S+)/);
  const base = server.match[1];
  const deployment = 'cancer-loop';
  const url = `${base}/v2/models/${deployment}/infer`;
  const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
  const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });
  const setRate = async (rate: number) => {
    const r = await fetch(`${base}/api/v1/monitoring/logging/${deployment}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sampleRate: rate }) });
    if (!r.ok) throw new Error(`setting the sample rate: ${r.status} ${await r.text()}`);
  };
  const settings = [
    { what: 'prediction log off', rate: 0 },
    { what: 'every request logged', rate: 1 },
    { what: '10% of requests logged', rate: 0.1 },
  ];
  // The server's CPU (all threads) and the requests it has answered (every one passes the log's
  // sampler, logged or not), read between windows while one long load runs.
  const serverCpuUs = () => processCpuMicros(server.child.pid!);
  const answered = async () => ((await (await fetch(`${base}/api/v1/monitoring/logging`)).json()) as { stats: { offered: number } }).stats.offered;
  const windows = new Map<number, { requests: number; seconds: number; cpuUs: number }[]>(settings.map((s) => [s.rate, []]));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let failures = 0;
  try {
    await load(url, body, { connections: CONNECTIONS, seconds: 3 });
    const loading = load(url, body, { connections: CONNECTIONS, seconds: CYCLES * settings.length * (WINDOW_MS + SETTLE_MS) / 1000 + 2 });
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // The order turns each cycle, so no setting always follows the same one.
      for (let k = 0; k < settings.length; k++) {
        const s = settings[(cycle + k) % settings.length];
        await setRate(s.rate);
        await sleep(SETTLE_MS);
        const [n0, c0, t0] = [await answered(), serverCpuUs(), performance.now()];
        await sleep(WINDOW_MS);
        const [n1, c1, t1] = [await answered(), serverCpuUs(), performance.now()];
        windows.get(s.rate)!.push({ requests: n1 - n0, seconds: (t1 - t0) / 1000, cpuUs: c1 - c0 });
      }
      if (cycle % 10 === 9) console.log(`cycle ${cycle + 1} of ${CYCLES}`);
    }
    const r = await loading;
    failures += r.non2xx + r.errors;
    const stats = (await (await fetch(`${base}/api/v1/monitoring/logging`)).json()) as { stats: { written: number; dropped: number } };
    const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
    const off = windows.get(0)!;
    const rateOf = (w: { requests: number; seconds: number }) => w.requests / w.seconds;
    const total = (ws: { requests: number; seconds: number; cpuUs: number }[]) => ws.reduce((a, w) => ({ requests: a.requests + w.requests, seconds: a.seconds + w.seconds, cpuUs: a.cpuUs + w.cpuUs }), { requests: 0, seconds: 0, cpuUs: 0 });
    const offTotal = total(off);
    const rows = settings.map((s) => {
      const ws = windows.get(s.rate)!;
      const all = total(ws);
      // Paired: each window against the log-off window of the same cycle.
      const paired = median(ws.map((w, i) => rateOf(w) / rateOf(off[i])));
      const overall = rateOf(all) / rateOf(offTotal);
      const cpuPerRequest = all.cpuUs / all.requests;
      const cpuRatio = cpuPerRequest / (offTotal.cpuUs / offTotal.requests);
      return [
        s.what,
        Math.round(rateOf(all)).toLocaleString('en-US'),
        s.rate === 0 ? '—' : `${overall.toFixed(3)}× (${pct(overall)})`,
        s.rate === 0 ? '—' : `${paired.toFixed(3)}× (${pct(paired)})`,
        cpuPerRequest.toFixed(1),
        s.rate === 0 ? '—' : `${cpuRatio.toFixed(3)}× (${pct(cpuRatio)})`,
      ];
    });
    const text = `## Monitoring: prediction-log overhead on serving

${machine()}; 1-minute load average when the run started: ${loadBefore}

The target is serving throughput with every request logged within 5% of the throughput with the log off. One modelport server (bench/serving/server.ts, compiled dist/, SQLite store) answers one-row Open Inference Protocol V2 requests for the ONNX logistic-regression fixture (deployment \`${deployment}\`, model on the event loop); wrk (one thread) drives ${CONNECTIONS} connections on loopback, on the same 2 cores. This machine's speed swings by ±20% and more within minutes, so the settings take turns quickly under one continuous load: the sampling rate changes through the API every ${(WINDOW_MS + SETTLE_MS) / 1000} s (${CYCLES} cycles of one ${WINDOW_MS / 1000} s window per setting after ${SETTLE_MS} ms on it, the order turning each cycle), and each window counts the requests the server answered (its log's sampler sees every one) and the server's CPU time (all its threads, from /proc). The table gives each setting's rate over all its windows, the median of its windows' rates against the log-off window of the same cycle, and its CPU per request.

${table(['setting', 'req/s (all windows)', 'req/s vs log off (all windows)', 'req/s vs log off (paired, median)', 'server CPU µs/request', 'CPU vs log off'], rows)}

- Non-2xx answers and errors during the load: ${failures}. Rows the server's log wrote: ${stats.stats.written.toLocaleString('en-US')}; dropped (full queue): ${stats.stats.dropped}.
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
