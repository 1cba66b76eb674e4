/**
 * SIGKILL a real server while several clients log heavy batches; after a restart on the same
 * data folder, every point the server acknowledged is in the metric history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { mlflowCaller } from '../server/mlflow/contract.js';

async function start(data: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(['server', '--data', data, '--port', '0', '--log-level', 'error']);
  const [, url] = await waitForLine(child, /modelport listening on (http:\/\/\S+)/);
  return { child, url };
}

const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));

test('every acknowledged log-batch point survives SIGKILL', async () => {
  const data = tempDir('trk-crash');
  const first = await start(data);
  const api = mlflowCaller(first.url);
  const experiment_id = (await api.ok('POST', '/experiments/create', { name: 'crash' })).experiment_id;
  const run_id = (await api.ok('POST', '/runs/create', { experiment_id })).run.info.run_id as string;

  const WRITERS = 4;
  const POINTS = 500;
  const acked: number[][] = Array.from({ length: WRITERS }, () => []);
  let killed = false;
  const writer = async (w: number) => {
    for (let batch = 0; !killed; batch++) {
      const metrics = Array.from({ length: POINTS }, (_, i) => ({ key: `w${w}`, value: batch + i / POINTS, timestamp: 1, step: batch * POINTS + i }));
      try {
        const res = await fetch(`${first.url}/api/2.0/mlflow/runs/log-batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ run_id, metrics }),
        });
        if (res.status === 200) acked[w].push(batch);
        else throw new Error(`log-batch answered ${res.status}: ${await res.text()}`);
      } catch (err) {
        if (killed) return;
        throw err;
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  // Kill once every writer has some acknowledged batches and more are in flight.
  while (acked.reduce((n, a) => n + a.length, 0) < 40 || acked.some((a) => a.length < 3)) {
    await new Promise((r) => setTimeout(r, 5));
  }
  killed = true;
  first.child.kill('SIGKILL');
  await Promise.all(writers);
  await exited(first.child);

  const second = await start(data);
  try {
    const after = mlflowCaller(second.url);
    for (let w = 0; w < WRITERS; w++) {
      const { metrics } = await after.ok('GET', '/metrics/get-history', { run_id, metric_key: `w${w}` });
      const steps = new Set(metrics.map((m: { step: number }) => m.step));
      for (const batch of acked[w]) {
        for (let i = 0; i < POINTS; i += 97) assert.ok(steps.has(batch * POINTS + i), `writer ${w} batch ${batch} point ${i}`);
        assert.ok(steps.has(batch * POINTS + POINTS - 1));
      }
      assert.ok(metrics.length >= acked[w].length * POINTS, `writer ${w}: ${metrics.length} points for ${acked[w].length} acknowledged batches`);
      // A batch is one transaction: it is there whole or not at all.
      assert.equal(metrics.length % POINTS, 0);
    }
    const run = (await after.ok('GET', '/runs/get', { run_id })).run;
    assert.equal(run.data.metrics.length, WRITERS, 'latest values were committed with their points');
  } finally {
    second.child.kill('SIGTERM');
    await exited(second.child);
  }
});
