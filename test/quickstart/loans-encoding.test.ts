import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readTable, type TableColumn } from '../../src/data/read-table.js';
import { loadModel, readMLmodel } from '../../src/models/index.js';
import { encodeLoans, loansBatch, parseLoansEncoding, readLoansEncoding } from '../../src/quickstart/loans-encoding.js';

const CANDIDATES = join(import.meta.dirname, '..', '..', 'assets', 'demo', 'loans', 'candidates');

interface Expected {
  model: string;
  loan_ids: string[];
  inputs: { dataframe_split: { columns: string[]; data: (number | null)[][] } };
  predictions: number[];
  margins: number[];
}

function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(CANDIDATES, ...parts), 'utf8')) as T;
}

interface Curve {
  rounds: number;
  best_iteration: number;
  train: { auc: number[]; logloss: number[] };
  validation: { auc: number[]; logloss: number[] };
}

const index = readJson<{ best: string; feature_names: string[]; candidates: { name: string; metrics: Record<string, number> }[] }>(
  'index.json',
);
const expected = readJson<Expected>('expected_predictions.json');

const text = (name: string, values: (string | null)[]): TableColumn => ({ name, type: 'string', values });
const num = (name: string, values: number[]): TableColumn => ({ name, type: 'number', values: Float64Array.from(values) });

/** Two loans rows with every loans column but the label; `overrides` replaces columns by name. */
function twoRows(...overrides: TableColumn[]): TableColumn[] {
  const base = [
    text('loan_id', ['L1', 'L2']),
    num('amount', [10500, 8475.25]),
    num('term_months', [36, 60]),
    num('interest_rate', [10.92, 12.77]),
    num('income', [94492.03, 26486.8]),
    num('debt_to_income', [0.2352, 0.4428]),
    num('credit_score', [685, 795]),
    num('employment_years', [2, 3]),
    text('home_ownership', ['MORTGAGE', 'RENT']),
    text('purpose', ['debt_consolidation', 'small_business']),
  ];
  return base.map((c) => overrides.find((o) => o.name === c.name) ?? c);
}

describe('loans encoding', async () => {
  const encoding = await readLoansEncoding(join(CANDIDATES, 'index.json'));

  test('index.json describes the features in the models’ order', () => {
    assert.deepEqual(encoding.featureNames, index.feature_names);
    assert.deepEqual(encoding.featureNames, [
      'amount',
      'term_months',
      'interest_rate',
      'income',
      'debt_to_income',
      'credit_score',
      'employment_years',
      'home_ownership=RENT',
      'home_ownership=OWN',
      'home_ownership=MORTGAGE',
      'purpose=debt_consolidation',
      'purpose=credit_card',
      'purpose=home_improvement',
      'purpose=major_purchase',
      'purpose=small_business',
    ]);
  });

  test('encodes loans_shifted.csv rows exactly as the training script did', async () => {
    const table = await readTable(join(CANDIDATES, 'expected_input.csv'));
    assert.deepEqual(table.columns.find((c) => c.name === 'loan_id')!.values, expected.loan_ids);
    const features = encodeLoans(table.columns, encoding);
    assert.deepEqual(Object.keys(features), expected.inputs.dataframe_split.columns);
    expected.inputs.dataframe_split.columns.forEach((name, f) => {
      const want = expected.inputs.dataframe_split.data.map((row) => row[f] ?? Number.NaN);
      assert.deepEqual([...features[name]], want, `feature ${name}`);
    });
  });

  test('the best candidate reproduces XGBoost’s predictions for the first 50 shifted rows', async () => {
    assert.equal(expected.model, index.best);
    const table = await readTable(join(CANDIDATES, 'expected_input.csv'));
    const model = await loadModel(join(CANDIDATES, index.best), { threads: 0 });
    try {
      assert.equal(model.flavor, 'xgboost');
      assert.deepEqual(
        model.signature.inputs.map((s) => s.name),
        encoding.featureNames,
      );
      const out = await model.predict(loansBatch(table.columns, encoding));
      const prediction = out.column('prediction').data as Float32Array;
      const margin = out.column('margin').data as Float32Array;
      assert.equal(prediction.length, 50);
      for (let i = 0; i < 50; i++) {
        assert.ok(Math.abs(prediction[i] - expected.predictions[i]) <= 1e-5, `row ${i}: ${prediction[i]} vs ${expected.predictions[i]}`);
        assert.ok(Math.abs(margin[i] - expected.margins[i]) <= 1e-5, `row ${i}: margin ${margin[i]} vs ${expected.margins[i]}`);
      }
    } finally {
      await model.close();
    }
  });

  test('every candidate loads and scores the encoded rows', async () => {
    const batch = loansBatch(twoRows(), encoding);
    for (const { name } of index.candidates) {
      const model = await loadModel(join(CANDIDATES, name), { threads: 0 });
      try {
        const p = (await model.predict(batch)).column('prediction').data as Float32Array;
        assert.ok(p.every((v) => v > 0 && v < 1), `${name}: ${[...p]}`);
      } finally {
        await model.close();
      }
    }
  });

  test('each candidate folder is an MLflow xgboost model whose metrics agree with its curve', async () => {
    assert.ok(index.candidates.length >= 3 && index.candidates.length <= 4);
    for (const { name, metrics } of index.candidates) {
      const mlmodel = await readMLmodel(join(CANDIDATES, name, 'MLmodel'));
      assert.equal(mlmodel.flavors.xgboost.data, 'model.json', name);
      assert.equal(mlmodel.flavors.xgboost.model_format, 'json', name);
      assert.deepEqual(
        mlmodel.signature?.inputs.map((s) => [s.name, s.dtype]),
        encoding.featureNames.map((f) => [f, 'float32']),
        name,
      );
      assert.deepEqual(readJson(name, 'metrics.json'), metrics, name);
      const curve = readJson<Curve>(name, 'curve.json');
      const best = curve.best_iteration;
      assert.equal(metrics.best_iteration, best, name);
      assert.equal(metrics.trees, best + 1, name);
      for (const series of [curve.train.auc, curve.train.logloss, curve.validation.auc, curve.validation.logloss]) {
        assert.equal(series.length, curve.rounds, name);
      }
      // Early stopping on validation logloss: the best round has the lowest one.
      assert.equal(Math.min(...curve.validation.logloss), curve.validation.logloss[best], name);
      // The curve holds XGBoost's evaluation; metrics.json scikit-learn's on the saved trees.
      assert.ok(Math.abs(curve.validation.auc[best] - metrics.val_auc) < 1e-6, name);
      assert.ok(Math.abs(curve.validation.logloss[best] - metrics.val_logloss) < 1e-6, name);
    }
    const bestByAuc = index.candidates.reduce((a, b) => (b.metrics.val_auc > a.metrics.val_auc ? b : a));
    assert.equal(index.best, bestByAuc.name);
  });

  test('one-hot columns: known level 1, unknown level all 0, empty cell all NaN', () => {
    const f = encodeLoans(twoRows(text('home_ownership', ['OTHER', null]), text('purpose', ['credit_card', 'small_business'])), encoding);
    assert.deepEqual([f['home_ownership=RENT'][0], f['home_ownership=OWN'][0], f['home_ownership=MORTGAGE'][0]], [0, 0, 0]);
    assert.ok([f['home_ownership=RENT'][1], f['home_ownership=OWN'][1], f['home_ownership=MORTGAGE'][1]].every(Number.isNaN));
    assert.deepEqual([...f['purpose=credit_card']], [1, 0]);
    assert.deepEqual([...f['purpose=small_business']], [0, 1]);
    assert.deepEqual([...f['purpose=debt_consolidation']], [0, 0]);
  });

  test('numeric columns are rounded to float32; NaN stays missing; numbers read as text are parsed', () => {
    const f = encodeLoans(twoRows(num('income', [94492.03, Number.NaN]), text('credit_score', ['685', null])), encoding);
    assert.deepEqual([...f.amount], [10500, Math.fround(8475.25)]);
    assert.equal(f.income[0], Math.fround(94492.03));
    assert.ok(Number.isNaN(f.income[1]));
    assert.equal(f.credit_score[0], 685);
    assert.ok(Number.isNaN(f.credit_score[1]));
  });

  test('bad input names the column, the value and the row', () => {
    assert.throws(() => encodeLoans(twoRows(text('credit_score', ['720', '720 pts'])), encoding), {
      code: 'InvalidArgument',
      message: 'column "credit_score": expected a number, got "720 pts" in row 1',
    });
    assert.throws(() => encodeLoans(twoRows().filter((c) => c.name !== 'purpose'), encoding), {
      code: 'InvalidArgument',
      message: /^column "purpose" is missing/,
    });
    assert.throws(() => encodeLoans(twoRows(num('purpose', [1, 2])), encoding), {
      code: 'InvalidArgument',
      message: /^column "purpose": expected text levels \(debt_consolidation, credit_card/,
    });
  });

  test('an index whose encoding does not make exactly feature_names is rejected', () => {
    const good = readJson<Record<string, unknown>>('index.json');
    const names = good.feature_names as string[];
    assert.throws(() => parseLoansEncoding({ ...good, feature_names: names.slice(1) }, 'x.json'), {
      code: 'InvalidArgument',
      message: 'x.json encoding: feature "amount" is not in feature_names',
    });
    assert.throws(() => parseLoansEncoding({ ...good, feature_names: [...names, 'extra'] }, 'x.json'), {
      code: 'InvalidArgument',
      message: 'x.json encoding: nothing produces feature_names "extra"',
    });
    assert.throws(() => parseLoansEncoding({ ...good, encoding: { numeric: [{ feature: 'amount' }], one_hot: [] } }, 'x.json'), {
      code: 'InvalidArgument',
      message: 'x.json encoding.numeric[0]: "column" must be a non-empty string',
    });
  });
});
