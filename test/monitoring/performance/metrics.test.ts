/** Reference values from scikit-learn 1.2.1 (accuracy_score, precision/recall/f1_score, roc_auc_score, log_loss, regression metrics). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classificationMetrics,
  regressionMetrics,
  rocAuc,
  expectedCalibrationError,
  evaluate,
  performanceOverTime,
  type MetricResult,
  type ClassifiedRow,
  type JoinedRow,
} from '../../../src/monitoring/performance/index.js';

const value = (ms: MetricResult[], name: string) => {
  const m = ms.find((x) => x.name === name);
  assert.ok(m?.computed, `${name} should be computed, got ${JSON.stringify(m)}`);
  return m.value;
};
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

const Y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0];
const P = [0.9, 0.2, 0.6, 0.4, 0.4, 0.1, 0.8, 0.7, 0.55, 0.3, 0.05, 0.95, 0.5, 0.35, 0.65, 0.4, 0.2, 0.85, 0.6, 0.15];
const binaryRows: ClassifiedRow[] = Y.map((y, i) => ({ label: String(y), predicted: P[i] >= 0.5 ? '1' : '0', probabilities: new Map([['1', P[i]]]) }));

describe('classification metrics', () => {
  test('binary: scikit-learn values, including ROC AUC with tied scores', () => {
    const m = classificationMetrics(binaryRows);
    close(value(m, 'accuracy'), 0.7);
    close(value(m, 'precision'), 0.7);
    close(value(m, 'recall'), 0.7);
    close(value(m, 'f1'), 0.7);
    close(value(m, 'roc_auc'), 0.835);
    close(value(m, 'log_loss'), 0.48193975991678634);
    close(value(m, 'ece'), 0.14749999999999996);
  });

  test('multi-class: macro averages and log loss over probability vectors', () => {
    const labels = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'a', 'c', 'b'];
    const probs = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4], [0.2, 0.7, 0.1]];
    const rows = labels.map((label, i) => {
      const p = probs[i];
      const best = p.indexOf(Math.max(...p));
      return { label, predicted: ['a', 'b', 'c'][best], probabilities: new Map(['a', 'b', 'c'].map((c, k) => [c, p[k]])) };
    });
    const m = classificationMetrics(rows);
    close(value(m, 'accuracy'), 0.7);
    close(value(m, 'precision'), 0.7222222222222222);
    close(value(m, 'recall'), 0.7222222222222222);
    close(value(m, 'f1'), 0.7142857142857144);
    close(value(m, 'log_loss'), 0.7402644563449774);
    close(value(m, 'ece'), 0.32);
    const auc = m.find((x) => x.name === 'roc_auc');
    assert.deepEqual(auc, { name: 'roc_auc', computed: false, reason: 'ROC AUC is reported for binary problems only (3 classes seen)' });
  });

  test('ECE by hand: two bins, |acc − conf| weighted by share', () => {
    // Bin (0.5, 0.6]: confidences 0.55, 0.55, both right → |1 − 0.55| = 0.45 over 2 rows.
    // Bin (0.9, 1.0]: confidences 0.95, 0.95, one right → |0.5 − 0.95| = 0.45 over 2 rows.
    close(expectedCalibrationError([0.55, 0.55, 0.95, 0.95], [true, true, true, false]), (0.9 + 0.9) / 4);
  });

  test('ROC AUC by hand with ties and degenerate labels', () => {
    close(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]) as number, 0.75);
    close(rocAuc([0.5, 0.5], [false, true]) as number, 0.5);
    assert.equal(rocAuc([0.2, 0.3], [true, true]), 'only one class (no negatives) among the labels');
  });

  test('never NaN: empty windows, missing probabilities, absent positive class', () => {
    for (const m of classificationMetrics([])) assert.deepEqual(m, { name: m.name, computed: false, reason: 'no labelled predictions in this window' });
    const noProbs = classificationMetrics([{ label: '1', predicted: '1' }, { label: '0', predicted: '1' }]);
    close(value(noProbs, 'precision'), 0.5);
    assert.match((noProbs.find((m) => m.name === 'log_loss') as { reason: string }).reason, /no probabilities/);
    const allNeg = classificationMetrics([{ label: '0', predicted: '0' }]);
    assert.deepEqual(allNeg.find((m) => m.name === 'recall'), { name: 'recall', computed: false, reason: 'positive label "1" does not occur (classes seen: 0); set positiveLabel' });
    const posLabel = classificationMetrics([{ label: 'yes', predicted: 'no' }, { label: 'no', predicted: 'no' }], { positiveLabel: 'yes' });
    close(value(posLabel, 'recall'), 0);
    assert.deepEqual(posLabel.find((m) => m.name === 'precision'), { name: 'precision', computed: false, reason: 'no row was predicted positive' });
  });
});

describe('regression metrics', () => {
  test('scikit-learn values', () => {
    const m = regressionMetrics([3.0, -0.5, 2.0, 7.0, 4.2], [2.5, 0.0, 2.0, 8.0, 3.9]);
    close(value(m, 'mae'), 0.4600000000000001);
    close(value(m, 'rmse'), 0.5639148871948674);
    close(value(m, 'mape'), 0.2761904761904762);
    close(value(m, 'r2'), 0.9480256276150627);
  });

  test('constant targets, zero targets and single rows say why instead of NaN', () => {
    const m = regressionMetrics([2, 2], [1, 3]);
    assert.deepEqual(m.find((x) => x.name === 'r2'), { name: 'r2', computed: false, reason: 'the actual values are constant (R² is undefined)' });
    const z = regressionMetrics([0, 0], [1, 3]);
    assert.deepEqual(z.find((x) => x.name === 'mape'), { name: 'mape', computed: false, reason: 'every actual value is 0' });
    close(value(z, 'mae'), 2);
    assert.match((regressionMetrics([1], [1]).find((x) => x.name === 'r2') as { reason: string }).reason, /at least two/);
  });
});

const joined = (outputs: Record<string, unknown>, label: string | null, value: number | null, timeMs = 0, i = 0): JoinedRow => ({ requestId: `r${i}`, row: 0, timeMs, outputs, label, value });

describe('reading logged outputs', () => {
  test('a probability column of fractions is a score (XGBoost binary:logistic)', () => {
    const rows = Y.map((y, i) => joined({ margin: 0, prediction: P[i] }, String(y), null, 0, i));
    const r = evaluate(rows);
    assert.equal(r.task, 'classification');
    assert.equal(r.rows, 20);
    close(value(r.metrics, 'roc_auc'), 0.835);
    close(value(r.metrics, 'accuracy'), 0.7);
  });

  test('label + probabilities vector (ONNX classifiers), with class names', () => {
    const rows = [
      joined({ label: 'cat', probabilities: [0.8, 0.2] }, 'cat', null),
      joined({ label: 'dog', probabilities: [0.3, 0.7] }, 'cat', null),
      joined({ label: 'dog', probabilities: [0.1, 0.9] }, 'dog', null),
    ];
    const r = evaluate(rows, { classes: ['cat', 'dog'], positiveLabel: 'dog' });
    close(value(r.metrics, 'accuracy'), 2 / 3);
    close(value(r.metrics, 'roc_auc'), 1);
    close(value(r.metrics, 'log_loss'), -(Math.log(0.8) + Math.log(0.3) + Math.log(0.9)) / 3);
  });

  test('regression from values; an unknown column names the real ones', () => {
    const rows = [joined({ y: 2.5 }, null, 3), joined({ y: 0 }, null, -0.5), joined({ y: 2 }, null, 2)];
    const r = evaluate(rows);
    assert.equal(r.task, 'regression');
    close(value(r.metrics, 'mae'), (0.5 + 0.5 + 0) / 3);
    assert.throws(() => evaluate(rows, { predictionColumn: 'nope' }), /predictionColumn: the logged outputs have no column "nope" \(they have "y"\)/);
    const bad = evaluate([joined({ y: 'high' }, null, 1)]);
    assert.deepEqual(bad.metrics[0], { name: 'mae', computed: false, reason: 'request r0 row 0: predictionColumn "y" holds "high", not a finite number' });
  });

  test('windows over time: rows land in their window, empty windows say so', () => {
    const rows = [joined({ label: 1 }, '1', null, 10, 1), joined({ label: 0 }, '1', null, 20, 2), joined({ label: 1 }, '1', null, 250, 3)];
    const w = performanceOverTime(rows, 0, 300, 100);
    assert.deepEqual(w.map((x) => [x.start, x.end, x.rows]), [[0, 100, 2], [100, 200, 0], [200, 300, 1]]);
    close(value(w[0].metrics, 'accuracy'), 0.5);
    assert.equal(w[1].metrics[0].computed, false);
    assert.throws(() => performanceOverTime(rows, 0, 300, 0), /window must be a positive duration/);
    assert.throws(() => performanceOverTime(rows, 300, 0, 10), /must be after from/);
  });
});
