/**
 * A flood of large scoring bodies does not hold the server: they are parsed in slices, so a
 * health probe and a small prediction sent meanwhile are answered, and every large body still
 * gets its right answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import { YIELD_FROM } from '../../src/server/invocations-json.js';
import { LOGREG, breastCancerRows, expectedLogreg, post, register } from '../serving/helpers.js';

test('large JSON bodies in flight: probes and small requests are answered, the large ones correctly', async () => {
  const server = await testServer();
  try {
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { model: 'cancer', version: 1 })).status, 201);
    const rows = await breastCancerRows();
    const expected = await expectedLogreg();
    const text = (n: number) => JSON.stringify({ instances: Array.from({ length: n }, (_, i) => rows[i % rows.length]) });
    const perRow = text(rows.length).length / rows.length;
    const large = text(Math.ceil((3 * YIELD_FROM) / perRow));
    assert.ok(large.length > YIELD_FROM);
    const url = `${server.url}/deployments/cancer/invocations`;
    const flood = Array.from({ length: 3 }, () => post(url, large));
    const probes: { health: number; label: unknown }[] = [];
    let settled = false;
    void Promise.all(flood).then(() => (settled = true));
    while (!settled && probes.length < 50) {
      const health = await fetch(`${server.url}/health`);
      const small = await post(url, { instances: [rows[0]] });
      probes.push({ health: health.status, label: small.body.predictions?.label?.[0] });
    }
    assert.ok(probes.length > 0);
    for (const p of probes) assert.deepEqual(p, { health: 200, label: expected.label[0] });
    for (const answer of await Promise.all(flood)) {
      assert.equal(answer.status, 200);
      const labels = answer.body.predictions.label as number[];
      assert.equal(labels.length, JSON.parse(large).instances.length);
      labels.forEach((label, i) => assert.equal(label, expected.label[i % rows.length], `row ${i}`));
    }
  } finally {
    await server.close();
  }
});
