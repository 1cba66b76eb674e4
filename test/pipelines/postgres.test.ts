/**
 * The executor's records on PostgreSQL: a wide fan-out/fan-in run, whose step starts and ends
 * are group-committed, leaves every step and its nested tracking run as SQLite does; a second
 * run is all cache hits; a failed branch blocks exactly what depends on it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from '../../src/platform.js';
import type { PipelineSpec } from '../../src/pipelines/index.js';
import { testPlatform } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../helpers/services.js';

const skip = await postgresSkip();
const { uri, schema } = freshPostgresUri();
let platform: Platform;

before(async () => {
  if (skip) return;
  platform = await testPlatform({ store: uri, artifacts: `file:${tempDir('mpart')}` });
});
after(async () => {
  if (skip) return;
  await platform.close();
  await dropSchema(schema);
});

const WIDTH = 40;

/** source → m0..m39 (each writes its index and a metric) → sink (sums what it reads); `failing` fails. */
function fan(name: string, failing?: number): PipelineSpec {
  return {
    name,
    steps: [
      { name: 'source', cache: true, run: async (ctx) => writeFileSync(join(ctx.outputDir, 'base.txt'), '100') },
      ...Array.from({ length: WIDTH }, (_, i) => ({
        name: `m${i}`,
        needs: ['source'],
        cache: true,
        // A function's cache key is its source, the same for every branch: the env tells them apart.
        env: { INDEX: String(i), ...(i === failing ? { FAIL: '1' } : {}) },
        run: async (ctx: { inputs: Record<string, string>; outputDir: string }) => {
          if (i === failing) throw new Error(`m${i} broke`);
          const base = Number(readFileSync(join(ctx.inputs.source, 'base.txt'), 'utf8'));
          writeFileSync(join(ctx.outputDir, 'n.txt'), String(base + i));
          writeFileSync(join(ctx.outputDir, 'metrics.json'), JSON.stringify({ index: i }));
        },
      })),
      {
        name: 'sink',
        needs: Array.from({ length: WIDTH }, (_, i) => `m${i}`),
        cache: true,
        run: async (ctx) => {
          const sum = Object.values(ctx.inputs).reduce((s, dir) => s + (readdirSync(dir).includes('n.txt') ? Number(readFileSync(join(dir, 'n.txt'), 'utf8')) : 0), 0);
          writeFileSync(join(ctx.outputDir, 'metrics.json'), JSON.stringify({ sum }));
        },
      },
    ],
  };
}

const runOf = async (spec: PipelineSpec) => {
  const started = await platform.services.pipelines.startRun({ spec, parallelism: 16 });
  return platform.services.pipelines.wait(started.id, 20);
};

test('a wide run on PostgreSQL: every step and its tracking run recorded; a rerun is all cache hits', { skip }, async () => {
  const first = await runOf(fan('pg-fan'));
  assert.equal(first.status, 'succeeded', JSON.stringify(first.steps.filter((s) => s.status !== 'succeeded')));
  assert.deepEqual(first.progress, { done: WIDTH + 2, total: WIDTH + 2 });
  const sink = first.steps.find((s) => s.name === 'sink')!;
  assert.deepEqual(sink.metrics, { sum: WIDTH * 100 + (WIDTH * (WIDTH - 1)) / 2 });
  const { tracking } = platform.services;
  for (const step of first.steps) {
    const run = await tracking.getRun(step.trackingRunId!);
    assert.equal(run.info.status, 'FINISHED', step.name);
    assert.equal(run.info.end_time, step.endedAt, step.name);
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    assert.equal(tags['mlflow.parentRunId'], first.trackingRunId);
    assert.equal(tags['modelport.pipeline.step'], step.name);
    assert.equal(tags['modelport.pipeline.cache'], 'miss');
    assert.equal(tags['modelport.pipeline.outputs'], step.outputsSha);
    if (step.name.startsWith('m')) assert.deepEqual(run.data.metrics.map((m) => [m.key, m.value]), [['index', Number(step.name.slice(1))]]);
  }
  assert.equal(Object.keys((await tracking.getRun(sink.trackingRunId!)).data.tags.filter((t) => t.key.startsWith('modelport.pipeline.input.'))).length, WIDTH);

  const second = await runOf(fan('pg-fan'));
  assert.equal(second.status, 'succeeded');
  assert.deepEqual(new Set(second.steps.map((s) => s.status)), new Set(['cached']));
  assert.deepEqual(second.steps.find((s) => s.name === 'sink')!.metrics, sink.metrics);
  const cachedRun = await tracking.getRun(second.steps[3].trackingRunId!);
  assert.equal(cachedRun.info.status, 'FINISHED');
  assert.match(cachedRun.data.tags.find((t) => t.key === 'modelport.pipeline.cache')!.value, new RegExp(`^hit \\(run ${first.id}, step `));
});

test('a failed branch on PostgreSQL fails its step and tracking run and blocks only what needs it', { skip }, async () => {
  const r = await runOf(fan('pg-fan-broken', 7));
  assert.equal(r.status, 'failed');
  assert.match(r.error!, /^step m7: m7 broke/);
  const byStatus = (status: string) => r.steps.filter((s) => s.status === status).map((s) => s.name);
  assert.deepEqual(byStatus('failed'), ['m7']);
  assert.deepEqual(byStatus('upstream_failed'), ['sink']);
  // The healthy branches were run by the test before: they are cache hits here.
  assert.equal(byStatus('succeeded').length + byStatus('cached').length, WIDTH);
  const failed = await platform.services.tracking.getRun(r.steps.find((s) => s.name === 'm7')!.trackingRunId!);
  assert.equal(failed.info.status, 'FAILED');
  assert.equal(failed.data.tags.find((t) => t.key === 'modelport.pipeline.error')?.value, 'm7 broke');
});
