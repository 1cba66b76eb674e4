import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batches, SQL_BATCH } from '../../src/core/batches.js';

test('batches slices a list in order, each slice at most the batch size, none empty', () => {
  const ids = Array.from({ length: 2 * SQL_BATCH + 1 }, (_, i) => i);
  const slices = [...batches(ids)];
  assert.deepEqual(slices.map((s) => s.length), [SQL_BATCH, SQL_BATCH, 1]);
  assert.deepEqual(slices.flat(), ids);
  assert.deepEqual([...batches([1, 2, 3], 2)], [[1, 2], [3]]);
  assert.deepEqual([...batches([])], []);
});
