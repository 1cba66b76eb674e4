import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Batch, loadModel } from '../../src/models/index.js';
import { rocAuc } from '../../src/stats/metrics.js';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { predictGbdt, predictMargins, xgboostJsonText } from '../../src/training/gbdt/export.js';
import { fit, resolveParams } from '../../src/training/fit.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import { takeRows } from '../../src/training/prepare.js';
import { CATEGORICAL_MODELS, categoricalTable } from './categorical-data.js';
import { FIXTURES } from './helpers.js';

const DIR = `${FIXTURES}xgboost-categorical/`;
const expected = JSON.parse(readFileSync(`${DIR}margins.json`, 'utf8')) as { xgboost_version: string; margins: Record<string, number[]> };

function worstDiff(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return worst;
}

describe('categorical features split as sets of categories', () => {
  test('the fixture margins were computed by XGBoost 1.7', () => {
    assert.match(expected.xgboost_version, /^1\.7\./);
    assert.deepEqual(Object.keys(expected.margins).sort(), Object.keys(CATEGORICAL_MODELS).sort());
  });

  for (const [name, params] of Object.entries(CATEGORICAL_MODELS)) {
    test(`${name}: trained now, the model predicts the margins XGBoost 1.7 computed from its file (1e-6), unseen categories and missing values included`, async () => {
      const model = await trainGbdt(categoricalTable(3000, 1, params.objective === 'reg:squarederror'), gbdtParams(params));
      assert.equal(xgboostJsonText(model), readFileSync(`${DIR}${name}.json`, 'utf8'), 'the trainer writes the committed file');
      const input = categoricalTable(300, 2, false, true);
      assert.ok(worstDiff(predictMargins(model, input), expected.margins[name]) <= 1e-6);
      const sets = model.trees.flatMap((t) => [...t.categories.values()]);
      assert.ok(sets.length > 0, 'some splits are categorical');
      for (const s of sets) assert.ok(s.length <= gbdtParams(params).max_cat_threshold);
    });

    test(`${name}: the xgboost flavor serves the file with XGBoost's margins`, async () => {
      const [header, ...lines] = readFileSync(`${DIR}input.csv`, 'utf8').trim().split('\n');
      const names = header.split(',');
      const columns = names.map(() => new Float32Array(lines.length));
      lines.forEach((line, r) => line.split(',').forEach((v, j) => (columns[j][r] = v === '' ? NaN : Number(v))));
      assert.ok(columns[0].some((v) => v >= 12), 'the input has categories training never saw');
      const batch = Batch.from(names.map((n, j) => [n, { dtype: 'float32', shape: [], data: columns[j] }] as const), lines.length);
      const predictor = await loadModel(`${DIR}${name}.json`, { threads: 0 });
      try {
        const out = await predictor.predict(batch);
        assert.ok(worstDiff(out.columns.get('margin')!.data as Float32Array, expected.margins[name]) <= 1e-6);
      } finally {
        await predictor.close();
      }
    });
  }

  test('the root splits the label-bearing set of cities from the rest; XGBoost reads the file with "c" feature types', async () => {
    const model = await trainGbdt(categoricalTable(3000, 1, false), gbdtParams({ max_depth: 2, n_estimators: 1 }));
    assert.equal(model.trees[0].splitType[0], 1);
    assert.deepEqual(model.trees[0].categories.get(0), [1, 4, 7, 9, 11]);
    const json = JSON.parse(xgboostJsonText(model).replace(/NaN/g, 'null')) as { learner: { feature_types: string[] } };
    assert.deepEqual(json.learner.feature_types, ['c', 'c', 'float']);
  });

  test('the validation curve, computed on bins, is the metric of what the model predicts (unseen categories go left)', async () => {
    const valid = categoricalTable(300, 2, false, true);
    const model = await trainGbdt(categoricalTable(3000, 1, false), gbdtParams({ max_depth: 4, n_estimators: 8, eval_metric: 'auc' }), { valid });
    const auc = rocAuc(predictGbdt(model, valid), Array.from(valid.labels, (y) => y === 1)) as number;
    assert.ok(Math.abs(model.curve.validation.auc.at(-1)! - auc) < 1e-9, `${model.curve.validation.auc.at(-1)} vs ${auc}`);
  });

  test('with fewer categories than max_cat_to_onehot a split sends one category right', async () => {
    const data = categoricalTable(3000, 1, false);
    data.categorical = [false, true, false];
    const model = await trainGbdt(data, gbdtParams({ max_depth: 3, n_estimators: 5 }));
    const sets = model.trees.flatMap((t) => [...t.categories.values()]);
    assert.ok(sets.length > 0);
    for (const s of sets) assert.equal(s.length, 1);
  });

  test('native categories beat the same codes read as numbers on held-out AUC', async () => {
    const train = categoricalTable(3000, 1, false);
    const held = categoricalTable(2000, 3, false);
    const params = gbdtParams({ max_depth: 2, n_estimators: 10 });
    const auc = async (categorical: boolean) => {
      const model = await trainGbdt({ ...train, categorical: categorical ? train.categorical : undefined }, params);
      return rocAuc(predictGbdt(model, held), Array.from(held.labels, (y) => y === 1)) as number;
    };
    const native = await auc(true);
    const numeric = await auc(false);
    assert.ok(native > numeric + 0.01, `native ${native}, numeric ${numeric}`);
  });

  test('row subsets (folds, hold-outs) keep the categorical marks; a linear model refuses categorical features', async () => {
    const data = categoricalTable(200, 1, false);
    assert.deepEqual(takeRows(data, [0, 5, 9]).categorical, [true, true, false]);
    await assert.rejects(fit(resolveParams('linear', {}), data), /a linear model cannot split categorical features \(city, plan\); one-hot encode them/);
  });

  test('a category that is not a whole number from 0 to 2^24 − 1 is refused, naming the feature', async () => {
    const data = categoricalTable(100, 1, false);
    data.x[3] = 2.5;
    await assert.rejects(trainGbdt(data, gbdtParams({})), /categorical feature "city" holds 2\.5/);
    data.x[3] = -1;
    await assert.rejects(trainGbdt(data, gbdtParams({})), /categorical feature "city" holds -1/);
  });
});
