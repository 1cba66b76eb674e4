import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Batch, loadModel } from '../../src/models/index.js';
import { parseXgboost } from '../../src/models/xgboost/model.js';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { predictMargins, xgboostJsonText } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import { compileForest, accumulateMargins, fillBase } from '../../src/models/xgboost/forest.js';
import { breastCancer, FIXTURES } from './helpers.js';

const DIR = `${FIXTURES}xgboost/`;
const expected = JSON.parse(readFileSync(`${DIR}margins.json`, 'utf8')) as { xgboost_version: string; margins: Record<string, number[]> };

function inputBatch(): { batch: Batch; rows: number } {
  const [header, ...lines] = readFileSync(`${DIR}input.csv`, 'utf8').trim().split('\n');
  const names = header.split(',');
  const columns = names.map(() => new Float32Array(lines.length));
  lines.forEach((line, r) => line.split(',').forEach((v, j) => (columns[j][r] = v === '' ? NaN : Number(v))));
  return { batch: Batch.from(names.map((n, j) => [n, { dtype: 'float32', shape: [], data: columns[j] }] as const), lines.length), rows: lines.length };
}

describe('modelport-trained GBDTs in XGBoost 1.7', () => {
  test('the fixture margins were computed by XGBoost 1.7', () => {
    assert.match(expected.xgboost_version, /^1\.7\./);
  });

  for (const name of Object.keys(expected.margins)) {
    test(`${name}: the xgboost flavor predicts the margins XGBoost computed for the same file (1e-6)`, async () => {
      const { batch, rows } = inputBatch();
      const predictor = await loadModel(`${DIR}${name}.json`, { threads: 0 });
      try {
        const out = await predictor.predict(batch);
        const margin = out.columns.get('margin')!.data as Float32Array;
        const want = expected.margins[name];
        assert.equal(margin.length, want.length);
        assert.ok(want.length >= rows);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(margin[i] - want[i]) / Math.max(1, Math.abs(want[i])));
        assert.ok(worst <= 1e-6, `largest margin difference ${worst}`);
        // The input has missing values, so the learned default directions are exercised.
        assert.ok(Array.from(batch.columns.values()).some((c) => (c.data as Float32Array).some(Number.isNaN)));
      } finally {
        await predictor.close();
      }
    });
  }

  test('a model written as XGBoost JSON predicts what the trainer predicts in memory', async () => {
    const { train, test: held } = await breastCancer();
    const model = await trainGbdt(train, gbdtParams({ max_depth: 3, n_estimators: 15, objective: 'binary:logistic' }));
    const text = xgboostJsonText(model);
    const parsed = parseXgboost(new TextEncoder().encode(text));
    assert.equal(parsed.trees.length, 15);
    assert.deepEqual(parsed.featureNames, train.featureNames);
    const forest = compileForest(parsed);
    const fromFile = new Float32Array(held.rows);
    fillBase(forest, fromFile);
    accumulateMargins(forest, held.x, held.numFeature, 0, held.rows, fromFile);
    assert.deepEqual(Array.from(predictMargins(model, held)), Array.from(fromFile));
    // XGBoost's parser tells integers from numbers: every split condition is written with a decimal point.
    assert.doesNotMatch(text, /"split_conditions":\[[^\]]*(?:^|[,[])-?\d+(?=[,\]])/);
  });
});
