import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import type { RunningServer } from '../../src/server/serve.js';
import { ModelportClient } from '../../src/client/client.js';
import { ExplainClient } from '../../src/client/explain.js';
import { LOGREG, XGB, breastCancerRows, expectedLogreg, post, register } from '../serving/helpers.js';

/** Σ attributions + base value, per row (and group), from an explain response. */
function totals(body: any): number[] {
  const att = body.outputs.find((o: any) => o.name === 'attributions');
  const F = body.feature_names.length;
  const base = (body.base_values as (number | number[])[]).flat();
  return base.map((b, i) => att.data.slice(i * F, (i + 1) * F).reduce((a: number, v: number) => a + v, b));
}

describe('explain endpoint, logged explanations and global importance', () => {
  let server: RunningServer;
  let rows: number[][];
  before(async () => {
    rows = await breastCancerRows();
    server = await testServer();
    const { registry, datasets } = server.platform.services;
    await register(registry, 'trees', XGB, ['model.json']);
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    const names = (await readFile(join(XGB, 'input.csv'), 'utf8')).split('\n')[0];
    const labels = (await expectedLogreg()).label;
    const dir = tempDir('mpexplain');
    const csv = join(dir, 'cancer.csv');
    writeFileSync(csv, `${names},label\n${rows.map((r, i) => `${r.join(',')},${labels[i]}`).join('\n')}\n`);
    await datasets.register('cancer-data', csv);
    for (const model of ['trees', 'cancer']) assert.equal((await post(`${server.url}/api/v1/deployments`, { model, version: 1 })).status, 201);
  });
  after(() => server.close());

  test('TreeSHAP for an XGBoost deployment: the issue\'s response shape, attributions + base = margin', async () => {
    const res = await post(`${server.url}/v2/models/trees/explain`, { id: 'e-1', inputs: [{ name: 'input', shape: [3, 30], datatype: 'FP64', data: rows.slice(0, 3) }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const b = res.body;
    assert.equal(b.model_name, 'trees');
    assert.equal(b.model_version, '1');
    assert.equal(b.id, 'e-1');
    assert.equal(b.method, 'tree');
    assert.equal(b.feature_names.length, 30);
    assert.equal(b.feature_names[0], 'mean_radius');
    assert.equal(b.base_values.length, 3);
    assert.deepEqual(b.outputs.map((o: any) => o.name), ['attributions', 'margin', 'prediction']);
    assert.deepEqual(b.outputs[0].shape, [3, 30]);
    assert.equal(b.outputs[0].datatype, 'FP64');
    const margin = b.outputs[1].data as number[];
    totals(b).forEach((t, i) => assert.ok(Math.abs(t - margin[i]) < 1e-5, `row ${i}: ${t} vs margin ${margin[i]}`));

    const inter = await post(`${server.url}/v2/models/trees/versions/1/explain`, { parameters: { interactions: true }, inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: rows[0] }] });
    assert.equal(inter.status, 200, JSON.stringify(inter.body));
    const matrix = inter.body.outputs.find((o: any) => o.name === 'interactions');
    assert.deepEqual(matrix.shape, [1, 30, 30]);
    // Each row of the interaction matrix sums to that feature's SHAP value.
    const phi = inter.body.outputs[0].data as number[];
    for (let i = 0; i < 30; i++) {
      const sum = (matrix.data as number[]).slice(i * 30, (i + 1) * 30).reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(sum - phi[i]) < 1e-9, `feature ${i}`);
    }
  });

  test('bad requests answer in the V2 error shape, naming the parameter', async () => {
    const one = { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: rows[0] }] };
    const bad = await post(`${server.url}/v2/models/trees/explain`, { ...one, parameters: { method: 'magic' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /parameters\.method: "magic" must be one of tree, kernel, lime/);
    const noBackground = await post(`${server.url}/v2/models/trees/explain`, { ...one, parameters: { method: 'lime' } });
    assert.equal(noBackground.status, 412);
    assert.match(noBackground.body.error, /no background data.*parameters\.background/);
    const tree = await post(`${server.url}/v2/models/cancer/explain`, { ...one, parameters: { method: 'tree' } });
    assert.equal(tree.status, 412);
    assert.match(tree.body.error, /tree method explains XGBoost tree models; this model's flavor is onnx/);
    const missing = await post(`${server.url}/v2/models/nope/explain`, one);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'deployment "nope" does not exist' });
    const huge = await post(`${server.url}/v2/models/cancer/explain`, { ...one, parameters: { background: 'cancer-data', budget: 1_000_000 } });
    assert.equal(huge.status, 400);
    assert.match(huge.body.error, /1 rows × 100000000 model evaluations each is more than 50000000 for one request; send fewer rows or lower parameters\.budget/);
    const dataset = await post(`${server.url}/v2/models/cancer/explain`, { ...one, parameters: { background: 'no-such-data' } });
    assert.equal(dataset.status, 404, JSON.stringify(dataset.body));
  });

  test('KernelSHAP for an ONNX deployment over a dataset background: additive in probability space', async () => {
    const res = await post(`${server.url}/v2/models/cancer/explain`, {
      parameters: { background: 'cancer-data@1', budget: 300, seed: 1 },
      inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP64', data: rows.slice(5, 7) }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.method, 'kernel');
    assert.equal(res.body.explained_output, 'probabilities');
    assert.deepEqual(res.body.outputs[0].shape, [2, 2, 30]);
    const probs = res.body.outputs.find((o: any) => o.name === 'probabilities').data.flat() as number[];
    totals(res.body).forEach((t, i) => assert.ok(Math.abs(t - probs[i]) < 1e-5, `row/class ${i}: ${t} vs ${probs[i]}`));
  });

  test('global importance is stored per version and its background serves later kernel explanations', async () => {
    const sdk = new ExplainClient(new ModelportClient(server.url));
    const result = await sdk.computeImportance('cancer', 1, { dataset: 'cancer-data', label: 'label', rows: 20, repeats: 2, background_size: 10, parameters: { budget: 200 } });
    assert.equal(result.shap!.method, 'kernel');
    assert.equal(result.shap!.rows, 20);
    assert.equal(result.shap!.mean.length, 30);
    assert.ok(result.shap!.mean.every((v) => v >= 0) && result.shap!.mean.some((v) => v > 0));
    assert.equal(result.permutation!.metric, 'accuracy');
    assert.equal(result.permutation!.baseline, 1, 'labels are the model\'s own predictions');
    assert.ok(Math.max(...result.permutation!.mean) > 0, 'shuffling some feature costs accuracy');
    const stored = await sdk.importance('cancer', 1);
    assert.deepEqual(stored.shap!.mean, result.shap!.mean);
    assert.deepEqual(stored.permutation!.mean, result.permutation!.mean);
    const explained = await sdk.explain('cancer', { parameters: { method: 'lime', seed: 2 }, inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: rows[0] }] });
    assert.equal(explained.method, 'lime');
    assert.ok(explained.outputs.some((o) => o.name === 'lime_weights'));
    const trees = await sdk.computeImportance('trees', 1, { dataset: 'cancer-data' });
    assert.equal(trees.shap!.method, 'tree');
    assert.equal(trees.shap!.rows, 114);
    assert.equal(trees.permutation, undefined);

    const report = await fetch(`${server.url}/api/v1/explain/models/trees/versions/1/report?row=3`);
    assert.equal(report.status, 200);
    assert.match(report.headers.get('content-type')!, /^text\/html/);
    const html = await report.text();
    for (const part of ['Mean |SHAP| per feature', "Every row's attributions", 'Dependence of the top features', 'Row 3: from the base value to the output']) assert.ok(html.includes(part), part);
    assert.ok(!/<script|https?:\/\//.test(html.replace(/xmlns="[^"]*"/g, '')), 'self-contained');
    const top = trees.shap!.featureNames[trees.shap!.mean.indexOf(Math.max(...trees.shap!.mean))];
    assert.ok(html.includes(`>${top}</text>`));
    assert.equal(await sdk.report('cancer', 1, { group: 1 }).then((h) => h.includes('(class 1 of 2)')), true);
    const badRow = await fetch(`${server.url}/api/v1/explain/models/trees/versions/1/report?row=100000`);
    assert.equal(badRow.status, 400);
    assert.match(((await badRow.json()) as any).error.message, /row: 100000 is not one of the 114 rows/);
    const none = await fetch(`${server.url}/api/v1/explain/models/trees/versions/9/report`);
    assert.equal(none.status, 400);
  });

  test('a logged prediction is explained after the fact, against the version that answered', async () => {
    const infer = await post(`${server.url}/v2/models/trees/infer`, { inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP64', data: rows.slice(10, 12) }] }, { 'x-request-id': 'loan-42' });
    assert.equal(infer.status, 200);
    const sdk = new ExplainClient(new ModelportClient(server.url));
    const logged = await sdk.explainLogged('loan-42');
    assert.equal(logged.request_id, 'loan-42');
    assert.equal(logged.deployment, 'trees');
    assert.equal(logged.model_version, '1');
    const direct = await post(`${server.url}/v2/models/trees/explain`, { inputs: [{ name: 'input', shape: [2, 30], datatype: 'FP64', data: rows.slice(10, 12) }] });
    assert.deepEqual(logged.outputs[0], direct.body.outputs[0]);
    const margin = infer.body.outputs.find((o: any) => o.name === 'margin').data as number[];
    totals(logged).forEach((t, i) => assert.ok(Math.abs(t - margin[i]) < 1e-5));
    assert.equal(logged.logged_at_ms, undefined, 'computed from the log: no explanation was sampled');

    // With explanation logging on, the explanation is computed as the request is served and stored.
    assert.equal((await sdk.setLogging('trees', 1)).rate, 1);
    await assert.rejects(sdk.setLogging('trees', 2), /rate/);
    const served = await post(`${server.url}/v2/models/trees/infer`, { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: rows[20] }] }, { 'x-request-id': 'loan-43' });
    assert.equal(served.status, 200);
    const stored = await sdk.explainLogged('loan-43');
    assert.equal(typeof stored.logged_at_ms, 'number');
    const fresh = await post(`${server.url}/v2/models/trees/explain`, { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: rows[20] }] });
    assert.deepEqual(stored.outputs[0].data, fresh.body.outputs[0].data);
    const status = await sdk.logging();
    assert.deepEqual(status.deployments, { trees: 1 });
    assert.ok(status.stats.written >= 1);
    await sdk.setLogging('trees', 0);

    const unknown = await post(`${server.url}/api/v1/explain/predictions/nope`, {});
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /no logged prediction has request id "nope"/);
  });
});
