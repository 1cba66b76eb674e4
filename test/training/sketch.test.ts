import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeCuts } from '../../src/training/gbdt/binning.js';

/** The matrix test/fixtures/gbdt-cuts/make_cuts.py builds, from the same integer arithmetic. */
function matrix(rows: number): Float32Array {
  const x = new Float32Array(rows * 5);
  for (let i = 0; i < rows; i++) {
    const sq = ((i * 31337) % 65521) / 6552.1;
    x.set([(((i * 7919) % 100003) / 100003) * 10 - 5, Math.floor(((i * 104729) % 1000) ** 2 / 1000), Math.floor(i / 37) % 500, i % 7 === 0 ? NaN : sq * sq, i % 100], i * 5);
  }
  return x;
}

const fixture = JSON.parse(readFileSync('test/fixtures/gbdt-cuts/xgboost-1.7-thresholds.json', 'utf8')) as { rows: number; max_bin: number; thresholds: number[][]; weighted_thresholds: number[][] };

test('cuts are the values XGBoost 1.7 hist splits at: every threshold of its deep trees on the same matrix is a cut, and they use nearly all cuts', () => {
  const { values, offsets } = computeCuts(matrix(fixture.rows), fixture.rows, 5, fixture.max_bin);
  fixture.thresholds.forEach((thresholds, f) => {
    const cuts = new Set(values.subarray(offsets[f], offsets[f + 1]));
    const missing = thresholds.filter((t) => !cuts.has(t));
    assert.deepEqual(missing, [], `feature ${f}: XGBoost thresholds that are not cuts`);
    assert.ok(cuts.size <= fixture.max_bin, `feature ${f}: ${cuts.size} cuts`);
    // The trees leave a few cuts unused (feature 1 has skewed ties, feature 4 100 values).
    assert.ok(thresholds.length >= Math.min(cuts.size - 1, 0.85 * cuts.size), `feature ${f}: ${thresholds.length} thresholds of ${cuts.size} cuts`);
  });
  // Feature 0's values are all distinct and the trees split at each of its 255 inner cuts.
  assert.deepEqual(Array.from(values.subarray(offsets[0], offsets[1] - 1)), fixture.thresholds[0]);
});

test('under row weights (a quarter of them 0), the cuts are the weighted sketch\'s: XGBoost\'s thresholds on the weighted matrix are all cuts', () => {
  const weights = Float64Array.from({ length: fixture.rows }, (_, i) => (i * 7) % 4);
  const x = matrix(fixture.rows);
  const { values, offsets } = computeCuts(x, fixture.rows, 5, fixture.max_bin, undefined, undefined, weights);
  fixture.weighted_thresholds.forEach((thresholds, f) => {
    const cuts = new Set(values.subarray(offsets[f], offsets[f + 1]));
    assert.deepEqual(thresholds.filter((t) => !cuts.has(t)), [], `feature ${f}: XGBoost thresholds that are not cuts`);
  });
  assert.deepEqual(Array.from(values.subarray(offsets[0], offsets[1] - 1)), fixture.weighted_thresholds[0]);
  // Unweighted, feature 0's cuts are others: the weights moved them.
  assert.notDeepEqual(fixture.weighted_thresholds[0], fixture.thresholds[0]);
});
