import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { xgboostJsonText } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import type { GbdtModel } from '../../src/training/gbdt/booster.js';
import { breastCancer, breastCancerDerived, FIXTURES, loans, reference } from './helpers.js';

interface JsonTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
}

/** Each tree's digest as scripts/training/make_fixtures.py takes it from XGBoost's model: shape, features, directions and float32 thresholds. */
function digests(model: GbdtModel): string[] {
  const trees = (JSON.parse(xgboostJsonText(model)) as { learner: { gradient_booster: { model: { trees: JsonTree[] } } } }).learner.gradient_booster.model.trees;
  return trees.map((t) => {
    const nodes = t.left_children.map((left, i) => {
      const bits = Buffer.alloc(4);
      bits.writeFloatBE(t.split_conditions[i]);
      return `${left}|${t.right_children[i]}|${t.split_indices[i]}|${left === -1 ? 'leaf' : bits.toString('hex')}|${Number(t.default_left[i])}`;
    });
    return createHash('sha256').update(nodes.join(';')).digest('hex').slice(0, 16);
  });
}

const fixture = JSON.parse(readFileSync(`${FIXTURES}xgboost-trees.json`, 'utf8')) as { xgboost_version: string; digests: Record<string, string[]> };
const ref = reference();

test('every tree has the shape, features, default directions and thresholds XGBoost 1.7 hist grows with the same parameters', async () => {
  const [cancer, loanData, derived] = await Promise.all([breastCancer(), loans(), breastCancerDerived(ref.gbdt.breast_cancer_multiclass.dropped!)]);
  const cases = {
    breast_cancer: [cancer.train, ref.gbdt.breast_cancer.params],
    loans: [loanData.train, ref.gbdt.loans.params],
    loans_lossguide: [loanData.train, ref.gbdt.loans_lossguide.params],
    loans_deep: [loanData.train, { max_depth: 6, eta: 0.3, n_estimators: 100, max_bin: 256 }],
    breast_cancer_multiclass: [derived.mTrain, { ...ref.gbdt.breast_cancer_multiclass.params, objective: 'multi:softprob' }],
    breast_cancer_regression: [derived.rTrain, { ...ref.gbdt.breast_cancer_regression.params, objective: 'reg:squarederror' }],
  } as const;
  assert.match(fixture.xgboost_version, /^1\.7\./);
  for (const [name, [data, params]] of Object.entries(cases)) {
    const ours = digests(await trainGbdt(data, gbdtParams(params)));
    const want = fixture.digests[name];
    assert.equal(ours.length, want.length, name);
    const differing = ours.flatMap((d, i) => (d === want[i] ? [] : [i]));
    assert.deepEqual(differing, [], `${name}: trees that differ from XGBoost's`);
  }
});
