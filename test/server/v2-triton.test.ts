import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { LOGREG, breastCancerRows, brokenModel, post, register, v2Row } from '../serving/helpers.js';

/** Triton's repository, configuration and statistics extensions, called as tritonclient.http calls them (no content type). */
describe("Triton's model repository, configuration and statistics extensions", () => {
  let server: RunningServer;
  const tritonPost = (path: string, body = '') =>
    fetch(`${server.url}${path}`, { method: 'POST', body: body === '' ? undefined : Buffer.from(body), headers: { 'user-agent': 'python/gevent-http-client-2.3.1' } });

  before(async () => {
    server = await testServer();
    const registry = server.platform.services.registry;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'spare', LOGREG, ['model.onnx']);
    await register(registry, 'spare', LOGREG, ['model.onnx']);
    await register(registry, 'broken', brokenModel(), ['model.mjs']);
    await server.platform.services.serving.create({ model: 'cancer', version: 1, config: { batching: { maxBatchSize: 8 } } });
  });
  after(() => server.close());

  test('the model configuration comes from the signature and the batching settings', async () => {
    const res = await fetch(`${server.url}/v2/models/cancer/config`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      name: 'cancer',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      version_policy: { specific: { versions: [1] } },
      max_batch_size: 8,
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [30] }],
      output: [
        { name: 'label', data_type: 'TYPE_INT64', dims: [1] },
        { name: 'probabilities', data_type: 'TYPE_FP32', dims: [2] },
      ],
      dynamic_batching: { max_queue_delay_microseconds: 0, default_queue_policy: { max_queue_size: 1024 } },
    });
    assert.equal((await fetch(`${server.url}/v2/models/cancer/versions/1/config`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/nope/config`)).status, 404);
  });

  test('statistics count requests, rows and model calls with Triton field names', async () => {
    const rows = await breastCancerRows();
    const zero = (await (await fetch(`${server.url}/v2/models/cancer/stats`)).json()) as any;
    assert.deepEqual(zero.model_stats.map((s: any) => [s.name, s.version, s.inference_count, s.execution_count]), [['cancer', '1', 0, 0]]);
    for (let i = 0; i < 3; i++) assert.equal((await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[i]))).status, 200);
    assert.equal((await post(`${server.url}/v2/models/cancer/infer`, { inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP32', data: rows.slice(0, 2).flat() }] })).status, 200);
    assert.equal((await post(`${server.url}/v2/models/cancer/infer`, { inputs: [{ name: 'input', shape: [1, 29], datatype: 'FP32', data: rows[0].slice(1) }] })).status, 400);
    const all = (await (await fetch(`${server.url}/v2/models/stats`)).json()) as any;
    const [s] = all.model_stats.filter((x: any) => x.name === 'cancer');
    assert.equal(s.inference_count, 5);
    assert.equal(s.execution_count, 4);
    assert.equal(s.inference_stats.success.count, 4);
    assert.equal(s.inference_stats.fail.count, 1);
    assert.equal(s.inference_stats.queue.count, 4);
    assert.equal(s.inference_stats.compute_infer.count, 5);
    assert.ok(s.inference_stats.success.ns > 0 && s.last_inference > 0);
    assert.deepEqual(Object.keys(s.inference_stats).sort(), ['cache_hit', 'cache_miss', 'compute_infer', 'compute_input', 'compute_output', 'fail', 'queue', 'success']);
    assert.deepEqual(s.batch_stats.map((b: any) => [b.batch_size, b.compute_infer.count]), [[1, 3], [2, 1]]);
    const one = (await (await fetch(`${server.url}/v2/models/cancer/versions/1/stats`)).json()) as any;
    assert.equal(one.model_stats[0].inference_count, 5);
    assert.equal((await fetch(`${server.url}/v2/models/nope/stats`)).status, 404);
  });

  test('load deploys a registered model, the index lists deployments, unload deletes one', async () => {
    assert.equal((await tritonPost('/v2/repository/models/spare/load', '{}')).status, 200);
    const indexed = await tritonPost('/v2/repository/index');
    const index = (await indexed.json()) as any[];
    assert.equal(indexed.status, 200, JSON.stringify(index));
    assert.deepEqual(
      index.filter((e) => e.name !== 'broken').sort((a, b) => a.name.localeCompare(b.name)),
      [
        { name: 'cancer', version: '1', state: 'READY' },
        { name: 'spare', version: '2', state: 'READY' },
      ],
    );
    assert.equal((await post(`${server.url}/v2/models/spare/infer`, v2Row((await breastCancerRows())[0]))).status, 200);
    const failed = await tritonPost('/v2/repository/models/broken/load', '{"parameters": {}}');
    assert.equal(failed.status, 400);
    assert.match(((await failed.json()) as { error: string }).error, /failed to load 'broken': .*weights file is corrupt/);
    const withBroken = (await (await tritonPost('/v2/repository/index')).json()) as any[];
    assert.equal(withBroken.find((e) => e.name === 'broken').state, 'UNAVAILABLE');
    const ready = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST', body: '{"ready": true}', headers: { 'content-type': 'application/json' } })).json()) as any[];
    assert.ok(!ready.some((e) => e.name === 'broken'));
    assert.equal((await tritonPost('/v2/repository/models/spare/unload', '{"parameters":{"unload_dependents":false}}')).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/spare/ready`)).status, 404);
    const missing = await tritonPost('/v2/repository/models/nothing/load', '{}');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/json');
  });
});
