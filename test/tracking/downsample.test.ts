/** LTTB keeps a curve's shape in fewer points: the ends, the peaks and dips, and nothing made up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleHistory, lttbIndices } from '../../src/tracking/index.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a series no longer than the threshold is kept whole', () => {
  assert.deepEqual(lttbIndices([0, 1, 2], [5, 6, 7], 3), [0, 1, 2]);
  assert.deepEqual(lttbIndices(range(10), range(10), 50), range(10));
});

test('exactly the threshold of points, ascending, with both ends', () => {
  const x = range(100_000);
  const y = x.map((i) => Math.sin(i / 1000));
  const kept = lttbIndices(x, y, 2000);
  assert.equal(kept.length, 2000);
  assert.equal(kept[0], 0);
  assert.equal(kept.at(-1), 99_999);
  for (let i = 1; i < kept.length; i++) assert.ok(kept[i] > kept[i - 1]);
});

test('a single spike in a flat line survives', () => {
  const x = range(10_000);
  const y = x.map((i) => (i === 6543 ? 100 : i === 1234 ? -50 : 1));
  const kept = lttbIndices(x, y, 100);
  assert.ok(kept.includes(6543), 'the peak');
  assert.ok(kept.includes(1234), 'the dip');
});

test('in each bucket, the point forming the largest triangle with the last kept point and the next bucket’s average', () => {
  // Buckets (1,2) (3,4) (5,6) (7,8), worked by hand: areas 12.5 vs 6.5, 12 vs 27, 19.5 vs 14.5
  // (equal values: the nearer point makes the larger triangle toward (7.5, 4)), 28 vs 2.
  const x = range(10);
  const y = [0, 5, 1, 1, 9, 2, 2, 8, 0, 0];
  assert.deepEqual(lttbIndices(x, y, 6), [0, 1, 4, 5, 7, 9]);
});

test('NaN points are passed over when their bucket has a number', () => {
  const x = range(1000);
  const y = x.map((i) => (i % 2 === 0 ? NaN : Math.cos(i / 50)));
  const kept = lttbIndices(x, y, 50);
  assert.ok(kept.slice(1, -1).every((i) => Number.isFinite(y[i])));
});

test('a history is downsampled column by column', () => {
  const n = 5000;
  const h = { length: n, step: Float64Array.from(range(n)), timestamp: Float64Array.from(range(n), (i) => 1e12 + i), value: Float64Array.from(range(n), (i) => i * i) };
  const d = downsampleHistory(h, 500);
  assert.equal(d.length, 500);
  for (let i = 0; i < d.length; i++) {
    assert.equal(d.timestamp[i], 1e12 + d.step[i]);
    assert.equal(d.value[i], d.step[i] ** 2);
  }
  assert.equal(downsampleHistory(h, n), h);
});
