/**
 * Pipeline engine overhead: a chain of no-op steps run one after another, locally and through
 * BullMQ workers on the real Redis, against BullMQ's own round trip for a no-op job on the same
 * Redis (the limit: a distributed step cannot cost less than one job), and its bulk job
 * throughput; then a fan-out/fan-in DAG (1 → N−2 → 1) on two workers. The no-op is a built-in
 * step registered for the benchmark, the way other domains plug theirs in, so what is measured
 * is the engine: store writes, the tracking run per step, the outputs manifest, the queue.
 *
 * Targets (issue 26): local < 2 ms a step, distributed < 10 ms, the 1,000-step DAG < 20 s on 2
 * workers. Sizes: BENCH_PIPELINES_STEPS (chain, default 200), BENCH_PIPELINES_DAG (default 1000).
 */
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { createPlatform, type Platform } from '../../src/platform.js';
import { startBullWorkers } from '../../src/storage/queue-bullmq.js';
import type { PipelineSpec } from '../../src/pipelines/index.js';
import type { StepResult, StepTask } from '../../src/pipelines/task.js';
import { tempDir } from '../../test/helpers/services.js';
import { machine, table, writeResults } from '../report.js';

const CHAIN = Number(process.env.BENCH_PIPELINES_STEPS ?? 200);
const DAG = Number(process.env.BENCH_PIPELINES_DAG ?? 1000);
const REDIS = process.env.MODELPORT_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const name = `mp-bench-${randomBytes(4).toString('hex')}`;
const queue = `${REDIS}?name=${name}`;

function withNoop(platform: Platform): Platform {
  platform.services.pipelines.steps.register('bench.noop', { description: 'does nothing', outputs: () => [], run: async () => undefined });
  return platform;
}

const chain = (n: number): PipelineSpec => ({ name: 'chain', steps: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, uses: 'bench.noop', needs: i === 0 ? [] : [`s${i - 1}`] })) });
const fan = (n: number): PipelineSpec => ({
  name: 'fan',
  steps: [
    { name: 'source', uses: 'bench.noop' },
    ...Array.from({ length: n - 2 }, (_, i) => ({ name: `m${i}`, uses: 'bench.noop', needs: ['source'] })),
    { name: 'sink', uses: 'bench.noop', needs: Array.from({ length: n - 2 }, (_, i) => `m${i}`) },
  ],
});

/** Wall time of one run, and the CPU this process spent on it (driver and both workers live here). */
async function timeRun(platform: Platform, spec: PipelineSpec, q?: string, parallelism?: number): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const run = await platform.services.pipelines.startRun({ spec, queue: q, parallelism });
  const done = await platform.services.pipelines.wait(run.id, 20);
  if (done.status !== 'succeeded') throw new Error(`${spec.name} ${done.status}: ${done.error}`);
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
}

/** BullMQ alone: `n` no-op jobs one after another, then `bulk` jobs added at once. */
async function rawBullmq(n: number, bulk: number): Promise<{ roundTripMs: number; bulkMs: number }> {
  const connection = new Redis(REDIS, { maxRetriesPerRequest: null });
  const qname = `${name}-raw`;
  const q = new Queue(qname, { connection, prefix: 'modelport' });
  const eventsConnection = new Redis(REDIS, { maxRetriesPerRequest: null });
  const events = new QueueEvents(qname, { connection: eventsConnection, prefix: 'modelport' });
  const workerConnection = new Redis(REDIS, { maxRetriesPerRequest: null });
  const worker = new Worker(qname, async () => ({ ok: true }), { connection: workerConnection, prefix: 'modelport', concurrency: 16 });
  await Promise.all([q.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  let t = performance.now();
  for (let i = 0; i < n; i++) await (await q.add('job', { i })).waitUntilFinished(events);
  const roundTripMs = (performance.now() - t) / n;
  t = performance.now();
  const jobs = await q.addBulk(Array.from({ length: bulk }, (_, i) => ({ name: 'job', data: { i } })));
  await Promise.all(jobs.map((j) => j.waitUntilFinished(events)));
  const bulkMs = (performance.now() - t) / bulk;
  await worker.close();
  await events.close();
  await q.obliterate({ force: true });
  await q.close();
  for (const c of [connection, workerConnection, eventsConnection]) c.disconnect();
  return { roundTripMs, bulkMs };
}

async function main(): Promise<void> {
  const data = tempDir('mpbench-pipelines');
  const config = loadConfig({ data, logLevel: 'silent' }, {});
  const driver = withNoop(await createPlatform(config));
  // Two workers, as two machines would run them: each its own platform over the same stores.
  const workerPlatforms = [withNoop(await createPlatform(config)), withNoop(await createPlatform(config))];
  const workers = await Promise.all(
    workerPlatforms.map((p) => startBullWorkers<StepTask, StepResult>(queue, (task, signal) => p.services.pipelines.runLocally(task, signal), { concurrency: 8, gpu: false })),
  );
  try {
    await timeRun(driver, chain(5));
    const local = await timeRun(driver, chain(CHAIN), undefined, 1);
    await timeRun(driver, chain(5), queue);
    const distributed = await timeRun(driver, chain(CHAIN), queue, 1);
    const raw = await rawBullmq(CHAIN, DAG);
    const dagLocal = await timeRun(driver, fan(DAG));
    const dag = await timeRun(driver, fan(DAG), queue, 64);
    const perStep = (r: { ms: number }, n: number) => r.ms / n;
    const cpu = (r: { cpuMs: number }, n: number) => `${(r.cpuMs / n).toFixed(2)} ms CPU`;
    const vsRoundTrip = (ms: number) => `${(ms / raw.roundTripMs).toFixed(2)}× a raw job round trip`;
    // A DAG's steps can overlap; its limit is BullMQ moving as many jobs in bulk.
    const vsBulk = (ms: number) => `${(ms / (raw.bulkMs * DAG)).toFixed(2)}× ${DAG} raw jobs in bulk`;
    const rows = [
      ['local, per no-op step (chain)', `${perStep(local, CHAIN).toFixed(2)} ms (${cpu(local, CHAIN)})`, '< 2 ms', vsRoundTrip(perStep(local, CHAIN))],
      ['distributed, per no-op step (chain)', `${perStep(distributed, CHAIN).toFixed(2)} ms (${cpu(distributed, CHAIN)})`, '< 10 ms', vsRoundTrip(perStep(distributed, CHAIN))],
      ['BullMQ raw: one job round trip (add, process, completion event)', `${raw.roundTripMs.toFixed(2)} ms`, 'the limit', '1.00×'],
      [`BullMQ raw: ${DAG} jobs in bulk, per job`, `${raw.bulkMs.toFixed(3)} ms`, '', ''],
      [`fan-out/fan-in DAG of ${DAG} steps, local`, `${(dagLocal.ms / 1000).toFixed(2)} s (${cpu(dagLocal, DAG)} a step)`, '', vsBulk(dagLocal.ms)],
      [`fan-out/fan-in DAG of ${DAG} steps, distributed on 2 workers`, `${(dag.ms / 1000).toFixed(2)} s (${cpu(dag, DAG)} a step)`, '< 20 s', vsBulk(dag.ms)],
    ];
    const text = `# Pipelines: engine overhead\n\n${machine()}\n\nChain of ${CHAIN} no-op built-in steps run one at a time (parallelism 1); each step is a store\nrecord, a nested tracking run and a stored (empty) outputs manifest. Distributed steps go through\nBullMQ on ${REDIS} to two worker platforms in this process (concurrency 8 each). The DAG is\nsource → ${DAG - 2} → sink, at the local default parallelism and at 64 distributed. CPU is this\nprocess's (driver and workers), per step.\n\n${table(['what', 'measured', 'target', 'ratio'], rows)}\n`;
    writeResults('pipelines', text);
    process.stdout.write(text);
  } finally {
    for (const w of workers) await w.close();
    for (const p of [driver, ...workerPlatforms]) await p.close();
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`modelport:${name}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

await main();
