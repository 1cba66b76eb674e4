import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXgboost } from '../../src/models/index.js';
import { treeRange } from '../../src/models/xgboost/flavor.js';
import { gaussLegendre, treeEnsemble, treeShap, treeShapInteractions } from '../../src/explain/tree-shap.js';
import { assertClose, fixture, readCsv } from '../models/helpers.js';

const EXPLAIN = join(import.meta.dirname, '..', 'fixtures', 'explain');
const CASES = fixture('xgb_cases');

interface Contribs {
  groups: number;
  num_features: number;
  rows: number;
  contribs: number[];
  interactions?: number[];
}

function ensembleOf(file: string) {
  const model = parseXgboost(new Uint8Array(readFileSync(file)));
  const [begin, end] = treeRange(model, {});
  return treeEnsemble(model, begin, end);
}

function matrix(rows: (number | null)[][]): Float32Array {
  return Float32Array.from(rows.flat(), (v) => (v === null ? NaN : v));
}

const cases = readdirSync(CASES).filter((f) => f.endsWith('.expected.json')).map((f) => f.slice(0, -'.expected.json'.length));

describe('TreeSHAP (path-dependent) on the XGBoost fixtures', () => {
  for (const name of cases) {
    test(`${name}: agrees with XGBoost's pred_contribs and adds up to the margin`, () => {
      const expected = JSON.parse(readFileSync(join(CASES, `${name}.expected.json`), 'utf8')) as { rows: (number | null)[][]; margin: number[] };
      const reference = JSON.parse(readFileSync(join(EXPLAIN, `${name}.contribs.json`), 'utf8')) as Contribs;
      const ensemble = ensembleOf(join(CASES, `${name}.json`));
      const x = matrix(expected.rows);
      const rows = expected.rows.length;
      const phi = treeShap(ensemble, x, rows);
      assertClose(phi, reference.contribs, 0, 1e-5, `${name} contributions`);
      const G = ensemble.numGroups;
      const C = ensemble.numFeature + 1;
      const sums = Array.from({ length: rows * G }, (_, i) => phi.subarray(i * C, (i + 1) * C).reduce((a, b) => a + b, 0));
      assertClose(sums, expected.margin, 0, 1e-6, `${name} attributions + base value vs margin`);
      if (reference.interactions) {
        const inter = treeShapInteractions(ensemble, x, rows);
        assertClose(inter, reference.interactions, 0, 1e-5, `${name} interactions`);
        // Each row of an interaction matrix sums to that feature's SHAP value.
        const rowSums = Array.from({ length: rows * G * C }, (_, i) => inter.subarray(i * C, (i + 1) * C).reduce((a, b) => a + b, 0));
        assertClose(rowSums, phi, 0, 1e-6, `${name} interaction rows vs SHAP values`);
      }
    });
  }

  test('breast cancer (60 trees, missing values at prediction time) agrees with pred_contribs', () => {
    const reference = JSON.parse(readFileSync(join(EXPLAIN, 'breast_cancer.contribs.json'), 'utf8')) as Contribs;
    const csv = readCsv('xgb_breast_cancer', 'input_missing.csv');
    const x = Float32Array.from(csv.matrix.subarray(0, reference.rows * csv.names.length));
    const phi = treeShap(ensembleOf(fixture('xgb_breast_cancer', 'model.json')), x, reference.rows);
    assertClose(phi, reference.contribs, 0, 1e-5, 'breast cancer contributions');
  });

  test('a model saved without node covers is refused with a clear error', () => {
    const doc = JSON.parse(readFileSync(join(CASES, 'binary_logistic.json'), 'utf8'));
    for (const t of doc.learner.gradient_booster.model.trees) delete t.sum_hessian;
    const model = parseXgboost(new TextEncoder().encode(JSON.stringify(doc)));
    assert.throws(() => treeEnsemble(model), /sum_hessian/);
  });
});

test('the m-point Gauss–Legendre rule on [0, 1] integrates every polynomial of degree up to 2m − 1 exactly', () => {
  for (let m = 1; m <= 8; m++) {
    const { t, w } = gaussLegendre(m);
    assert.ok(t.every((x) => x > 0 && x < 1), `m=${m}: nodes inside (0, 1)`);
    for (let p = 0; p <= 2 * m - 1; p++) {
      const integral = t.reduce((sum, x, k) => sum + w[k] * x ** p, 0);
      assert.ok(Math.abs(integral - 1 / (p + 1)) < 1e-14, `m=${m}, t^${p}: ${integral}`);
    }
    // One degree more is beyond the rule (visibly so for few points): exactness is what TreeSHAP relies on.
    const beyond = t.reduce((sum, x, k) => sum + w[k] * x ** (2 * m), 0);
    if (m <= 3) assert.ok(Math.abs(beyond - 1 / (2 * m + 1)) > 1e-6, `m=${m}: t^${2 * m} is not exact`);
  }
});
