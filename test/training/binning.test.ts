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

test('bins hold missing values at the missing index and unseen categories in their own bin', () => {
  const rows = 7;
  // Feature 0 numeric, feature 1 categorical.
  const x = Float32Array.of(0.5, 3, 1.5, 1, NaN, 3, 2.5, NaN, 0.1, 1, 9, 2, 1.5, 3);
  const cuts = computeCuts(x, rows, 2, 256, [false, true]);
  const { bins, missing } = binMatrix(x, rows, 2, cuts);
  // Training saw categories 1, 2 and 3; 4 goes to the bin of unseen ones.
  const unseen = binMatrix(Float32Array.of(0.5, 4), 1, 2, cuts);
  assert.equal(unseen.bins[1], cuts.offsets[2] - 1);
  assert.equal(bins[2 * 2], missing);
  assert.equal(bins[3 * 2 + 1], missing);
  assert.deepEqual(Array.from(bins.subarray(0, 4)), [1, cuts.offsets[1] + 2, 2, cuts.offsets[1]]);
});

test('bins are 16-bit below 0x7ff0 bins in all and 32-bit from there', () => {
  // 256 distinct values in each of 128 features: 256 bins each, 32,768 in all.
  const rows = 256;
  const x = Float32Array.from({ length: rows * 128 }, (_, i) => Math.floor(i / 128));
  const cuts = computeCuts(x, rows, 128, 256);
  assert.equal(cuts.offsets[128], 32768);
  assert.ok(binMatrix(x, rows, 128, cuts).bins instanceof Uint32Array);
  assert.ok(binMatrix(x, rows, 127, computeCuts(x, rows, 127, 256)).bins instanceof Uint16Array);
});
