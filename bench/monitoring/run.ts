/**
 * Prediction-log overhead on the serving path.
 *
 *   node --import tsx bench/monitoring/run.ts
 *
 * In one run: what `PredictionSink.record()` costs serving inline; what each logged row costs
 * the serving thread later (packing for the writer thread, or the whole JSON + insert when
 * writing inline); how many rows a second the writer thread stores; and the limit that
 * matters, a serving loop without logging against the same loop logging 100% of requests, for
 * single-row XGBoost predictions (the demo loans model) alone and behind an in-process JSON
 * HTTP round trip (Fastify inject).
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Fastify from 'fastify';
import { systemClock } from '../../src/core/clock.js';
import { parseStoreUri } from '../../src/config.js';
import { Batch, column, loadModel, type Predictor } from '../../src/models/index.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { openMetadataStore, migrate } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { MonitoringService, monitoringMigrations } from '../../src/monitoring/service.js';
import { packEntries } from '../../src/monitoring/log/pack.js';
import type { PredictionRecord } from '../../src/monitoring/log/types.js';
import { machine, median, table, writeResults } from '../report.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'assets', 'demo', 'loans', 'candidates', 'xgb-d4-eta0.05');
type Writer = 'thread' | 'inline' | 'sampled';

const dir = mkdtempSync(join(tmpdir(), 'mp-bench-mon-'));

/** 'sampled': the writer thread with 10% of requests logged. */
async function openService(writer: Writer) {
  const home = mkdtempSync(join(dir, 'svc-'));
  const store = parseStoreUri(`sqlite:${join(home, 'm.db')}`, home);
  const metadata = await openMetadataStore(store);
  await migrate(metadata, { ...coreMigrations, ...monitoringMigrations });
  const blobs = await openFileBlobStore(join(home, 'blobs'));
  const service = new MonitoringService({ config: { store }, metadata, blobs, clock: systemClock }, {
    tickMs: false,
    log: writer === 'sampled' ? { writer: 'thread', sampleRate: 0.1 } : { writer },
  });
  await service.start();
  // The writer thread starts on the first write: make it (and the loading of its modules) happen
  // before any clock runs.
  await service.log.setSampleRate('warm-up', 1);
  service.sink.record(entry(inputs[0], output, 'warm-up'));
  await service.log.flush();
  return {
    service,
    async close() {
      await service.close();
      await blobs.close();
      await metadata.close();
    },
  };
}

function inputBatch(p: Predictor, seed: number): Batch {
  return Batch.from(p.signature.inputs.map((s, i) => [s.name, column('float32', Float32Array.from([((seed * 31 + i * 7) % 100) / 10]))] as const));
}

let seq = 0;
const entry = (inputs: Batch, outputs: Batch, deployment = 'loans'): PredictionRecord => ({
  requestId: `r${seq++}`,
  deployment,
  model: 'loans',
  version: 1,
  variant: 'primary',
  inputs,
  outputs,
  latencyMs: 0.1,
  timeMs: Date.now(),
});

const elapsedUs = (t: bigint) => Number(process.hrtime.bigint() - t) / 1000;

const predictor = await loadModel(MODEL, { threads: 0 });
const inputs = Array.from({ length: 64 }, (_, i) => inputBatch(predictor, i));
const output = await predictor.predict(inputs[0]);

try {
  // record() alone, and the serving thread's later work per row, in rounds of 20 000 requests.
  const ROUND = 20_000;
  const recordNs: number[] = [];
  const packUs: number[] = [];
  const inlineUs: number[] = [];
  const threadRowsPerS: number[] = [];
  for (const writer of ['inline', 'thread'] as const) {
    const h = await openService(writer);
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: ROUND }, (_, i) => entry(inputs[i & 63], output));
      let t = process.hrtime.bigint();
      for (const e of batch) h.service.sink.record(e);
      if (writer === 'inline') recordNs.push((elapsedUs(t) * 1000) / ROUND);
      t = process.hrtime.bigint();
      await h.service.log.flush();
      const us = elapsedUs(t);
      if (writer === 'inline') inlineUs.push(us / ROUND);
      else threadRowsPerS.push(ROUND / (us / 1e6));
      t = process.hrtime.bigint();
      packEntries(batch);
      packUs.push(elapsedUs(t) / ROUND);
    }
    await h.close();
  }

  // Serving loops: µs per request without logging, and logging 100% with each writer.
  const serveLoop = async (n: number, one: (i: number, log: MonitoringService | undefined) => Promise<void>, log: MonitoringService | undefined) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await one(i, log);
      // A server yields between requests; so the flusher gets its turn here too.
      if ((i & 15) === 15) await new Promise((r) => setImmediate(r));
    }
    return elapsedUs(t) / n;
  };
  const compare = async (n: number, one: (i: number, log: MonitoringService | undefined) => Promise<void>) => {
    const runs: Record<'none' | Writer, number[]> = { none: [], thread: [], inline: [], sampled: [] };
    const dropped: Record<Writer, number> = { thread: 0, inline: 0, sampled: 0 };
    await serveLoop(n, one, undefined);
    for (let rep = 0; rep < 5; rep++) {
      for (const writer of ['thread', 'inline', 'sampled'] as const) {
        // A baseline before every logged run: the heap and the machine change over a run.
        runs.none.push(await serveLoop(n, one, undefined));
        const h = await openService(writer);
        runs[writer].push(await serveLoop(n, one, h.service));
        dropped[writer] += h.service.log.stats().dropped;
        await h.close();
      }
    }
    return { none: median(runs.none), thread: median(runs.thread), inline: median(runs.inline), sampled: median(runs.sampled), dropped };
  };

  const model = await compare(30_000, async (i, log) => {
    const out = await predictor.predict(inputs[i & 63]);
    log?.sink.record(entry(inputs[i & 63], out));
  });

  let httpLog: MonitoringService | undefined;
  const app = Fastify();
  app.post('/predict', async (req) => {
    const body = req.body as { inputs: Record<string, number> };
    const batch = Batch.from(Object.entries(body.inputs).map(([k, v]) => [k, column('float32', Float32Array.from([v]))] as const));
    const out = await predictor.predict(batch);
    httpLog?.sink.record(entry(batch, out));
    return { predictions: Array.from(out.column('prediction').data as Float32Array) };
  });
  await app.ready();
  const payloads = inputs.map((b) => JSON.stringify({ inputs: Object.fromEntries(b.names.map((n) => [n, (b.column(n).data as Float32Array)[0]])) }));
  const http = await compare(10_000, async (i, log) => {
    httpLog = log;
    await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: payloads[i & 63] });
  });
  await app.close();

  const pct = (base: number, x: number) => `${(x / base).toFixed(3)}× (${x >= base ? '+' : ''}${(((x - base) / base) * 100).toFixed(1)}%)`;
  const rows: string[][] = [
    ['`record()` per call, 100% sampling, 1-row request (on the request path)', `${median(recordNs.slice(1)).toFixed(0)} ns`, '—', '—'],
    ['serving-thread work per logged row, writer thread (packing for it)', `${median(packUs.slice(1)).toFixed(2)} µs`, '—', '—'],
    ['serving-thread work per logged row, inline writer (JSON + SQLite insert on the shared connection, synchronous=FULL)', `${median(inlineUs.slice(1)).toFixed(2)} µs`, '—', '—'],
    ['writer thread capacity (rows stored per second; its SQLite connection runs WAL with synchronous=NORMAL)', `${Math.round(median(threadRowsPerS.slice(1)))}`, '—', '—'],
  ];
  for (const [what, r] of [['single-row XGBoost predict loop', model], ['JSON HTTP request (Fastify inject) + single-row predict', http]] as const) {
    rows.push([`${what}, µs/request, writer thread (dropped: ${r.dropped.thread})`, r.thread.toFixed(2), r.none.toFixed(2), pct(r.none, r.thread)]);
    rows.push([`${what}, µs/request, inline writer (dropped: ${r.dropped.inline})`, r.inline.toFixed(2), r.none.toFixed(2), pct(r.none, r.inline)]);
    rows.push([`${what}, µs/request, writer thread, 10% sampled`, r.sampled.toFixed(2), r.none.toFixed(2), pct(r.none, r.sampled)]);
  }
  const out = table(['measure', 'modelport', 'without logging', 'ratio'], rows);
  const text = `## Monitoring: prediction-log overhead at 100% sampling

${machine()}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)} at the end of the run

Every request logged. \`record()\` samples and enqueues; the flusher hands batches of up to 500 rows to a writer thread with its own SQLite connection (or, with \`writer: 'inline'\`, builds and inserts them itself between requests). Loop timings stop when the last request is answered (rows still queued are written afterwards; a full queue drops and counts, it never blocks). Target: < 5% on the serving path. On a machine whose cores are all busy the writer thread's CPU is taken from serving, so the loop ratios there measure the total CPU per logged row (serving-thread share + writer thread), not the serving-thread share alone.

${out}
`;
  console.log(text);
  writeResults('monitoring', text);
} finally {
  await predictor.close();
  rmSync(dir, { recursive: true, force: true });
}
