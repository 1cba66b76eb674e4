/**
 * A client nobody here wrote: the npm `mlflow` package drives a whole run against a real
 * modelport server on a free port, through the routes it calls (read in node_modules/mlflow).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mlflowPackage from 'mlflow';
import { RunStatus } from 'mlflow/enum.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';

let server: RunningServer;
// The package's index.js exports the class itself; its types describe it as a default export.
const MLflow = mlflowPackage as unknown as typeof mlflowPackage.default;
let client: InstanceType<typeof MLflow>;
const quiet = console.log;

before(async () => {
  server = await testServer();
  client = new MLflow({ endpoint: server.url });
  // The package prints every request body it posts.
  console.log = () => undefined;
});

after(async () => {
  console.log = quiet;
  await server.close();
});

test('the npm mlflow client logs, reads, searches and finishes a run', async () => {
  const { Experiments, Runs, Metrics, Artifacts } = client;
  const { experiment_id } = await Experiments.create({ name: 'npm-client', artifact_location: '' });
  assert.equal((await Experiments.get({ experiment_id })).experiment.name, 'npm-client');
  const listed = await Experiments.list();
  assert.ok(listed.experiments.some((e: { name: string }) => e.name === 'npm-client'));
  await Experiments.update({ experiment_id, new_name: 'npm-client-2' });

  const start = Date.now();
  const { run } = await Runs.create({ experiment_id, user_id: 'npm', start_time: start, tags: [{ key: 'mlflow.user', value: 'npm' }] });
  const run_id: string = run.info.run_id;
  assert.equal(run.info.status, 'RUNNING');

  await Runs.logParameter({ run_id, key: 'learning_rate', value: '0.01' });
  for (let step = 0; step < 5; step++) await Runs.logMetric({ run_id, key: 'loss', value: 1 / (step + 1), timestamp: start + step, step });
  await Runs.logBatch({
    run_id,
    metrics: [{ key: 'accuracy', value: 0.93, timestamp: start, step: 4 }],
    params: [{ key: 'depth', value: '6' }],
    tags: [{ key: 'framework', value: 'xgboost' }],
  });
  await Runs.setTag({ run_id, key: 'scratch', value: 'x' });
  await Runs.deleteTag({ run_id, key: 'scratch' });

  const history = await Metrics.getHistory({ run_id, metric_key: 'loss' });
  assert.deepEqual(
    history.metrics.map((m: { step: number; value: number }) => [m.step, m.value]),
    [0, 1, 2, 3, 4].map((s) => [s, 1 / (s + 1)]),
  );

  const got = (await Runs.get({ run_id })).run;
  assert.deepEqual(got.data.params, [
    { key: 'depth', value: '6' },
    { key: 'learning_rate', value: '0.01' },
  ]);
  assert.deepEqual(
    got.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value]),
    [
      ['accuracy', 0.93],
      ['loss', 0.2],
    ],
  );
  assert.ok(got.data.tags.some((t: { key: string; value: string }) => t.key === 'framework' && t.value === 'xgboost'));
  assert.ok(!got.data.tags.some((t: { key: string }) => t.key === 'scratch'));

  const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run_id}/artifacts/model.json`, { method: 'PUT', body: '{}' });
  assert.equal(put.status, 200);
  const artifacts = await Artifacts.list({ run_id, path: '' });
  assert.deepEqual(artifacts.files, [{ path: 'model.json', is_dir: false, file_size: 2 }]);

  const found = await Runs.search({ experiment_ids: [experiment_id], filter: "metrics.accuracy > 0.9 and params.depth = '6'", order_by: ['metrics.loss ASC'] });
  assert.deepEqual(found.runs.map((r: { info: { run_id: string } }) => r.info.run_id), [run_id]);

  await Runs.update({ run_id, status: RunStatus.FINISHED, end_time: start + 1000 });
  const finished = (await Runs.get({ run_id })).run.info;
  assert.equal(finished.status, 'FINISHED');
  assert.equal(finished.end_time, start + 1000);

  await Runs.delete({ run_id });
  assert.equal((await Runs.get({ run_id })).run.info.lifecycle_stage, 'deleted');
  await Runs.restore({ run_id });
  await Experiments.delete({ experiment_id });
  await Experiments.restore({ experiment_id });

  await assert.rejects(Runs.get({ run_id: 'f'.repeat(32) }), (err: Error) => {
    const detail = JSON.parse(err.message.replace(/^Error: /, ''));
    assert.equal(detail.status, 404);
    assert.equal(detail.data.error_code, 'RESOURCE_DOES_NOT_EXIST');
    return true;
  });
});
