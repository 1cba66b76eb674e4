/**
 * A flood of large scoring bodies does not hold the server: MLflow scoring JSON is parsed in
 * slices and V2 bodies are read on a worker thread, so a health probe and a small prediction sent
 * meanwhile are answered, and every large body still gets its right answer (or its 400).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import { YIELD_FROM } from '../../src/server/invocations-json.js';
import { OFF_THREAD_FROM } from '../../src/server/v2-read.js';
import type { RegistryService } from '../../src/registry/index.js';
import { LOGREG, breastCancerRows, expectedLogreg, post, register, v2Row } from '../serving/helpers.js';

/** The logistic-regression fixture deployed as `cancer`, with its held-out rows and expected answers. */
async function deployCancer(url: string, registry: RegistryService) {
  await register(registry, 'cancer', LOGREG, ['model.onnx']);
  assert.equal((await post(`${url}/api/v1/deployments`, { model: 'cancer', version: 1 })).status, 201);
  return { rows: await breastCancerRows(), expected: await expectedLogreg() };
}

test('large MLflow scoring bodies in flight: probes and small requests are answered, the large ones correctly', async () => {
  const server = await testServer();
  try {
    const { rows, expected } = await deployCancer(server.url, server.platform.services.registry);
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

test('large V2 bodies in flight: probes and small requests are answered, the large ones correctly', async () => {
  const server = await testServer();
  try {
    const { rows, expected } = await deployCancer(server.url, server.platform.services.registry);
    const n = Math.ceil((2 * OFF_THREAD_FROM) / (JSON.stringify(rows[0]).length - 1));
    const large = JSON.stringify({ inputs: [{ name: 'input', shape: [n, 30], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => rows[i % rows.length]).flat() }] });
    assert.ok(large.length > OFF_THREAD_FROM);
    const url = `${server.url}/v2/models/cancer/infer`;
    // tritonclient's aio client and KServe's binary requests send application/octet-stream; a cut-off body is a 400.
    const flood = [post(url, large), post(url, large, { 'content-type': 'application/octet-stream' }), post(url, `${large.slice(0, -3)}]`)];
    const probes: { health: number; label: unknown }[] = [];
    let settled = false;
    void Promise.all(flood).then(() => (settled = true));
    while (!settled && probes.length < 50) {
      const health = await fetch(`${server.url}/health`);
      const small = await post(url, v2Row(rows[0]));
      probes.push({ health: health.status, label: small.body.outputs?.find((o: { name: string }) => o.name === 'label')?.data[0] });
    }
    assert.ok(probes.length > 0);
    for (const p of probes) assert.deepEqual(p, { health: 200, label: expected.label[0] });
    const [json, octet, broken] = await Promise.all(flood);
    for (const answer of [json, octet]) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 300));
      const labels = answer.body.outputs.find((o: { name: string }) => o.name === 'label').data as number[];
      assert.equal(labels.length, n);
      labels.forEach((label, i) => assert.equal(label, expected.label[i % rows.length], `row ${i}`));
    }
    assert.equal(broken.status, 400);
    assert.match(JSON.stringify(broken.body), /malformed JSON/);
  } finally {
    await server.close();
  }
});
