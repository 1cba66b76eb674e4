import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toClassified, type JoinedRow } from '../../../src/monitoring/performance/extract.js';

const row = (p: number, margin: number, label: string, i: number): JoinedRow => ({
  requestId: `r${i}`,
  row: 0,
  timeMs: i,
  outputs: { margin, prediction: p },
  label,
  value: null,
});

const rows = [row(0.9, 2.2, '1', 0), row(0.2, -1.4, '0', 1), row(0.6, 0.4, '0', 2)];

test('a probability output named as the score column gives classes by threshold, not as labels', () => {
  const out = toClassified(rows, { scoreColumn: 'prediction', threshold: 0.5 });
  assert.ok('rows' in out);
  assert.deepEqual(out.rows.map((r) => r.predicted), ['1', '0', '1']);
  assert.deepEqual(out.rows.map((r) => r.probabilities?.get('1')), [0.9, 0.2, 0.6]);
});

test('without a named column, a [0, 1] prediction output is read as the positive-class probability', () => {
  const out = toClassified(rows, { threshold: 0.7 });
  assert.ok('rows' in out);
  assert.deepEqual(out.rows.map((r) => r.predicted), ['1', '0', '0']);
});
