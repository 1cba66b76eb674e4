/**
 * Prediction-log overhead on the serving path.
 *
 *   node --import tsx bench/monitoring/run.ts
 *
 * Measures, in one run: (1) the cost of `PredictionSink.record()` itself (what serving pays
 * inline), (2) the background flusher's cost per logged row (JSON + batched SQLite insert, off
 * the request but on the same event loop), and (3) the limit that matters: a serving loop of
 * single-row XGBoost predictions (the demo loans model) without logging against the same loop
 * logging 100% of requests with the flusher running, and the same comparison with an
 * in-process HTTP round trip (Fastify inject of a JSON body) as the per-request work.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Fastify from 'fastify';
import { systemClock } from '../../src/core/clock.js';
import { parseStoreUri } from '../../src/config.js';
import { Batch, column, loadModel, type Predictor } from '../../src/models/index.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { openMetadataStore, migrate, type MetadataStore } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { MonitoringService, monitoringMigrations } from '../../src/monitoring/service.js';
import type { PredictionRecord } from '../../src/monitoring/log/types.js';
import { machine, median, table, writeResults } from '../report.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'assets', 'demo', 'loans', 'candidates', 'xgb-d4-eta0.05');

async function openService(dir: string, writer: 'thread' | 'inline'): Promise<{ service: MonitoringService; metadata: MetadataStore; close(): Promise<void> }> {
  const store = parseStoreUri(`sqlite:${join(dir, 'm.db')}`, dir);
  const metadata = await openMetadataStore(store);
  await migrate(metadata, { ...coreMigrations, ...monitoringMigrations });
  const blobs = await openFileBlobStore(join(dir, 'blobs'));
  const service = new MonitoringService({ config: { store }, metadata, blobs, clock: systemClock }, { tickMs: false, log: { flushIntervalMs: 200, writer } });
  await service.start();
  return {
    service,
    metadata,
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

function entry(i: number, inputs: Batch, outputs: Batch, deployment = 'loans'): PredictionRecord {
  return { requestId: `r${i}`, deployment, model: 'loans', version: 1, variant: 'primary', inputs, outputs, latencyMs: 0.1, timeMs: Date.now() };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mp-bench-mon-'));
  /** Median µs/request of: no logging, logging with the writer thread, logging inline; interleaved runs. */
  const compare = async (run: (log: MonitoringService | undefined) => Promise<number>): Promise<[number, number, number]> => {
    const base: number[] = [];
    const thread: number[] = [];
    const inline: number[] = [];
    await run(undefined);
    for (let rep = 0; rep < 5; rep++) {
      base.push(await run(undefined));
      for (const [writer, out] of [['thread', thread], ['inline', inline]] as const) {
        const h = await openService(mkdtempSync(join(dir, 'rep-')), writer);
        // The writer thread starts (and loads its modules) before the clock runs.
        await h.service.log.flush();
        out.push(await run(h.service));
        await h.close();
      }
    }
    return [median(base), median(thread), median(inline)];
  };
  const predictor = await loadModel(MODEL, { threads: 0 });
  const inputs = Array.from({ length: 64 }, (_, i) => inputBatch(predictor, i));
  const output = await predictor.predict(inputs[0]);
  try {
    // (1) record() alone: the queue is drained between rounds, outside the timed part.
    {
      const h = await openService(dir, 'inline');
      const ROUND = 20_000;
      const times: number[] = [];
      let n = 0;
      for (let round = 0; round < 10; round++) {
        const t = process.hrtime.bigint();
        for (let i = 0; i < ROUND; i++) h.service.sink.record(entry(n++, inputs[i & 63], output));
        times.push(Number(process.hrtime.bigint() - t) / ROUND);
        const f = process.hrtime.bigint();
        await h.service.log.flush();
        flushPerRow.push(Number(process.hrtime.bigint() - f) / ROUND / 1000);
      }
      recordNs = median(times.slice(2));
      await h.close();
    }
    // (3) a serving loop without and with logging (100%, flusher running on the same event loop).
    const N = 30_000;
    const serve = async (log: MonitoringService | undefined) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        const out = await predictor.predict(inputs[i & 63]);
        log?.sink.record(entry(i, inputs[i & 63], out));
        // Yield like a server between requests, so the flusher's setImmediate gets its turn.
        if ((i & 15) === 15) await new Promise((r) => setImmediate(r));
      }
      if (log) await log.log.flush();
      return Number(process.hrtime.bigint() - t) / N / 1000;
    };
    const model = await compare((log) => serve(log));
    modelUs = model;

    // The same with a JSON HTTP round trip per request (Fastify inject: routing, parsing, serialising).
    const app = Fastify();
    let sinkFor: MonitoringService | undefined;
    let seq = 0;
    app.post('/predict', async (req) => {
      const body = req.body as { inputs: Record<string, number> };
      const batch = Batch.from(Object.entries(body.inputs).map(([k, v]) => [k, column('float32', Float32Array.from([v]))] as const));
      const out = await predictor.predict(batch);
      sinkFor?.sink.record(entry(seq++, batch, out));
      return { predictions: Array.from(out.column('prediction').data as Float32Array) };
    });
    await app.ready();
    const payloads = inputs.map((b) => JSON.stringify({ inputs: Object.fromEntries(b.names.map((n) => [n, (b.column(n).data as Float32Array)[0]])) }));
    const M = 10_000;
    const http = async (log: MonitoringService | undefined) => {
      sinkFor = log;
      const t = process.hrtime.bigint();
      for (let i = 0; i < M; i++) await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: payloads[i & 63] });
      if (log) await log.log.flush();
      return Number(process.hrtime.bigint() - t) / M / 1000;
    };
    httpUs = await compare((log) => http(log));
    await app.close();
  } finally {
    await predictor.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const pct = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)}%`;
  const fpr = median(flushPerRow.slice(2));
  const out = table(
    ['measure', 'modelport', 'baseline (no logging)', 'ratio / overhead'],
    [
      ['`record()` per call, 100% sampling, 1-row request (inline, on the request path)', `${recordNs.toFixed(0)} ns`, '—', '—'],
      ['background flush per logged row (JSON + batched SQLite insert, same event loop)', `${fpr.toFixed(2)} µs`, '—', '—'],
      ...(
        [
          ['single-row XGBoost predict loop', modelUs],
          ['JSON HTTP request (Fastify inject) + single-row predict', httpUs],
        ] as const
      ).flatMap(([what, us]) => [
        [`${what}, µs/request, rows written by the writer thread`, us[1].toFixed(2), us[0].toFixed(2), `${(us[1] / us[0]).toFixed(3)}× (${pct(us[0], us[1])})`],
        [`${what}, µs/request, rows written inline (writer: 'inline')`, us[2].toFixed(2), us[0].toFixed(2), `${(us[2] / us[0]).toFixed(3)}× (${pct(us[0], us[2])})`],
      ]),
    ],
  );
  const text = `## Monitoring: prediction-log overhead at 100% sampling\n\n${machine()}\n\nLogging every request: \`record()\` only samples and enqueues; a flusher hands batches of up to 1000 rows to a writer thread (or, inline, writes them itself between requests) that inserts them into SQLite (WAL, synchronous=FULL). Target: < 5% on the serving path.\n\n${out}\n`;
  console.log(text);
  writeResults('monitoring', text);
}

let recordNs = 0;
const flushPerRow: number[] = [];
let modelUs: [number, number, number] = [0, 0, 0];
let httpUs: [number, number, number] = [0, 0, 0];

await main();
