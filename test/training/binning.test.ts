import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binMatrix, computeCuts } from '../../src/training/gbdt/binning.js';

test('quantile cuts fall at equal counts of rows, at the value that starts each new bin, ties kept together', () => {
  // 12 values (a NaN is not counted), 8 distinct, 4 bins: a bin ends once 3, 6, 9 rows are in.
  const x = Float32Array.of(3, 1, 8, NaN, 1, 5, 2, 7, 1, 4, 3, 6, 1);
  const { values, offsets } = computeCuts(x, x.length, 1, 4);
  assert.deepEqual(Array.from(offsets), [0, 4]);
  assert.deepEqual(Array.from(values), [2, 4, 6, Math.fround(8 + 8 + 1e-5)]);
});

test('few distinct values get one bin each', () => {
  const x = Float32Array.of(2, -1, 2, 0.5, -1);
  assert.deepEqual(Array.from(computeCuts(x, x.length, 1, 4).values), [0.5, 2, Math.fround(2 + 2 + 1e-5)]);
});

test('the feature-major copy of the bins holds the row-major bins, missing and unseen categories included', () => {
  const rows = 7;
  // Feature 0 numeric, feature 1 categorical.
  const x = Float32Array.of(0.5, 3, 1.5, 1, NaN, 3, 2.5, NaN, 0.1, 1, 9, 2, 1.5, 3);
  const cuts = computeCuts(x, rows, 2, 256, [false, true]);
  const { bins, columns, missing } = binMatrix(x, rows, 2, cuts, true);
  // Training saw categories 1, 2 and 3; 4 goes to the bin of unseen ones.
  const unseen = binMatrix(Float32Array.of(0.5, 4), 1, 2, cuts);
  assert.equal(unseen.bins[1], cuts.offsets[2] - 1);
  assert.equal(bins[2 * 2], missing);
  assert.equal(bins[3 * 2 + 1], missing);
  for (let r = 0; r < rows; r++) for (let f = 0; f < 2; f++) assert.equal(columns[f * rows + r], bins[r * 2 + f], `row ${r}, feature ${f}`);
  assert.equal(binMatrix(x, rows, 2, cuts).columns, undefined);
});
