import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Batch, loadModel, parseXgboost, toBatch, xgboostPredictor, type Predictor } from '../../src/models/index.js';
import { assertClose, fixture, readCsv, readJson } from './helpers.js';

interface BreastCancerExpected {
  feature_names: string[];
  inputs: Record<string, { margin: number[]; prob: number[] }>;
}

interface CaseExpected {
  objective: string;
  num_rows: number;
  num_features: number;
  rows: (number | null)[][];
  margin: number[];
  prediction: number[];
  best_iteration?: number;
  all_trees?: { margin: number[]; prediction: number[] };
}

const MARGIN_REL = 1e-6;
const PROB_REL = 1e-5;
// A margin that is (nearly) zero makes a purely relative bound meaningless; 1e-7 is a float32 ulp at 1.
const ABS_FLOOR = 1e-7;

function columnsBatch(names: string[], columns: Float64Array[]): Batch {
  return Batch.from(names.map((n, j) => [n, { dtype: 'float64', shape: [], data: columns[j] }] as const));
}

async function withPredictor<T>(path: string, options: Parameters<typeof loadModel>[1], fn: (p: Predictor) => Promise<T>): Promise<T> {
  const p = await loadModel(path, options);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

describe('xgboost flavor: breast cancer fixture (XGBoost 1.7.4)', () => {
  const expected = readJson<BreastCancerExpected>('xgb_breast_cancer', 'expected.json');
  for (const file of ['model.json', 'model.ubj']) {
    for (const input of ['input.csv', 'input_missing.csv']) {
      test(`${file} on ${input}: margins and probabilities`, async () => {
        const csv = readCsv('xgb_breast_cancer', input);
        await withPredictor(fixture('xgb_breast_cancer', file), { threads: 0 }, async (p) => {
          assert.equal(p.flavor, 'xgboost');
          assert.deepEqual(p.signature.inputs.map((s) => s.name), expected.feature_names);
          const out = await p.predict(columnsBatch(csv.names, csv.columns));
          assert.deepEqual(out.names, ['margin', 'prediction']);
          assertClose(out.column('margin').data as Float32Array, expected.inputs[input].margin, MARGIN_REL, ABS_FLOOR, 'margin');
          assertClose(out.column('prediction').data as Float32Array, expected.inputs[input].prob, PROB_REL, 0, 'prob');
        });
      });
    }
  }

  test('worker threads give the same margins as the calling thread', async () => {
    const csv = readCsv('xgb_breast_cancer', 'input_missing.csv');
    // 40 copies of the 114 rows, so that both workers get several row blocks.
    const copies = 40;
    const matrix = new Float64Array(csv.matrix.length * copies);
    for (let c = 0; c < copies; c++) matrix.set(csv.matrix, c * csv.matrix.length);
    const batch = Batch.from({ input: { dtype: 'float64', shape: [csv.names.length], data: matrix } });
    await withPredictor(fixture('xgb_breast_cancer', 'model.json'), { threads: 2, parallelMinRows: 100 }, async (p) => {
      const [a, b] = await Promise.all([p.predict(batch), p.predict(batch.slice(0, 500))]);
      const want = expected.inputs['input_missing.csv'].margin;
      const margins = a.column('margin').data as Float32Array;
      for (let c = 0; c < copies; c++) assertClose(margins.subarray(c * 114, (c + 1) * 114), want, MARGIN_REL, ABS_FLOOR, `copy ${c}`);
      assert.deepEqual(b.column('margin').data, margins.subarray(0, 500));
    });
  });

  test('models share the worker threads; closing one leaves the others working', async () => {
    const x = new Float32Array(8 * 3000).map((_, i) => (i % 11 === 0 ? NaN : Math.sin(i * 0.37) * 2));
    const batch = Batch.from({ x: { dtype: 'float32', shape: [8], data: x } });
    const files = ['multi_softprob.json', 'categorical.json', 'dart.json'].map((f) => fixture('xgb_cases', f));
    const parallel = await Promise.all(files.map((f) => loadModel(f, { threads: 2, parallelMinRows: 1 })));
    const inline = await Promise.all(files.map((f) => loadModel(f, { threads: 0 })));
    const want = await Promise.all(inline.map((p) => p.predict(batch)));
    const got = await Promise.all(parallel.map((p) => p.predict(batch)));
    got.forEach((g, i) => assert.deepEqual(g.column('margin').data, want[i].column('margin').data));
    await parallel[0].close();
    await assert.rejects(parallel[0].predict(batch), { code: 'FailedPrecondition' });
    const again = await parallel[2].predict(batch);
    assert.deepEqual(again.column('margin').data, want[2].column('margin').data);
    await Promise.all([...parallel, ...inline].map((p) => p.close()));
  });

  test('a matrix column (one float32[30] per row) is accepted as well as 30 feature columns', async () => {
    const csv = readCsv('xgb_breast_cancer', 'input.csv');
    await withPredictor(fixture('xgb_breast_cancer', 'model.ubj'), { threads: 0 }, async (p) => {
      const out = await p.predict(Batch.from({ features: { dtype: 'float32', shape: [30], data: Float32Array.from(csv.matrix) } }));
      assertClose(out.column('margin').data as Float32Array, expected.inputs['input.csv'].margin, MARGIN_REL, ABS_FLOOR);
    });
  });

  test('rowMajorInput: rows side by side give exactly the margins of the feature columns, inline and on the workers', async () => {
    const csv = readCsv('xgb_breast_cancer', 'input_missing.csv');
    const columns = csv.names.map((_, j) => Float64Array.from({ length: 114 * 20 }, (_, r) => csv.matrix[(r % 114) * csv.names.length + j]));
    const rows = new Float32Array(114 * 20 * csv.names.length);
    columns.forEach((col, j) => col.forEach((v, r) => (rows[r * csv.names.length + j] = v)));
    for (const threads of [0, 2]) {
      await withPredictor(fixture('xgb_breast_cancer', 'model.json'), { threads, parallelMinRows: 100 }, async (p) => {
        const spec = p.rowMajorInput!;
        assert.deepEqual(spec, { name: 'features', dtype: 'float32', shape: [30] });
        const byRows = await p.predict(Batch.from([[spec.name, { dtype: 'float32', shape: spec.shape, data: rows }]]));
        const byColumns = await p.predict(columnsBatch(csv.names, columns));
        assert.deepEqual(byRows.column('margin').data, byColumns.column('margin').data);
        assert.deepEqual(byRows.column('prediction').data, byColumns.column('prediction').data);
        // Rows in shared memory go to the workers as they are, and stay the caller's: a later call
        // of other rows, which takes the model's own buffers, leaves them as they were.
        const shared = new Float32Array(new SharedArrayBuffer(rows.byteLength));
        shared.set(rows);
        const byShared = await p.predict(Batch.from([[spec.name, { dtype: 'float32', shape: spec.shape, data: shared }]]));
        assert.deepEqual(byShared.column('margin').data, byColumns.column('margin').data);
        await p.predict(columnsBatch(csv.names, columns.map((c) => new Float64Array(c.length).fill(1))));
        assert.deepEqual(shared, rows);
      });
    }
    // A feature named like the matrix column leaves the name to another.
    const model = parseXgboost(readFileSync(fixture('xgb_breast_cancer', 'model.json')));
    model.featureNames = ['features', '_features', ...model.featureNames!.slice(2)];
    const renamed = xgboostPredictor(model, { threads: 0 });
    assert.equal(renamed.rowMajorInput?.name, '__features');
    await renamed.close();
  });

  test('JSON records with null for missing values, through toBatch and the signature', async () => {
    const csv = readCsv('xgb_breast_cancer', 'input_missing.csv');
    const records = Array.from({ length: csv.rows }, (_, r) =>
      Object.fromEntries(csv.names.map((n, j) => [n, Number.isNaN(csv.columns[j][r]) ? null : csv.columns[j][r]])),
    );
    await withPredictor(fixture('xgb_breast_cancer', 'model.json'), { threads: 0 }, async (p) => {
      const out = await p.predict(toBatch(JSON.parse(JSON.stringify(records)), p.signature));
      assertClose(out.column('prediction').data as Float32Array, expected.inputs['input_missing.csv'].prob, PROB_REL, 0, 'prob');
      const rows = await p.predict(toBatch(records.map((r) => csv.names.map((n) => r[n])), p.signature));
      assert.deepEqual(rows.column('margin').data, out.column('margin').data);
    });
  });

  test('XGBoost 2.x base_score written as "[5E-1]" means the same', async () => {
    const doc = JSON.parse(readFileSync(fixture('xgb_breast_cancer', 'model.json'), 'utf8'));
    doc.learner.learner_model_param.base_score = '[5E-1]';
    const model = parseXgboost(new TextEncoder().encode(JSON.stringify(doc)));
    assert.equal(model.baseMargin.length, 1);
    assert.equal(Math.abs(model.baseMargin[0]), 0);
    const p = xgboostPredictor(model, { threads: 0 });
    const csv = readCsv('xgb_breast_cancer', 'input.csv');
    const out = await p.predict(columnsBatch(csv.names, csv.columns));
    assertClose(out.column('margin').data as Float32Array, expected.inputs['input.csv'].margin, MARGIN_REL, ABS_FLOOR);
    await p.close();
  });

  test('input errors name the column and what was expected', async () => {
    const csv = readCsv('xgb_breast_cancer', 'input.csv');
    await withPredictor(fixture('xgb_breast_cancer', 'model.json'), { threads: 0 }, async (p) => {
      const full = columnsBatch(csv.names, csv.columns);
      const missing = Batch.from(csv.names.slice(1).map((n, j) => [n, { dtype: 'float64', shape: [], data: csv.columns[j + 1] }] as const));
      await assert.rejects(p.predict(missing), { code: 'InvalidArgument', message: /column "mean_radius" is missing: expected float32/ });
      await assert.rejects(p.predict(full.with('id', { dtype: 'float64', shape: [], data: new Float64Array(csv.rows) })), {
        code: 'InvalidArgument',
        message: /column "id" not in the model signature/,
      });
      await assert.rejects(p.predict(full.with('mean_radius', { dtype: 'string', shape: [], data: new Array(csv.rows).fill('x') })), {
        code: 'InvalidArgument',
        message: /column "mean_radius": expected float32, got string/,
      });
      await assert.rejects(p.predict(full.with('mean_radius', { dtype: 'float64', shape: [2], data: new Float64Array(csv.rows * 2) })), {
        code: 'InvalidArgument',
        message: /column "mean_radius": expected float32, got float64\[2\]/,
      });
      await assert.rejects(p.predict(Batch.from({ x: { dtype: 'float32', shape: [29], data: new Float32Array(29) } })), {
        code: 'InvalidArgument',
        message: /column "x": expected float32\[30\]/,
      });
    });
    await withPredictor(fixture('xgb_breast_cancer', 'model.json'), { threads: 0, extraColumns: 'ignore' }, async (p) => {
      const out = await p.predict(columnsBatch(csv.names, csv.columns).with('id', { dtype: 'int64', shape: [], data: new BigInt64Array(csv.rows) }));
      assert.equal(out.rows, csv.rows);
    });
  });
});

describe('xgboost flavor: generated cases (missing values learned in training, every objective)', () => {
  const dir = fixture('xgb_cases');
  const cases = readdirSync(dir).filter((f) => f.endsWith('.expected.json')).map((f) => f.replace('.expected.json', ''));

  test('the fixtures cover the objectives and model kinds we claim', () => {
    const objectives = new Set(cases.map((c) => readJson<CaseExpected>('xgb_cases', `${c}.expected.json`).objective));
    for (const o of ['binary:logistic', 'binary:logitraw', 'reg:squarederror', 'reg:logistic', 'reg:pseudohubererror', 'count:poisson', 'reg:gamma', 'reg:tweedie', 'multi:softprob', 'multi:softmax', 'rank:pairwise', 'rank:ndcg', 'rank:map']) {
      assert.ok(objectives.has(o), o);
    }
    for (const c of ['dart', 'dart_multi', 'categorical', 'categorical_binary', 'early_stopping', 'forest', 'multi_forest']) assert.ok(cases.includes(c), c);
  });

  for (const name of cases) {
    const expected = readJson<CaseExpected>('xgb_cases', `${name}.expected.json`);
    const data = new Float64Array(expected.num_rows * expected.num_features);
    expected.rows.forEach((row, r) => row.forEach((v, j) => (data[r * expected.num_features + j] = v ?? NaN)));
    const batch = Batch.from({ x: { dtype: 'float64', shape: [expected.num_features], data } });
    for (const ext of ['json', 'ubj']) {
      const path = fixture('xgb_cases', `${name}.${ext}`);
      if (!existsSync(path)) continue;
      test(`${name}.${ext} (${expected.objective})`, async () => {
        await withPredictor(path, { threads: 0 }, async (p) => {
          const out = await p.predict(batch);
          assertClose(out.column('margin').data as Float32Array, expected.margin, MARGIN_REL, ABS_FLOOR, 'margin');
          assertClose(out.column('prediction').data as Float32Array, expected.prediction, PROB_REL, ABS_FLOOR, 'prediction');
        });
        if (expected.all_trees) {
          await withPredictor(path, { threads: 0, useBestIteration: false }, async (p) => {
            assert.ok(expected.best_iteration! + 1 < (p.metadata.numTrees as number));
            const out = await p.predict(batch);
            assertClose(out.column('margin').data as Float32Array, expected.all_trees!.margin, MARGIN_REL, ABS_FLOOR, 'margin (all trees)');
          });
        }
      });
    }
  }

  test('multi-class outputs one margin and probability per class, softmax one label', async () => {
    await withPredictor(fixture('xgb_cases', 'multi_softprob.json'), { threads: 0 }, async (p) => {
      assert.deepEqual(p.signature.outputs, [
        { name: 'margin', dtype: 'float32', shape: [3] },
        { name: 'prediction', dtype: 'float32', shape: [3] },
      ]);
    });
    await withPredictor(fixture('xgb_cases', 'multi_softmax.json'), { threads: 0 }, async (p) => {
      assert.deepEqual(p.signature.outputs[1], { name: 'prediction', dtype: 'float32', shape: [] });
    });
  });

  test('iterationRange selects boosting rounds like XGBoost iteration_range', async () => {
    const expected = readJson<CaseExpected>('xgb_cases', 'early_stopping.expected.json');
    const p = await loadModel(fixture('xgb_cases', 'early_stopping.json'), { threads: 0, iterationRange: [0, expected.best_iteration! + 1] });
    const q = await loadModel(fixture('xgb_cases', 'early_stopping.json'), { threads: 0 });
    assert.equal(p.metadata.numTrees, q.metadata.numTrees);
    await assert.rejects(loadModel(fixture('xgb_cases', 'early_stopping.json'), { iterationRange: [0, 1000] }), { code: 'InvalidArgument' });
    await Promise.all([p.close(), q.close()]);
  });
});
