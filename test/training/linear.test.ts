import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batch, loadModel } from '../../src/models/index.js';
import { rocAuc, multiLogLoss } from '../../src/stats/metrics.js';
import { transformMargins } from '../../src/training/gbdt/objectives.js';
import { linearMargins, linearToOnnx, trainLinear } from '../../src/training/linear/model.js';
import { linearParams } from '../../src/training/linear/params.js';
import { ModelportError } from '../../src/core/errors.js';
import { breastCancer, loans, positives, reference } from './helpers.js';

const ref = reference().linear;

describe('logistic regression against scikit-learn LogisticRegression (standardised, same C)', () => {
  test('L2 on breast cancer and loans: held-out ROC AUC within 0.002, same intercept', async () => {
    for (const [name, data] of [['breast_cancer', await breastCancer()], ['loans', await loans()]] as const) {
      for (const C of [1, 0.1]) {
        const r = ref[`${name}_l2_C${C.toFixed(1)}`];
        const model = trainLinear(data.train, linearParams({ C }));
        const p = transformMargins('binary:logistic', linearMargins(model, data.test), 1);
        const auc = rocAuc(p, positives(data.test)) as number;
        assert.ok(Math.abs(auc - r.auc!) <= 0.002, `${name} C=${C}: AUC ${auc} vs ${r.auc}`);
        assert.ok(Math.abs(model.intercept[0] - r.intercept!) < 0.01, `${name} C=${C}: intercept ${model.intercept[0]} vs ${r.intercept}`);
      }
    }
  });

  test('elastic net: AUC within 0.002 and coefficients set exactly to zero', async () => {
    const data = await breastCancer();
    const r = ref['breast_cancer_elasticnet_C0.1'];
    const model = trainLinear(data.train, linearParams({ C: 0.1, penalty: 'elasticnet', l1_ratio: 0.5 }));
    const auc = rocAuc(transformMargins('binary:logistic', linearMargins(model, data.test), 1), positives(data.test)) as number;
    assert.ok(Math.abs(auc - r.auc!) <= 0.002, `AUC ${auc} vs ${r.auc}`);
    const zeros = model.coef.filter((c) => c === 0).length;
    assert.ok(Math.abs(zeros - r.zero_coefficients!) <= 2, `${zeros} zero coefficients vs scikit-learn's ${r.zero_coefficients}`);
  });

  test('softmax multi-class: log loss near scikit-learn multinomial', async () => {
    const { train, test: held } = await breastCancer();
    const dropped = reference().gbdt.breast_cancer_multiclass.dropped!;
    const area = train.featureNames.indexOf('mean_area');
    const keep = train.featureNames.map((f, i) => [f, i] as const).filter(([f]) => !dropped.includes(f));
    const sorted = Array.from({ length: train.rows }, (_, r) => train.x[r * train.numFeature + area]).sort((a, b) => a - b);
    const q = (t: number) => {
      const pos = t * (sorted.length - 1);
      const lo = Math.floor(pos);
      return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
    };
    const [e1, e2] = [q(1 / 3), q(2 / 3)];
    const reshape = (d: typeof train) => {
      const x = new Float32Array(d.rows * keep.length);
      const labels = new Float64Array(d.rows);
      for (let r = 0; r < d.rows; r++) {
        keep.forEach(([, i], j) => (x[r * keep.length + j] = d.x[r * d.numFeature + i]));
        const a = d.x[r * d.numFeature + area];
        labels[r] = a >= e2 ? 2 : a >= e1 ? 1 : 0;
      }
      return { rows: d.rows, numFeature: keep.length, featureNames: keep.map(([f]) => f), x, labels };
    };
    const mTrain = reshape(train);
    const mTest = reshape(held);
    const model = trainLinear(mTrain, linearParams({ objective: 'multi:softprob', C: 1 }));
    const loss = multiLogLoss(transformMargins('multi:softprob', linearMargins(model, mTest), 3), mTest.labels, 3);
    const r = ref['breast_cancer_multiclass_C1.0'];
    assert.ok(Math.abs(loss - r.mlogloss!) < 0.02, `mlogloss ${loss} vs ${r.mlogloss}`);
  });

  test('the ONNX export runs in onnxruntime and predicts what the model predicts, missing values included', async () => {
    const { train, test: held } = await breastCancer();
    const model = trainLinear(train, linearParams({ C: 1 }));
    const dir = mkdtempSync(join(tmpdir(), 'mp-linear-'));
    writeFileSync(join(dir, 'model.onnx'), linearToOnnx(model));
    held.x[0] = NaN;
    held.x[5] = NaN;
    const predictor = await loadModel(join(dir, 'model.onnx'));
    try {
      assert.deepEqual(predictor.signature.inputs.map((s) => s.name), train.featureNames);
      const batch = Batch.from(
        held.featureNames.map((name, f) => [name, { dtype: 'float32', shape: [], data: Float32Array.from({ length: held.rows }, (_, r) => held.x[r * held.numFeature + f]) }] as const),
        held.rows,
      );
      const out = await predictor.predict(batch);
      const margin = out.columns.get('margin')!.data as Float32Array;
      const prob = out.columns.get('prediction')!.data as Float32Array;
      const want = linearMargins(model, held);
      for (let i = 0; i < held.rows; i++) {
        assert.ok(Math.abs(margin[i] - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `row ${i}: ${margin[i]} vs ${want[i]}`);
        assert.ok(Math.abs(prob[i] - 1 / (1 + Math.exp(-want[i]))) < 1e-5);
      }
    } finally {
      await predictor.close();
    }
  });

  test('bad parameters are refused by name', () => {
    const refused = (params: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(() => linearParams(params), (e: unknown) => e instanceof ModelportError && pattern.test(e.message));
    refused({ C: 0 }, /"C": 0 is out of range/);
    refused({ penalty: 'l3' }, /"penalty": "l3" is not one of/);
    refused({ l1_ratio: 2 }, /"l1_ratio": 2 is out of range/);
    refused({ eta: 0.1 }, /"eta" is not a linear-model parameter/);
    refused({ objective: 'count:poisson' }, /not one of .* for a linear model/);
  });
});
