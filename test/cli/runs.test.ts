/** `modelport runs list|show` against a running server. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/serve.js';
import { ModelportClient } from '../../src/client/client.js';
import { TrackingClient } from '../../src/client/tracking.js';
import { runCli } from '../helpers/cli.js';
import { testServer } from '../helpers/platform.js';

let server: RunningServer;
const ids: string[] = [];

before(async () => {
  server = await testServer();
  const tracking = new TrackingClient(new ModelportClient(server.url));
  const exp = await tracking.createExperiment('sweep');
  for (const [depth, acc] of [[3, 0.81], [6, 0.93], [9, 0.88]]) {
    const run = await tracking.createRun({ experiment_id: exp, run_name: `depth-${depth}`, start_time: 1_700_000_000_000 + depth });
    // Seven other metrics sort before "accuracy": the columns a user filters by must still show.
    const others = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map((key) => ({ key, value: 1 }));
    await tracking.logBatch(run.info.run_id, { metrics: [{ key: 'accuracy', value: acc }, ...others], params: { depth } });
    ids.push(run.info.run_id);
  }
});

after(() => server.close());

test('runs list filters and orders with MLflow syntax; runs show prints one run', async () => {
  const listed = await runCli(['--server', server.url, 'runs', 'list', '--experiment', 'sweep', '--filter', 'metrics.accuracy > 0.85', '--order-by', 'metrics.accuracy DESC']);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trimEnd().split('\n');
  assert.match(rows[0], /^run id\s+name\s+status\s+started\s+accuracy\s+a1\s+a2\s+a3\s+a4\s+a5$/);
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)[1]), ['depth-6', 'depth-9']);
  assert.match(rows[1], /\s0\.93(\s+1){5}$/);
  const byParam = await runCli(['--server', server.url, 'runs', 'list', '--experiment', 'sweep', '--filter', "params.depth = '3'", '--order-by', 'metrics.`accuracy` DESC']);
  assert.match(byParam.stdout, /^run id\s+name\s+status\s+started\s+params\.depth\s+accuracy\s+a1/);
  assert.match(byParam.stdout.split('\n')[1]!, /depth-3\s.*\s3\s+0\.81\s/);

  const shown = await runCli(['--server', server.url, 'runs', 'show', ids[0]]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^run ${ids[0]} \\(depth-3\\)`));
  assert.match(shown.stdout, /params\n\s+depth\s+3/);
  assert.match(shown.stdout, /accuracy\s+0\.81 \(step 0\)/);

  const badFilter = await runCli(['--server', server.url, 'runs', 'list', '--experiment', 'sweep', '--filter', 'metrics.accuracy >> 1']);
  assert.equal(badFilter.code, 2);
  assert.match(badFilter.stderr, /^modelport: filter: expected a number for metric accuracy at ">" \(position 19\)\n$/);
  const missing = await runCli(['--server', server.url, 'runs', 'show', 'nope']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'modelport: Run with id=nope not found\n');
  const noExperiment = await runCli(['--server', server.url, 'runs', 'list', '--experiment', 'absent']);
  assert.equal(noExperiment.stderr, "modelport: Could not find experiment with name 'absent'\n");
});
