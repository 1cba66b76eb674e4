/**
 * The local executor on a real platform: command steps with their environment, parallelism,
 * retries, timeouts, cancellation of a process group, caching, and tracking runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from '../../src/platform.js';
import { definePipeline, type PipelineSpec } from '../../src/pipelines/index.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

let platform: Platform;
before(async () => {
  platform = await testPlatform();
});
after(async () => {
  await platform.close();
});

const run = async (spec: PipelineSpec, params: Record<string, unknown> = {}, extra: { parallelism?: number } = {}) => {
  const started = await platform.services.pipelines.startRun({ spec, params, ...extra });
  return platform.services.pipelines.wait(started.id, 50);
};

/** A pipeline folder with scripts that count their executions in `count.<step>`. */
function folder(): string {
  const dir = tempDir('pl');
  writeFileSync(join(dir, 'count.sh'), 'echo x >> "$(dirname "$0")/count.$MODELPORT_STEP"\n');
  return dir;
}
const count = (dir: string, step: string) => (existsSync(join(dir, `count.${step}`)) ? readFileSync(join(dir, `count.${step}`), 'utf8').split('\n').filter(Boolean).length : 0);

test('command steps see params, inputs and an output dir; outputs flow downstream; a tracking run per step', async () => {
  const dir = folder();
  const spec: PipelineSpec = {
    name: 'env-check',
    dir,
    params: { rows: 3, 'greeting': 'hi' },
    steps: [
      { name: 'make-data', run: 'sh count.sh; seq 1 $MODELPORT_PARAM_ROWS > "$MODELPORT_OUTPUT_DIR/data.txt"; echo made', outputs: ['data.txt'], params: ['rows'] },
      { name: 'sum', inputs: ['make-data/data.txt'], run: 'sh count.sh; awk \'{s+=$1} END {print "{\\"total\\": " s "}"}\' "$MODELPORT_INPUT_MAKE_DATA/data.txt" > "$MODELPORT_OUTPUT_DIR/metrics.json"; echo $MODELPORT_PARAM_GREETING >&2' },
    ],
  };
  const r = await run(spec);
  assert.equal(r.status, 'succeeded', JSON.stringify(r));
  assert.deepEqual(r.progress, { done: 2, total: 2 });
  const sum = r.steps.find((s) => s.name === 'sum')!;
  assert.deepEqual(sum.metrics, { total: 6 });
  assert.equal((await platform.services.pipelines.stepLog(r.id, 'make-data', 'stdout')).toString(), 'made\n');
  assert.equal((await platform.services.pipelines.stepLog(r.id, 'sum', 'stderr')).toString(), 'hi\n');
  const outputs = await platform.services.pipelines.stepOutputs(r.id, 'make-data');
  assert.deepEqual(outputs.files.map((f) => [f.path, f.size]), [['data.txt', 6]]);
  // The pipeline run is a tracking run; each step a nested run carrying its metrics.
  const parent = await platform.services.tracking.getRun(r.trackingRunId!);
  assert.deepEqual(parent.data.params, [{ key: 'greeting', value: 'hi' }, { key: 'rows', value: '3' }]);
  const child = await platform.services.tracking.getRun(sum.trackingRunId!);
  assert.equal(child.data.tags.find((t) => t.key === 'mlflow.parentRunId')?.value, r.trackingRunId);
  assert.equal(child.data.tags.find((t) => t.key === 'modelport.pipeline.input.make-data')?.value, outputs.sha256);
  assert.equal(child.data.metrics.find((m) => m.key === 'total')?.value, 6);
  assert.equal(child.info.status, 'FINISHED');
});

test('a failing step fails the run and marks what depends on it; a declared output left unwritten fails its step', async () => {
  const r = await run({ name: 'fails', steps: [{ name: 'bad', run: 'echo boom >&2; exit 3' }, { name: 'after', needs: ['bad'], run: 'true' }, { name: 'lazy', run: 'true', outputs: ['model.json'] }] });
  assert.equal(r.status, 'failed');
  const by = Object.fromEntries(r.steps.map((s) => [s.name, s]));
  assert.equal(by.bad.status, 'failed');
  assert.equal(by.bad.error, 'exited with code 3');
  assert.equal(by.after.status, 'upstream_failed');
  assert.equal(by.lazy.status, 'failed');
  assert.equal(by.lazy.error, 'did not write its declared output model.json');
  assert.match(r.error!, /^step (bad|lazy): /);
  assert.match((await platform.services.pipelines.stepLog(r.id, 'bad', 'stderr')).toString(), /^boom\nmodelport: step bad: exited with code 3\n$/);
});

test('retries with exponential backoff until an attempt succeeds', async () => {
  const dir = folder();
  // Fails on attempts 1 and 2, succeeds on 3.
  const r = await run({ name: 'flaky', dir, steps: [{ name: 'flaky', run: 'sh count.sh; [ "$MODELPORT_ATTEMPT" -ge 3 ]', retries: 2, retryDelay: '20ms' }] });
  assert.equal(r.status, 'succeeded');
  assert.equal(r.steps[0].attempts, 3);
  assert.equal(count(dir, 'flaky'), 3);
  const out = await run({ name: 'flaky', dir, steps: [{ name: 'flaky', run: 'false', retries: 1, retryDelay: '10ms' }] });
  assert.equal(out.steps[0].attempts, 2);
  assert.equal(out.status, 'failed');
});

test('a timeout kills the step and everything it started', async () => {
  const dir = folder();
  const r = await run({ name: 'slow', dir, steps: [{ name: 'slow', run: '(sleep 30; touch late) & sleep 30', timeout: '300ms' }] });
  assert.equal(r.status, 'failed');
  assert.equal(r.steps[0].error, 'timed out after 300 ms');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(existsSync(join(dir, 'late')), false);
});

test('a command step whose processes go over resources.memory is killed and failed saying so; one within it succeeds', async () => {
  const dir = folder();
  const hog = `(sleep 30; touch late) & "${process.execPath}" -e "globalThis.b = Buffer.alloc(300 * 2 ** 20, 1); setTimeout(() => {}, 30000)"`;
  const r = await run({
    name: 'memory',
    dir,
    steps: [
      { name: 'small', run: 'echo fits', resources: { memory: '64Mi' } },
      { name: 'hog', needs: ['small'], run: hog, resources: { memory: '128Mi' } },
    ],
  });
  assert.equal(r.status, 'failed');
  assert.equal(r.steps[0].status, 'succeeded');
  assert.equal(r.steps[1].status, 'failed');
  assert.match(r.steps[1].error ?? '', /^went over its memory limit \(resources\.memory 128 MiB\): its processes held \d+ MiB resident, so they were killed$/);
  assert.match((await platform.services.pipelines.stepLog(r.id, 'hog', 'stderr')).toString(), /modelport: step hog: went over its memory limit/);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(existsSync(join(dir, 'late')), false, 'the whole process group went');
});

test('cancelling a run kills its process group and cancels the steps not started', async () => {
  const dir = folder();
  const started = await platform.services.pipelines.startRun({ spec: { name: 'cancel-me', dir, steps: [{ name: 'long', run: 'sh count.sh; (sleep 20; touch orphan) & sleep 20' }, { name: 'next', needs: ['long'], run: 'sh count.sh' }] } });
  while (count(dir, 'long') === 0) await new Promise((res) => setTimeout(res, 20));
  await platform.services.pipelines.cancel(started.id);
  const r = await platform.services.pipelines.wait(started.id, 50);
  assert.equal(r.status, 'cancelled');
  assert.deepEqual(r.steps.map((s) => s.status), ['cancelled', 'cancelled']);
  assert.equal(count(dir, 'next'), 0);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(existsSync(join(dir, 'orphan')), false);
  const tracked = await platform.services.tracking.getRun(r.trackingRunId!);
  assert.equal(tracked.info.status, 'KILLED');
});

test('parallelism: independent steps overlap up to the limit and never beyond it', async () => {
  const dir = folder();
  mkdirSync(join(dir, 'live'));
  // Each step records how many steps were live when it started (including itself).
  const step = (name: string) => ({ name, run: 'touch live/$MODELPORT_STEP; ls live | wc -l >> peaks; sleep 0.3; rm live/$MODELPORT_STEP' });
  const r = await run({ name: 'wide', dir, steps: ['a', 'b', 'c', 'd', 'e', 'f'].map(step) }, {}, { parallelism: 2 });
  assert.equal(r.status, 'succeeded');
  const peaks = readFileSync(join(dir, 'peaks'), 'utf8').trim().split('\n').map(Number);
  assert.equal(peaks.length, 6);
  assert.ok(Math.max(...peaks) <= 2, `at most 2 steps at once, saw ${peaks}`);
});

test('caching: a second run skips every step; changing one parameter reruns exactly the steps downstream of it', async () => {
  const dir = folder();
  const spec: PipelineSpec = {
    name: 'cached',
    dir,
    params: { rows: 5, scale: 2 },
    steps: [
      { name: 'extract', run: 'sh count.sh; seq 1 $MODELPORT_PARAM_ROWS > $MODELPORT_OUTPUT_DIR/rows.txt', params: ['rows'], outputs: ['rows.txt'], cache: true },
      { name: 'constants', run: 'sh count.sh; echo 7 > $MODELPORT_OUTPUT_DIR/c.txt', params: [], outputs: ['c.txt'], cache: true },
      { name: 'scale', inputs: ['extract/rows.txt'], run: 'sh count.sh; awk -v k=$MODELPORT_PARAM_SCALE \'{print $1*k}\' $MODELPORT_INPUT_EXTRACT/rows.txt > $MODELPORT_OUTPUT_DIR/scaled.txt', params: ['scale'], outputs: ['scaled.txt'], cache: true },
      { name: 'report', inputs: ['scale/scaled.txt', 'constants/c.txt'], run: 'sh count.sh; cat $MODELPORT_INPUT_SCALE/scaled.txt $MODELPORT_INPUT_CONSTANTS/c.txt > $MODELPORT_OUTPUT_DIR/report.txt', params: [], cache: true },
    ],
  };
  const first = await run(spec);
  assert.equal(first.status, 'succeeded');
  assert.deepEqual(first.steps.map((s) => s.cached), [false, false, false, false]);
  const second = await run(spec);
  assert.deepEqual(second.steps.map((s) => s.status), ['cached', 'cached', 'cached', 'cached']);
  assert.deepEqual(second.steps.map((s) => s.outputsSha), first.steps.map((s) => s.outputsSha));
  const child = await platform.services.tracking.getRun(second.steps[0].trackingRunId!);
  assert.match(child.data.tags.find((t) => t.key === 'modelport.pipeline.cache')!.value, /^hit \(run /);
  // scale changes: scale and report rerun; extract and constants stay cached.
  const third = await run(spec, { scale: 3 });
  assert.deepEqual(Object.fromEntries(third.steps.map((s) => [s.name, s.status])), { extract: 'cached', constants: 'cached', scale: 'succeeded', report: 'succeeded' });
  assert.deepEqual({ extract: count(dir, 'extract'), constants: count(dir, 'constants'), scale: count(dir, 'scale'), report: count(dir, 'report') }, { extract: 1, constants: 1, scale: 2, report: 2 });
  const report = await platform.services.pipelines.stepOutputs(third.id, 'report');
  assert.equal(report.files[0].path, 'report.txt');
  // Same content from a different parameter path is a cache hit downstream: rows=5,scale=3 again.
  const fourth = await run(spec, { scale: 3 });
  assert.ok(fourth.steps.every((s) => s.cached));
});

test('TypeScript definitions: function steps with inputs, outputs and the cache keyed on their source', async () => {
  let calls = 0;
  const spec = definePipeline({
    name: 'ts',
    params: { n: 4 },
    steps: [
      { name: 'square', outputs: ['sq.json'], cache: true, run: async (ctx) => { calls++; writeFileSync(join(ctx.outputDir, 'sq.json'), JSON.stringify(Number(ctx.params.n) ** 2)); } },
      { name: 'check', inputs: ['square/sq.json'], run: async (ctx) => { writeFileSync(join(ctx.outputDir, 'metrics.json'), readFileSync(join(ctx.inputs.square, 'sq.json'), 'utf8').replace(/^(\d+)$/, '{"square": $1}')); } },
    ],
  });
  const r = await run(spec);
  assert.equal(r.status, 'succeeded', JSON.stringify(r.steps));
  assert.deepEqual(r.steps[1].metrics, { square: 16 });
  await run(spec);
  assert.equal(calls, 1);
  await assert.rejects(platform.services.pipelines.startRun({ spec, queue: 'redis://127.0.0.1:6379' }), /step square: function steps run only on the local executor/);
});
