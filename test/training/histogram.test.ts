import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { addIndexedRowsToHist, addRowsToHist } from '../../src/training/gbdt/histogram.js';

/** 50 rows of 10 features (stride 12), 8 bins a feature plus the missing slot, and their gradients. */
function rowsOfBins() {
  const rand = mulberry32(3);
  const rows = 50;
  const numFeature = 10;
  const stride = 12;
  const missing = numFeature * 8;
  const bins = new Uint16Array(rows * stride);
  for (let r = 0; r < rows; r++) for (let f = 0; f < numFeature; f++) bins[r * stride + f] = rand() < 0.1 ? missing : f * 8 + Math.floor(rand() * 8);
  const gh = Float64Array.from({ length: rows * 2 }, () => rand() - 0.3);
  return { rows, numFeature, stride, missing, bins, gh };
}

/** The histogram summed cell by cell, for the given features only. */
function reference(bins: Uint16Array, stride: number, gh: Float64Array, order: number[], features: number[], slots: number): Float64Array {
  const hist = new Float64Array(slots * 2);
  for (const r of order) {
    for (const f of features) {
      const b = bins[r * stride + f];
      hist[b * 2] += gh[r * 2];
      hist[b * 2 + 1] += gh[r * 2 + 1];
    }
  }
  return hist;
}

test('a histogram over any set of features sums every row of each of them, consecutive runs from the first feature on or not', () => {
  const { rows, stride, missing, bins, gh } = rowsOfBins();
  // Every feature, the helper thread's half (consecutive, not from 0), a first half, and a sample with gaps.
  for (const features of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 6, 7, 8, 9], [0, 1, 2, 3, 4], [4, 5, 6], [1, 3, 4, 8]]) {
    const hist = new Float64Array((missing + 1) * 2);
    addRowsToHist(hist, bins, stride, gh, 7, rows, Int32Array.from(features), features.length);
    const order = Array.from({ length: rows - 7 }, (_, i) => 7 + i);
    assert.deepEqual(hist, reference(bins, stride, gh, order, features, missing + 1), `features ${features}`);
  }
});

test('a histogram of rows found through their indices matches the same rows summed in that order', () => {
  const { rows, numFeature, missing, gh } = rowsOfBins();
  const rand = mulberry32(9);
  // Training bins without padding: numFeature a row.
  const bins = Uint16Array.from({ length: rows * numFeature }, (_, i) => (rand() < 0.1 ? missing : (i % numFeature) * 8 + Math.floor(rand() * 8)));
  const order = Uint32Array.from({ length: rows }, (_, i) => (i * 17) % rows);
  for (const features of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 4, 5, 6, 7, 8], [2, 5, 9]]) {
    const hist = new Float64Array((missing + 1) * 2);
    addIndexedRowsToHist(hist, bins, numFeature, gh, order, 4, 40, Int32Array.from(features), features.length);
    assert.deepEqual(hist, reference(bins, numFeature, gh, Array.from(order.subarray(4, 40)), features, missing + 1), `features ${features}`);
  }
});
