import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { holdOut, stratifiedKFold, timeSeriesSplit } from '../../src/training/splits.js';
import { evaluatePredictions } from '../../src/training/evaluate.js';
import { crossValidate, resolveParams } from '../../src/training/fit.js';
import { breastCancer } from './helpers.js';

describe('splits', () => {
  const labels = Float64Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? 1 : 0));

  test('stratified k-fold: disjoint folds covering every row, each class spread evenly', () => {
    const folds = stratifiedKFold(labels, 5, 3);
    const seen = new Int32Array(100);
    for (const f of folds) {
      for (const r of f.valid) seen[r]++;
      assert.equal(f.train.length + f.valid.length, 100);
      assert.equal(Array.from(f.valid).filter((r) => labels[r] === 1).length, 2);
    }
    assert.ok(seen.every((c) => c === 1));
    assert.throws(() => stratifiedKFold(labels, 11), /smallest class has 10 rows, too few for 11 stratified folds/);
  });

  test("time-series split follows scikit-learn's TimeSeriesSplit", () => {
    const splits = timeSeriesSplit(10, 3);
    // sklearn: train [0..3] test [4,5]; train [0..5] test [6,7]; train [0..7] test [8,9].
    assert.deepEqual(splits.map((s) => [s.train.length, Array.from(s.valid)]), [[4, [4, 5]], [6, [6, 7]], [8, [8, 9]]]);
    assert.throws(() => timeSeriesSplit(3, 5), /3 rows are too few for 5 time-series splits/);
  });

  test('hold-out: tail keeps time order, stratified keeps the class share', () => {
    const tail = holdOut(labels, 0.2, { mode: 'tail' });
    assert.deepEqual(Array.from(tail.valid), Array.from({ length: 20 }, (_, i) => 80 + i));
    const strat = holdOut(labels, 0.2, { stratify: true, seed: 1 });
    assert.equal(Array.from(strat.valid).filter((r) => labels[r] === 1).length, 2);
    assert.throws(() => holdOut(Float64Array.of(0, 1), 0.5), /2 rows are too few to hold out 0.5/);
  });

  test('evaluation helpers give scikit-learn values on a small case', () => {
    const m = evaluatePredictions('binary', Float64Array.of(0.1, 0.4, 0.35, 0.8), Float64Array.of(0, 0, 1, 1));
    // scikit-learn 1.2: roc_auc 0.75, average_precision 0.8333, log_loss 0.472288, f1 0.6667.
    assert.ok(Math.abs(m.roc_auc - 0.75) < 1e-12);
    assert.ok(Math.abs(m.pr_auc - 0.8333333333333333) < 1e-12);
    assert.ok(Math.abs(m.log_loss - 0.47228795380917615) < 1e-12);
    assert.equal(m.accuracy, 0.75);
    assert.ok(Math.abs(m.f1 - 2 / 3) < 1e-12);
    const r = evaluatePredictions('regression', Float64Array.of(2.5, 0, 2, 8), Float64Array.of(3, -0.5, 2, 7));
    // sklearn: rmse 0.6124, mae 0.5, r2 0.9486.
    assert.ok(Math.abs(r.rmse - 0.6123724356957945) < 1e-12);
    assert.equal(r.mae, 0.5);
    assert.ok(Math.abs(r.r2 - 0.9486081370449679) < 1e-12);
  });

  test('cross-validation fits each fold and averages its metrics', async () => {
    const { train } = await breastCancer();
    const folds = stratifiedKFold(train.labels, 3, 1);
    const cv = await crossValidate(resolveParams('linear', { C: 1 }), train, folds);
    assert.equal(cv.folds.length, 3);
    assert.ok(cv.folds.every((f) => f.roc_auc > 0.97));
    assert.ok(Math.abs(cv.mean.roc_auc - cv.folds.reduce((s, f) => s + f.roc_auc, 0) / 3) < 1e-12);
  });
});
