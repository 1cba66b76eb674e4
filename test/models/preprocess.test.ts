import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { explainBatch } from '../../src/explain/explainer.js';
import { treeEnsemble } from '../../src/explain/tree-shap.js';
import { fromColumns, fromRecords, loadModel, parsePreprocess, parseXgboost, PreprocessedPredictor, type Predictor } from '../../src/models/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CANDIDATE = join(ROOT, 'assets/demo/loans/candidates/xgb-d4-eta0.05');

const RAW = [
  { amount: 13550, term_months: 36, interest_rate: 11.83, income: 66371.18, debt_to_income: 0.1963, credit_score: 652, employment_years: 9, home_ownership: 'MORTGAGE', purpose: 'debt_consolidation' },
  { amount: 20525, term_months: 60, interest_rate: 11.28, income: 73209.63, debt_to_income: 0.3257, credit_score: 713, employment_years: 0, home_ownership: 'RENT', purpose: 'credit_card' },
  { amount: 5000, term_months: 36, interest_rate: 9, income: 40000, debt_to_income: 0.2, credit_score: 700, employment_years: 1, home_ownership: 'OTHER', purpose: '' },
];

/** The one-hot rows the candidate model takes, written out by hand. */
function encoded(row: (typeof RAW)[number]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years'] as const) out[k] = row[k];
  for (const l of ['RENT', 'OWN', 'MORTGAGE']) out[`home_ownership=${l}`] = row.home_ownership === l ? 1 : 0;
  for (const l of ['debt_consolidation', 'credit_card', 'home_improvement', 'major_purchase', 'small_business']) out[`purpose=${l}`] = row.purpose === '' ? NaN : row.purpose === l ? 1 : 0;
  return out;
}

describe('a preprocessing step stored with the model', () => {
  let dir: string;
  let model: Predictor;
  let bare: Predictor;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-preprocess-'));
    for (const f of ['MLmodel', 'model.json']) copyFileSync(join(CANDIDATE, f), join(dir, f));
    copyFileSync(join(ROOT, 'examples/loans/preprocess.json'), join(dir, 'preprocess.json'));
    model = await loadModel(dir);
    bare = await loadModel(CANDIDATE);
  });
  after(async () => {
    await model.close();
    await bare.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the model takes the raw columns and answers as the bare model does on their encoding', async () => {
    assert.ok(model instanceof PreprocessedPredictor);
    assert.deepEqual(
      model.signature.inputs.map((s) => `${s.name}:${s.dtype}`),
      ['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years'].map((n) => `${n}:float64`).concat(['home_ownership:string', 'purpose:string']),
    );
    const got = await model.predict(fromRecords(RAW, model.signature));
    const want = await bare.predict(fromRecords(RAW.map(encoded), bare.signature));
    for (const name of want.names) assert.deepEqual(Array.from(got.column(name).data as Float32Array), Array.from(want.column(name).data as Float32Array), name);
  });

  test('a raw column the step does not know, or one missing, is refused by name', async () => {
    await assert.rejects(model.predict(fromColumns({ amount: [1] })), /column "term_months" is missing/);
  });

  test('TreeSHAP explains in the columns the caller sent: one-hot attributions summed per column', async () => {
    const trees = treeEnsemble(parseXgboost(new Uint8Array(readFileSync(join(dir, 'model.json')))), 0, Number.MAX_SAFE_INTEGER);
    const ctx = (p: Predictor) => ({ predictor: p, trees: async () => trees, background: async () => assert.fail('no background for TreeSHAP') });
    const raw = await explainBatch(ctx(model), fromRecords(RAW, model.signature), { interactions: true });
    const enc = await explainBatch(ctx(bare), fromRecords(RAW.map(encoded), bare.signature), { interactions: true });
    assert.equal(raw.method, 'tree');
    assert.deepEqual(raw.featureNames, model.signature.inputs.map((s) => s.name));
    const F = enc.featureNames.length;
    const C = raw.featureNames.length;
    for (let r = 0; r < RAW.length; r++) {
      for (const [c, name] of raw.featureNames.entries()) {
        const members = enc.featureNames.map((f, j) => (f === name || f.startsWith(`${name}=`) ? j : -1)).filter((j) => j >= 0);
        const sum = members.reduce((s, j) => s + enc.attributions.values[r * F + j], 0);
        assert.ok(Math.abs(raw.attributions.values[r * C + c] - sum) < 1e-9, `${name} row ${r}`);
      }
      const total = Array.from(raw.attributions.values.subarray(r * C, (r + 1) * C)).reduce((a, b) => a + b, 0);
      const encTotal = Array.from(enc.attributions.values.subarray(r * F, (r + 1) * F)).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - encTotal) < 1e-6);
      assert.equal(raw.attributions.base[r], enc.attributions.base[r]);
      let interTotal = 0;
      for (let i = 0; i < C * C; i++) interTotal += raw.interactions![r * C * C + i];
      assert.ok(Math.abs(interTotal - total) < 1e-4, 'interaction values still sum to the attributions');
    }
  });

  test('a broken step is refused naming the field, and a step whose features miss model inputs names them', async () => {
    assert.throws(() => parsePreprocess({ numeric: [{ column: 'a', scale: 0 }] }), /numeric\[0\]\.scale must not be 0/);
    assert.throws(() => parsePreprocess({ one_hot: [{ column: 'a' }] }), /one_hot\[0\]\.levels must be a non-empty array/);
    assert.throws(() => parsePreprocess({ numerics: [] }), /unknown field "numerics"/);
    writeFileSync(join(dir, 'preprocess.json'), JSON.stringify({ numeric: [{ column: 'amount' }], one_hot: [{ column: 'purpose', levels: ['car'] }] }));
    await assert.rejects(loadModel(dir), /not produced: "term_months".*not model inputs: "purpose=car"/);
    copyFileSync(join(ROOT, 'examples/loans/preprocess.json'), join(dir, 'preprocess.json'));
  });

  test('scaling: (x - center) / scale before the model', async () => {
    const spec = parsePreprocess(JSON.parse(readFileSync(join(ROOT, 'examples/loans/preprocess.json'), 'utf8')));
    spec.numeric[0] = { ...spec.numeric[0], center: 1000, scale: 2 };
    const scaled = new PreprocessedPredictor(bare, spec);
    const batch = scaled.encode(fromRecords(RAW, scaled.signature));
    assert.deepEqual(Array.from(batch.column('amount').data as Float32Array), RAW.map((r) => (r.amount - 1000) / 2));
  });
});
