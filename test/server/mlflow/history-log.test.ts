/** Answering metric history must not make Fastify warn that the reply was sent twice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPlatform } from '../../helpers/platform.js';
import { buildApp } from '../../../src/server/app.js';

test('get-history answers once: no "Reply was already sent" warning in the log', async () => {
  const lines: string[] = [];
  const platform = await testPlatform();
  const app = await buildApp(platform, { logger: { level: 'warn', stream: { write: (line) => void lines.push(line) } } });
  try {
    const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
      const res = await app.inject({ method, url: `/api/2.0/mlflow${url}`, payload });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const { experiment_id } = await call('POST', '/experiments/create', { name: 'history' });
    const runId = (await call('POST', '/runs/create', { experiment_id })).run.info.run_id as string;
    await call('POST', '/runs/log-metric', { run_id: runId, key: 'loss', value: 0.5, timestamp: 1, step: 0 });
    for (const query of ['', '&max_results=5']) {
      const { metrics } = await call('GET', `/metrics/get-history?run_id=${runId}&metric_key=loss${query}`);
      assert.deepEqual(metrics, [{ key: 'loss', value: 0.5, timestamp: 1, step: 0 }]);
    }
    assert.deepEqual(lines.filter((l) => /already sent/.test(l)), []);
  } finally {
    await app.close();
    await platform.close();
  }
});
