/**
 * Serving with a feature lookup over real HTTP (V2 and MLflow scoring): the request carries
 * entity keys and request values; the model receives its inputs in signature order, from the
 * online store and the on-demand transform; the prediction log sees those inputs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.js';
import { loadFeatureFile } from '../../src/features/index.js';
import type { Batch } from '../../src/models/index.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { post, register } from '../serving/helpers.js';

const LOANS = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));

/** Echoes its inputs in signature order, so the test sees exactly what the model received. */
const MODEL = `
export const signature = {
  inputs: [
    { name: 'amount', dtype: 'float64', shape: [] },
    { name: 'utilization', dtype: 'float64', shape: [] },
    { name: 'amount_to_income', dtype: 'float64', shape: [] },
    { name: 'num_late_payments_90d', dtype: 'float64', shape: [] },
  ],
  outputs: [{ name: 'score', dtype: 'float64', shape: [4] }],
};
export function predict(batch) {
  const cols = signature.inputs.map((i) => batch.column(i.name).data);
  const out = new Float64Array(batch.rows * 4);
  for (let r = 0; r < batch.rows; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = cols[c][r];
  return { score: { dtype: 'float64', shape: [4], data: out } };
}
`;

describe('features: serving with a feature lookup', () => {
  let server: RunningServer;
  const logged: Batch[] = [];

  before(async () => {
    server = await testServer({}, new ManualClock(Date.parse('2025-08-31T12:00:00Z')));
    const { features, registry, serving } = server.platform.services;
    const spec = await loadFeatureFile(join(LOANS, 'features.yaml'));
    spec.feature_services!.push({ name: 'risk', features: ['customer_stats:utilization', 'customer_stats:num_late_payments_90d', 'loan_ratios:amount_to_income'] });
    await features.apply(spec);
    await features.materialize();
    const dir = tempDir('features-model');
    writeFileSync(join(dir, 'model.mjs'), MODEL);
    await register(registry, 'risk_model', dir);
    await serving.create({ name: 'risk', model: 'risk_model', version: 1 });
    serving.addPredictionTap({ record: (e: { inputs: Batch }) => void logged.push(e.inputs) } as never);
  });
  after(() => server.close());

  test('a bound deployment takes keys and request values; the model sees looked-up features in signature order', async () => {
    const { features } = server.platform.services;
    const bound = await features.bindDeployment('risk', 'risk');
    assert.deepEqual(bound.keys, { customer_id: 'int64' });
    const expected = await features.getOnlineFeatures({ featureService: 'risk', entities: { customer_id: [10022, 1] }, requestData: { amount: [5000, 2000], income: [50000, 40000] } });
    const util = expected.results[1].values;
    assert.equal(typeof util[0], 'number');

    const v2 = await post(`${server.url}/v2/models/risk/infer`, {
      inputs: [
        { name: 'customer_id', shape: [2], datatype: 'INT64', data: [10022, 1] },
        { name: 'amount', shape: [2], datatype: 'FP64', data: [5000, 2000] },
        { name: 'income', shape: [2], datatype: 'FP64', data: [50000, 40000] },
      ],
    });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    const out = v2.body.outputs[0].data as (number | null)[];
    assert.deepEqual(out.slice(0, 4), [5000, util[0], 0.1, expected.results[2].values[0]]);
    // Customer 1 is unknown: its float features reach the model as NaN (JSON null).
    assert.equal(out[4], 2000);
    assert.ok(out[5] === null || Number.isNaN(out[5]));
    assert.equal(out[6], 0.05);

    const last = logged.at(-1)!;
    assert.deepEqual([...last.columns.keys()], ['amount', 'utilization', 'amount_to_income', 'num_late_payments_90d'], 'the log holds what the model saw');
    assert.equal(last.column('utilization').data[0], util[0]);

    const mlflow = await post(`${server.url}/deployments/risk/invocations`, {
      dataframe_split: { columns: ['customer_id', 'amount', 'income'], data: [[10022, 5000, 50000]] },
    });
    assert.equal(mlflow.status, 200, JSON.stringify(mlflow.body));
    assert.deepEqual(JSON.stringify(mlflow.body).match(/5000,[^\]]*/)?.[0], `5000,${util[0]},0.1,${expected.results[2].values[0]}`);
  });

  test('a request without its keys is refused naming them; unbinding restores the model inputs', async () => {
    const { features } = server.platform.services;
    await features.bindDeployment('risk', 'risk');
    const missing = await post(`${server.url}/v2/models/risk/infer`, { inputs: [{ name: 'amount', shape: [1], datatype: 'FP64', data: [5000] }] });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.body), /customer_id/);
    await features.unbindDeployment('risk');
    const plain = await post(`${server.url}/v2/models/risk/infer`, {
      inputs: ['amount', 'utilization', 'amount_to_income', 'num_late_payments_90d'].map((name, i) => ({ name, shape: [1], datatype: 'FP64', data: [i + 1] })),
    });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.deepEqual(plain.body.outputs[0].data, [1, 2, 3, 4]);
    await assert.rejects(features.bindDeployment('risk', 'nope'), /unknown feature service "nope"/);
  });
});
