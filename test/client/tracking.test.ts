/** The tracking SDK against a real server: typed calls, batching within limits, the metric buffer. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '../../src/server/serve.js';
import { ModelportClient } from '../../src/client/client.js';
import { TrackingClient } from '../../src/client/tracking.js';
import { ModelportError } from '../../src/core/errors.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

let server: RunningServer;
let tracking: TrackingClient;

before(async () => {
  server = await testServer();
  tracking = new TrackingClient(new ModelportClient(server.url));
});

after(() => server.close());

test('experiments and nested runs through typed calls', async () => {
  const id = await tracking.createExperiment('sdk', { tags: { owner: 'ada' } });
  assert.deepEqual((await tracking.getExperimentByName('sdk')).tags, [{ key: 'owner', value: 'ada' }]);
  await tracking.renameExperiment(id, 'sdk-2');
  assert.equal((await tracking.getExperiment(id)).name, 'sdk-2');
  const parent = await tracking.createRun({ experiment_id: id, run_name: 'sweep' });
  const child = await tracking.createRun({ experiment_id: id, parentRunId: parent.info.run_id });
  const { runs } = await tracking.searchRuns({ experiment_ids: [id], filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'` });
  assert.deepEqual(runs.map((r) => r.info.run_id), [child.info.run_id]);
  const info = await tracking.endRun(child.info.run_id, 'FAILED');
  assert.equal(info.status, 'FAILED');
  assert.ok(info.end_time! > 0);
  await assert.rejects(tracking.getRun('0'.repeat(32)), (err: unknown) => err instanceof ModelportError && err.code === 'NotFound');
  await assert.rejects(tracking.createExperiment('sdk-2'), (err: unknown) => err instanceof ModelportError && /already exists/.test(err.message));
});

test('setExperiment gets or creates, as MLflow set_experiment does', async () => {
  const first = await tracking.setExperiment('churn-sdk');
  assert.equal(await tracking.setExperiment('churn-sdk'), first, 'running a script twice finds the same experiment');
  assert.equal((await tracking.getExperimentByName('churn-sdk')).experiment_id, first);
  await tracking.deleteExperiment(first);
  await assert.rejects(tracking.setExperiment('churn-sdk'), (err: ModelportError) => err.code === 'FailedPrecondition' && /is deleted; restore it/.test(err.message));
});

test('logBatch splits inputs over MLflow limits; NaN and Infinity round-trip', async () => {
  const run = await tracking.createRun({ experiment_id: await tracking.createExperiment('sdk-batch') });
  const runId = run.info.run_id;
  const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i]));
  const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: 'loss', value: i === 7 ? NaN : 1 / (i + 1), step: i, timestamp: 1000 + i }));
  metrics.push({ key: 'edge', value: Infinity, step: 0, timestamp: 1 });
  await tracking.logBatch(runId, { metrics, params, tags: { phase: 'train' } });
  const got = await tracking.getRun(runId);
  assert.equal(got.data.params.length, 150);
  const history = await tracking.getMetricHistory(runId, 'loss');
  assert.equal(history.length, 2500);
  assert.ok(Number.isNaN(history[7].value));
  assert.equal(history[2499].value, 1 / 2500);
  assert.equal(got.data.metrics.find((m) => m.key === 'edge')!.value, 1.7976931348623157e308);
  await tracking.logMetric(runId, 'single', -Infinity, { step: 3 });
  assert.equal((await tracking.getMetricHistory(runId, 'single'))[0].value, -1.7976931348623157e308);
  await tracking.logParam(runId, 'flag', true);
  await assert.rejects(tracking.logParam(runId, 'flag', false), /Changing param values is not allowed/);
});

test('the metric buffer flushes by size, on its interval and on close, in order', async () => {
  const run = await tracking.createRun({ experiment_id: await tracking.createExperiment('sdk-buffer') });
  const runId = run.info.run_id;
  const buffer = tracking.metricBuffer(runId, { maxPoints: 500, intervalMs: 60_000, flushOnExit: false });
  for (let step = 0; step < 1234; step++) buffer.log('loss', 1 / (step + 1), step, 5000 + step);
  assert.ok(buffer.pending < 500, 'full batches left as soon as they filled');
  await buffer.flush();
  assert.equal(buffer.pending, 0);
  for (let step = 1234; step < 1300; step++) buffer.log('loss', 1 / (step + 1), step, 5000 + step);
  await buffer.close();
  const history = await tracking.getMetricHistory(runId, 'loss');
  assert.deepEqual(history.map((m) => m.step), Array.from({ length: 1300 }, (_, i) => i));
  assert.throws(() => buffer.log('loss', 1), /after close/);

  const timed = tracking.metricBuffer(runId, { maxPoints: 1000, intervalMs: 10, flushOnExit: false });
  timed.log('acc', 0.5, 1);
  while (timed.pending > 0) await sleep(5);
  await timed.close();
  assert.equal((await tracking.getMetricHistory(runId, 'acc')).length, 1);
});

test('the metric buffer reports refused points and drops them; other failures keep them', async () => {
  const run = await tracking.createRun({ experiment_id: await tracking.createExperiment('sdk-buffer-errors') });
  const errors: unknown[] = [];
  const buffer = tracking.metricBuffer(run.info.run_id, { intervalMs: 10, flushOnExit: false, onError: (e) => errors.push(e) });
  buffer.log('bad key!', 1);
  while (errors.length === 0) await sleep(5);
  assert.match((errors[0] as Error).message, /Invalid metric name/);
  assert.equal(buffer.pending, 0, 'a refused batch is not retried forever');
  await buffer.close();

  const dead = new TrackingClient(new ModelportClient('http://127.0.0.1:9'));
  const offline = dead.metricBuffer(run.info.run_id, { intervalMs: 60_000, flushOnExit: false });
  offline.log('loss', 1);
  await assert.rejects(offline.flush());
  assert.equal(offline.pending, 1, 'points survive a network failure');
  await assert.rejects(offline.close());
});

test('artifacts upload, list and download', async () => {
  const run = await tracking.createRun({ experiment_id: await tracking.createExperiment('sdk-artifacts') });
  await tracking.uploadArtifact(run.info.run_id, 'model/weights.bin', Buffer.from([1, 2, 3]));
  await tracking.uploadArtifact(run.info.run_id, 'README.md', '# model');
  assert.deepEqual(await tracking.listArtifacts(run.info.run_id), [
    { path: 'README.md', is_dir: false, file_size: 7 },
    { path: 'model', is_dir: true },
  ]);
  assert.deepEqual([...(await tracking.downloadArtifact(run.info.run_id, 'model/weights.bin'))], [1, 2, 3]);
  await assert.rejects(tracking.downloadArtifact(run.info.run_id, 'missing'), (err: unknown) => err instanceof ModelportError && err.code === 'NotFound');
});

test('a script that ends without close() still delivers its buffered points', async () => {
  const run = await tracking.createRun({ experiment_id: await tracking.createExperiment('sdk-exit') });
  const script = join(tempDir('sdk-exit'), 'train.mts');
  const sdk = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));
  const sdkTracking = fileURLToPath(new URL('../../src/client/tracking.ts', import.meta.url));
  writeFileSync(
    script,
    `import { ModelportClient } from ${JSON.stringify(sdk)};
import { TrackingClient } from ${JSON.stringify(sdkTracking)};
const buffer = new TrackingClient(new ModelportClient(${JSON.stringify(server.url)})).metricBuffer(${JSON.stringify(run.info.run_id)}, { intervalMs: 60_000 });
for (let step = 0; step < 42; step++) buffer.log('loss', 1 / (step + 1), step);
`,
  );
  // Asynchronously: the server answering the script runs in this process.
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, stderr);
  assert.equal((await tracking.getMetricHistory(run.info.run_id, 'loss')).length, 42);
});
