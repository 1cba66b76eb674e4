import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testServer, withTwoPostgresPlatforms } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { soleDeployment } from '../../src/server/invocations.js';
import { LOGREG, XGB, breastCancerRows, expectedLogreg, post, register } from '../serving/helpers.js';

const FEATURES = ['mean_radius', 'mean_texture'];

describe('MLflow scoring protocol', () => {
  let server: RunningServer;
  let rows: number[][];
  let names: string[];
  let expected: Awaited<ReturnType<typeof expectedLogreg>>;
  before(async () => {
    server = await testServer();
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { model: 'cancer', version: 1 })).status, 201);
    rows = await breastCancerRows();
    expected = await expectedLogreg();
    names = readFileSync(`${LOGREG}/input.csv`, 'utf8').split('\n')[0].split(',');
  });
  after(() => server.close());

  const check = (predictions: { label: number; probabilities: number[] }[], from = 0) => {
    predictions.forEach((p, i) => {
      assert.equal(p.label, expected.label[from + i]);
      assert.ok(Math.abs(p.probabilities[1] - expected.probabilities[from + i][1]) < 1e-5);
    });
  };

  test('dataframe_split, dataframe_records, instances, inputs and CSV all score the same rows', async () => {
    const url = `${server.url}/deployments/cancer/invocations`;
    const split = await post(url, { dataframe_split: { columns: names, data: rows.slice(0, 3) } });
    assert.equal(split.status, 200, JSON.stringify(split.body));
    // ONNX answers a dict of output columns, as MLflow's onnx pyfunc does for tensor outputs.
    assert.deepEqual(Object.keys(split.body.predictions), ['label', 'probabilities']);
    assert.deepEqual(split.body.predictions.label, expected.label.slice(0, 3));
    const asRecords = await post(`${url}?format=records`, { dataframe_split: { columns: names, data: rows.slice(0, 3) } });
    assert.equal(asRecords.body.predictions.length, 3);
    check(asRecords.body.predictions);
    const records = await post(url, { dataframe_records: rows.slice(0, 3).map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]]))) });
    assert.deepEqual(records.body, split.body);
    const instances = await post(url, { instances: rows.slice(0, 3) });
    assert.deepEqual(instances.body, split.body);
    const inputs = await post(url, { inputs: { input: rows.slice(0, 3) } });
    assert.deepEqual(inputs.body, split.body);
    const csv = [names.join(','), ...rows.slice(0, 3).map((r) => r.join(','))].join('\n');
    const fromCsv = await post(url, csv, { 'content-type': 'text/csv' });
    assert.equal(fromCsv.status, 200, JSON.stringify(fromCsv.body));
    assert.deepEqual(fromCsv.body, split.body);
    // The single-deployment shortcut mlflow clients call.
    assert.deepEqual((await post(`${server.url}/invocations`, { instances: rows.slice(0, 3) })).body, split.body);
  });

  test('bad input answers MLflow error JSON naming the problem', async () => {
    const url = `${server.url}/deployments/cancer/invocations`;
    const cases: [unknown, number, string, RegExp][] = [
      ['{"instances": [[1,', 400, 'BAD_REQUEST', /malformed JSON/],
      [{}, 400, 'BAD_REQUEST', /exactly one of dataframe_split, dataframe_records, instances, inputs/],
      [{ instances: [[1]], inputs: [[1]] }, 400, 'BAD_REQUEST', /got instances and inputs/],
      [{ dataframe_split: { columns: FEATURES, data: [[1, 2, 3]] } }, 400, 'BAD_REQUEST', /data\[0\]: has 3 values, expected 2/],
      [{ dataframe_records: [{ a: 'x' }] }, 400, 'BAD_REQUEST', /dataframe_records/],
      [{ instances: [] }, 400, 'BAD_REQUEST', /no rows/],
      [{ instances: [rows[0].slice(1)] }, 400, 'BAD_REQUEST', /instances: column "input"/],
    ];
    for (const [body, status, code, pattern] of cases) {
      const res = await post(url, body);
      assert.equal(res.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error_code, code);
      assert.match(res.body.message, pattern);
    }
    const missing = await post(`${server.url}/deployments/nope/invocations`, { instances: [rows[0]] });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'deployment "nope" does not exist' });
  });

  test('/invocations refuses when several deployments exist', async () => {
    assert.equal((await post(`${server.url}/api/v1/deployments`, { name: 'cancer-b', model: 'cancer', version: 1 })).status, 201);
    const res = await post(`${server.url}/invocations`, { instances: [rows[0]] });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /exactly one deployment, there are 2/);
    assert.equal((await fetch(`${server.url}/api/v1/deployments/cancer-b`, { method: 'DELETE' })).status, 204);
  });

  test("MLflow's scoring client: /ping, /version, NaN in dataframe_split, to_csv's index column, unknown keys, text/plain", async () => {
    const ping = await fetch(`${server.url}/ping`);
    assert.equal(ping.status, 200, 'one deployment: /invocations can score');
    assert.equal(await ping.text(), '\n');
    const version = await fetch(`${server.url}/version`);
    assert.equal(version.status, 200);
    assert.match(await version.text(), /^\d+\.\d+\.\d+/);

    const client = JSON.parse(readFileSync(new URL('../fixtures/mlflow/scoring-client.json', import.meta.url), 'utf8'));
    await register(server.platform.services.registry, 'xgb', XGB, ['model.json']);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { model: 'xgb', version: 1 })).status, 201);
    assert.equal((await fetch(`${server.url}/ping`)).status, 404, 'two deployments: /invocations cannot pick one');
    const url = `${server.url}/deployments/xgb/invocations`;
    const close = (got: number[]) => got.forEach((p, i) => assert.ok(Math.abs(p - client.expected_prob[i]) < 1e-6, `row ${i}: ${p} vs ${client.expected_prob[i]}`));

    // The bytes the client sends: bare NaN tokens for missing cells; XGBoost answers a plain list of probabilities.
    assert.ok(client.dataframe_split_json.includes('NaN'));
    const split = await post(url, client.dataframe_split_json);
    assert.equal(split.status, 200, JSON.stringify(split.body));
    close(split.body.predictions);
    assert.equal(split.headers.get('warning'), null);

    const csv = await post(url, client.csv_with_index, { 'content-type': 'text/csv' });
    assert.equal(csv.status, 200, JSON.stringify(csv.body));
    close(csv.body.predictions);
    assert.equal(csv.headers.get('warning'), `299 modelport "ignored column the model does not take: ''"`, "pandas' index column");

    const extra = await post(url, client.unknown_key_json);
    assert.equal(extra.status, 200, JSON.stringify(extra.body));
    close(extra.body.predictions);
    assert.equal(extra.headers.get('warning'), '299 modelport "ignored unknown field extra_key"');

    const records = await post(`${url}?format=records`, client.dataframe_split_json);
    assert.deepEqual(Object.keys(records.body.predictions[0]), ['margin', 'prediction']);

    const plain = await post(url, client.csv_with_index, { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal(plain.body.error_code, 'BAD_REQUEST');
    assert.match(plain.body.message, /only supports the following content types: Types: \['text\/csv', 'application\/json'\]\. Got 'text\/plain'/);
    assert.equal((await fetch(`${server.url}/api/v1/deployments/xgb`, { method: 'DELETE' })).status, 204);
  });
});

test('a replica that has not yet read its deployments answers /invocations "retry" (503), not "no deployment" (404)', async () => {
  await withTwoPostgresPlatforms(async (a, b) => {
    await register(a.services.registry, 'cancer', LOGREG, ['model.onnx']);
    await a.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const serving = b.services.serving;
    // Not started, the service reads the store when asked: it knows of no deployment, and says so.
    assert.throws(() => soleDeployment(serving), (err: Error) => err.name === 'NotFound');
    serving.start();
    assert.throws(() => soleDeployment(serving), (err: Error) => err.name === 'Unavailable' && /still reading its deployments/.test(err.message));
    assert.deepEqual(serving.notServing(), ['the deployments are not read from the store yet']);
    await serving.refresh();
    assert.equal(soleDeployment(serving), 'cancer');
  });
});
