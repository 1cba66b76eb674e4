import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rocAuc, multiLogLoss, squaredAndAbsoluteError } from '../../src/stats/metrics.js';
import { featureImportance, trainGbdt } from '../../src/training/gbdt/booster.js';
import { predictGbdt } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import { ModelportError } from '../../src/core/errors.js';
import { mulberry32 } from '../../src/core/random.js';
import { breastCancer, breastCancerDerived, loans, positives, reference } from './helpers.js';

const ref = reference();

async function heldOutAuc(name: string, data: Awaited<ReturnType<typeof loans>>): Promise<number> {
  const model = await trainGbdt(data.train, gbdtParams(ref.gbdt[name].params));
  return rocAuc(predictGbdt(model, data.test), positives(data.test)) as number;
}

describe('GBDT accuracy against XGBoost 1.7 hist with the same parameters', () => {
  // The trees are XGBoost's (xgboost-trees.test.ts) and the leaf values differ at most in their
  // last bits, so the held-out figures agree far inside the 0.005.
  test('breast cancer: held-out ROC AUC within 1e-4', async () => {
    const auc = await heldOutAuc('breast_cancer', await breastCancer());
    assert.ok(Math.abs(auc - ref.gbdt.breast_cancer.auc!) <= 1e-4, `${auc} vs XGBoost ${ref.gbdt.breast_cancer.auc}`);
  });

  test('loans, depthwise and lossguide: held-out ROC AUC within 1e-4', async () => {
    const data = await loans();
    for (const name of ['loans', 'loans_lossguide']) {
      const auc = await heldOutAuc(name, data);
      assert.ok(Math.abs(auc - ref.gbdt[name].auc!) <= 1e-4, `${name}: ${auc} vs XGBoost ${ref.gbdt[name].auc}`);
    }
  });

  test('multi:softprob and reg:squarederror: held-out log loss and RMSE within 1e-4 (relative) of XGBoost', async () => {
    const { mTrain, mTest, rTrain, rTest } = await breastCancerDerived(ref.gbdt.breast_cancer_multiclass.dropped!);
    const multi = await trainGbdt(mTrain, gbdtParams({ objective: 'multi:softprob', max_depth: 3, eta: 0.1, n_estimators: 60 }));
    const loss = multiLogLoss(predictGbdt(multi, mTest), mTest.labels, 3);
    assert.ok(Math.abs(loss - ref.gbdt.breast_cancer_multiclass.mlogloss!) < 1e-4, `mlogloss ${loss} vs ${ref.gbdt.breast_cancer_multiclass.mlogloss}`);

    const reg = await trainGbdt(rTrain, gbdtParams({ objective: 'reg:squarederror', max_depth: 4, eta: 0.1, n_estimators: 100 }));
    const { rmse } = squaredAndAbsoluteError(rTest.labels, predictGbdt(reg, rTest));
    assert.ok(Math.abs(rmse - ref.gbdt.breast_cancer_regression.rmse!) / ref.gbdt.breast_cancer_regression.rmse! < 1e-4, `rmse ${rmse} vs ${ref.gbdt.breast_cancer_regression.rmse}`);
  });
});

describe('GBDT behaviour', () => {
  test('early stopping keeps the best round and stops after early_stopping_rounds without improvement', async () => {
    const { train, test: held } = await breastCancer();
    const model = await trainGbdt(train, gbdtParams({ eta: 0.5, n_estimators: 500, early_stopping_rounds: 5, eval_metric: 'logloss' }), { valid: held });
    const curve = model.curve.validation.logloss;
    assert.ok(model.trees.length < 500);
    assert.equal(model.trees.length, model.bestIteration! + 6);
    assert.equal(Math.min(...curve), curve[model.bestIteration!]);
    assert.equal(model.bestScore, curve[model.bestIteration!]);
  });

  test('missing values learn the direction that fits them', async () => {
    // Feature 0 decides the label; where it is missing the label is 1, so missing must go with the high side.
    const rows = 400;
    const x = new Float32Array(rows);
    const labels = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      if (i % 4 === 0) {
        x[i] = NaN;
        labels[i] = 1;
      } else {
        x[i] = i / rows;
        labels[i] = x[i] > 0.5 ? 1 : 0;
      }
    }
    const model = await trainGbdt({ rows, numFeature: 1, featureNames: ['a'], x, labels }, gbdtParams({ max_depth: 1, n_estimators: 1 }));
    const tree = model.trees[0];
    const goesLeft = tree.defaultLeft[0];
    const highSideLeft = false;
    assert.equal(goesLeft, highSideLeft);
    const p = predictGbdt(model, { rows: 2, numFeature: 1, featureNames: ['a'], x: Float32Array.of(NaN, 0.1) });
    assert.ok(p[0] > 0.5 && p[1] < 0.5);
  });

  test('scale_pos_weight raises the predicted share of the positive class', async () => {
    const { train, test: held } = await breastCancer();
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const plain = await trainGbdt(train, gbdtParams({ max_depth: 2, n_estimators: 10 }));
    const weighted = await trainGbdt(train, gbdtParams({ max_depth: 2, n_estimators: 10, scale_pos_weight: 5 }));
    assert.ok(mean(predictGbdt(weighted, held)) > mean(predictGbdt(plain, held)) + 0.02);
    // Class weights of 1 and 5 weigh the rows (and, as XGBoost's sample weights do, the cuts) exactly as sample weights of 1 and 5 do.
    const byClass = await trainGbdt(train, gbdtParams({ max_depth: 2, n_estimators: 10 }), { classWeights: [1, 5] });
    const bySample = await trainGbdt({ ...train, weights: Float64Array.from(train.labels, (y) => (y === 1 ? 5 : 1)) }, gbdtParams({ max_depth: 2, n_estimators: 10 }));
    assert.deepEqual(byClass.trees, bySample.trees);
    assert.ok(mean(predictGbdt(byClass, held)) > mean(predictGbdt(plain, held)) + 0.02);
  });

  test('feature importance: weight counts splits, gain and cover are averages, totals agree', async () => {
    const { train } = await breastCancer();
    const model = await trainGbdt(train, gbdtParams({ max_depth: 3, n_estimators: 20 }));
    const weight = featureImportance(model, 'weight');
    const splits = model.trees.reduce((n, t) => n + t.left.filter((l) => l !== -1).length, 0);
    assert.equal(Object.values(weight).reduce((a, b) => a + b, 0), splits);
    const gain = featureImportance(model, 'gain');
    const total = featureImportance(model, 'total_gain');
    for (const f of Object.keys(weight)) assert.ok(Math.abs(gain[f] * weight[f] - total[f]) < 1e-9 * total[f]);
    const best = Object.entries(total).sort((a, b) => b[1] - a[1])[0][0];
    assert.match(best, /worst|concave|perimeter|radius|area/);
    assert.ok(Object.values(featureImportance(model, 'cover')).every((c) => c > 0));
  });

  test('max_leaves limits a lossguide tree and colsample_bytree limits the features of a tree', async () => {
    const { train } = await breastCancer();
    const model = await trainGbdt(train, gbdtParams({ grow_policy: 'lossguide', max_depth: 0, max_leaves: 5, n_estimators: 5, colsample_bytree: 0.2, seed: 3 }));
    for (const t of model.trees) {
      assert.ok(t.left.filter((l) => l === -1).length <= 5);
      assert.ok(new Set(t.splitIndex.filter((_, i) => t.left[i] !== -1)).size <= Math.round(0.2 * train.numFeature));
    }
  });

  test('a subsampled tree is the tree of the same fit on just the sampled rows', async () => {
    // Few distinct values, all in the sample too, so both fits cut the features alike.
    const rows = 3000;
    const features = 6;
    const rand = mulberry32(5);
    const x = Float32Array.from({ length: rows * features }, () => (rand() < 0.05 ? NaN : Math.floor(rand() * 10)));
    const labels = Float64Array.from({ length: rows }, (_, r) => (x[r * features] + (x[r * features + 1] || 0) * 0.5 + rand() * 4 > 8 ? 1 : 0));
    const data = { rows, numFeature: features, featureNames: Array.from({ length: features }, (_, f) => `f${f}`), x, labels };
    const params = { max_depth: 4, n_estimators: 1, subsample: 0.6, seed: 9 };
    // The booster draws the first round's sample as rand() < subsample for each row in turn.
    const draw = mulberry32(9);
    const kept = Array.from({ length: rows }, (_, r) => r).filter(() => draw() < 0.6);
    const sampled = { ...data, rows: kept.length, x: Float32Array.from(kept.flatMap((r) => Array.from(x.subarray(r * features, (r + 1) * features)))), labels: Float64Array.from(kept, (r) => labels[r]) };
    const sub = await trainGbdt(data, gbdtParams(params));
    const full = await trainGbdt(sampled, gbdtParams({ ...params, subsample: 1 }));
    assert.ok(sub.trees[0].left.length >= 15);
    assert.deepEqual(sub.trees[0], full.trees[0]);
  });

  test('parameters take XGBoost names, aliases and defaults; bad ones are refused by name', () => {
    const p = gbdtParams({ learning_rate: '0.05', reg_lambda: 2, max_depth: '3' });
    assert.equal(p.eta, 0.05);
    assert.equal(p.lambda, 2);
    assert.equal(p.max_depth, 3);
    assert.equal(p.n_estimators, 100);
    assert.equal(p.min_child_weight, 1);
    assert.equal(p.max_bin, 256);
    assert.deepEqual(p.eval_metric, ['logloss']);
    assert.equal(gbdtParams({ objective: 'count:poisson' }).max_delta_step, 0.7);
    const refused = (params: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(() => gbdtParams(params), (e: unknown) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message));
    refused({ max_dept: 3 }, /"max_dept" is not a GBDT parameter/);
    refused({ eta: 0 }, /"eta": 0 is out of range/);
    refused({ subsample: 1.5 }, /"subsample": 1.5 is out of range/);
    refused({ max_bin: 1000 }, /"max_bin": 1000 is out of range/);
    refused({ max_depth: 2.5 }, /"max_depth": 2.5 is not a whole number/);
    refused({ eta: 'fast' }, /"eta": "fast" is not a number/);
    refused({ objective: 'reg:tweedie' }, /"objective": "reg:tweedie" is not one of/);
    refused({ eta: 0.1, learning_rate: 0.2 }, /given twice/);
  });

  test('a label the objective cannot take is refused by its row before training, for every objective', async () => {
    const data = (labels: number[]) => ({ rows: labels.length, numFeature: 1, featureNames: ['x'], x: Float32Array.from(labels, (_, i) => i), labels: Float64Array.from(labels) });
    const refused = (objective: Record<string, unknown>, labels: number[], pattern: RegExp) =>
      assert.rejects(trainGbdt(data(labels), gbdtParams({ n_estimators: 2, ...objective })), (e: unknown) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message));
    await refused({ objective: 'binary:logistic' }, [0, 1, 1, 2, 0], /training label of row 4 is 2; binary:logistic needs 0 or 1/);
    await refused({ objective: 'multi:softprob', num_class: 3 }, [0, 1, 2, 1.5, 3], /training label of row 4 is 1.5; multi:softprob needs a class index 0..2/);
    await refused({ objective: 'count:poisson' }, [0, 3, -1, 2], /training label of row 3 is -1; count:poisson needs a count ≥ 0/);
    await refused({ objective: 'reg:squarederror' }, [0.5, NaN, 2], /training label of row 2 is NaN; reg:squarederror needs a finite number/);
    await trainGbdt(data([0, 1, 1, 0, 1, 0]), gbdtParams({ n_estimators: 2 }));
  });
});
