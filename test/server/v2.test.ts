import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { V2_EXTENSIONS } from '../../src/server/v2.js';
import { LOGREG, XGB, breastCancerRows, brokenModel, expectedLogreg, post, register, v2Row } from '../serving/helpers.js';

describe('Open Inference Protocol V2', () => {
  let server: RunningServer;
  let rows: number[][];
  before(async () => {
    rows = await breastCancerRows();
    const rows0 = rows[0];
    server = await testServer({ bodyLimit: 256 * 1024 });
    const registry = server.platform.services.registry;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'trees', XGB, ['model.json']);
    const res = await post(`${server.url}/api/v1/deployments`, { model: 'cancer', version: 2 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.state, 'ready');
    assert.equal(res.body.variants[0].serving_version, 2);
    // 'auto' keeps a model this small on the event loop unless the machine is very busy.
    assert.ok(['event-loop', 'worker'].includes(res.body.variants[0].runs_on));
    const trees = await post(`${server.url}/api/v1/deployments`, { model: 'trees', version: 1 });
    assert.equal(trees.status, 201);
    assert.equal(trees.body.variants[0].runs_on, 'tree-pool');
    const pinned = await post(`${server.url}/api/v1/deployments`, { name: 'in-worker', model: 'cancer', version: 1, executor: 'worker' });
    assert.equal(pinned.body.variants[0].runs_on, 'worker');
    assert.equal((await post(`${server.url}/v2/models/in-worker/infer`, v2Row(rows0))).status, 200);
  });
  after(() => server.close());

  test('server metadata and health', async () => {
    for (const path of ['/v2', '/v2/']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(await res.json(), { name: 'modelport', version: '0.1.0', extensions: V2_EXTENSIONS });
    }
    assert.ok(V2_EXTENSIONS.includes('binary_tensor_data'));
    assert.deepEqual(await (await fetch(`${server.url}/v2/health/live`)).json(), { live: true });
    const ready = await fetch(`${server.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
  });

  test('model metadata comes from the signature', async () => {
    const meta = (await (await fetch(`${server.url}/v2/models/cancer`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta, {
      name: 'cancer',
      versions: ['2'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    assert.equal((await fetch(`${server.url}/v2/models/cancer/versions/2`)).status, 200);
    assert.deepEqual(await (await fetch(`${server.url}/v2/models/cancer/versions/2/ready`)).json(), { name: 'cancer', ready: true });
    const missing = await fetch(`${server.url}/v2/models/cancer/versions/1`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /does not serve version 1 \(it serves 2\)/);
    const unknown = await fetch(`${server.url}/v2/models/nope/ready`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: 'deployment "nope" does not exist' });
  });

  test('infer one row and a batch: scikit-learn probabilities, id kept', async () => {
    const expected = await expectedLogreg();
    const one = await post(`${server.url}/v2/models/cancer/infer`, { id: 'req-1', ...v2Row(rows[0]) });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.id, 'req-1');
    assert.equal(one.body.model_name, 'cancer');
    assert.equal(one.body.model_version, '2');
    const [label, probs] = one.body.outputs;
    assert.deepEqual({ ...label, data: undefined }, { name: 'label', datatype: 'INT64', shape: [1], data: undefined });
    assert.equal(label.data[0], expected.label[0]);
    assert.deepEqual(probs.shape, [1, 2]);
    assert.ok(Math.abs(probs.data[1] - expected.probabilities[0][1]) < 1e-5);

    const all = await post(`${server.url}/v2/models/cancer/versions/2/infer`, {
      inputs: [{ name: 'input', shape: [rows.length, 30], datatype: 'FP64', data: rows }],
      outputs: [{ name: 'probabilities' }],
    });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.outputs.length, 1);
    const p = all.body.outputs[0];
    assert.deepEqual(p.shape, [114, 2]);
    for (let i = 0; i < 114; i++) assert.ok(Math.abs(p.data[i * 2 + 1] - expected.probabilities[i][1]) < 1e-5, `row ${i}`);
  });

  test('a tree model takes one FP32 feature tensor or one tensor per feature', async () => {
    const vec = await post(`${server.url}/v2/models/trees/infer`, { inputs: [{ name: 'x', shape: [2, 30], datatype: 'FP32', data: rows.slice(0, 2).flat() }] });
    assert.equal(vec.status, 200, JSON.stringify(vec.body));
    const meta = (await (await fetch(`${server.url}/v2/models/trees`)).json()) as { inputs: { name: string }[] };
    assert.equal(meta.inputs.length, 30);
    const perFeature = await post(`${server.url}/v2/models/trees/infer`, {
      inputs: meta.inputs.map((s: { name: string }, j: number) => ({ name: s.name, shape: [2], datatype: 'FP32', data: [rows[0][j], rows[1][j]] })),
    });
    assert.equal(perFeature.status, 200, JSON.stringify(perFeature.body));
    assert.deepEqual(perFeature.body.outputs, vec.body.outputs);
  });

  test('bad requests are 4xx {"error"} naming the field', async () => {
    const url = `${server.url}/v2/models/cancer/infer`;
    const cases: [unknown, number, RegExp][] = [
      ['{"inputs": [', 400, /malformed JSON/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'BYTES', data: rows[0].map(String) }] }, 400, /datatype is BYTES, the model expects FP32/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: rows[0].slice(1) }] }, 400, /shape \[1, 30\] needs 30 elements, data has 29/],
      [{ inputs: [{ name: 'input', shape: [1, 29], datatype: 'FP32', data: rows[0].slice(1) }] }, 400, /shape \[1, 29\] does not match the model's \[-1, 30\]/],
      [{ inputs: [{ name: 'other', shape: [1, 30], datatype: 'FP32', data: rows[0] }] }, 400, /no input "other"/],
      [{ inputs: [] }, 400, /inputs/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP99', data: rows[0] }] }, 400, /datatype/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: rows[0] }], outputs: [{ name: 'nope' }] }, 400, /outputs\[0\]: the model has no output "nope"/],
      [{ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: ['x', ...rows[0].slice(1)] }] }, 400, /expected float32, got string "x"/],
    ];
    for (const [body, status, pattern] of cases) {
      const res = await post(url, body);
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error, 'string');
      assert.match(res.body.error, pattern);
    }
    const big = await post(url, { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: new Array(40_000).fill(1.2345) }] });
    assert.equal(big.status, 413);
    assert.match(big.body.error, /body/);
    const wrongModel = await post(`${server.url}/v2/models/nope/infer`, v2Row(rows[0]));
    assert.equal(wrongModel.status, 404);
    assert.match(wrongModel.body.error, /deployment "nope" does not exist/);
  });

  test('a deployment whose model failed to load is not ready (400, as the spec says) and answers 503', async () => {
    const version = await register(server.platform.services.registry, 'cancer', brokenModel(), ['model.mjs']);
    const created = await post(`${server.url}/api/v1/deployments`, { name: 'broken', model: 'cancer', version });
    assert.equal(created.body.state, 'failed');
    assert.match(created.body.message, /weights file is corrupt/);
    const ready = await fetch(`${server.url}/v2/models/broken/ready`);
    assert.equal(ready.status, 400);
    assert.deepEqual({ ...((await ready.json()) as object), error: undefined }, { name: 'broken', ready: false, error: undefined });
    const server_ = await fetch(`${server.url}/v2/health/ready`);
    assert.equal(server_.status, 400);
    const infer = await post(`${server.url}/v2/models/broken/infer`, v2Row(rows[0]));
    assert.equal(infer.status, 503);
    assert.match(infer.body.error, /has no model loaded: .*weights file is corrupt/);
    assert.equal(infer.headers.get('retry-after'), '1');
  });
});
