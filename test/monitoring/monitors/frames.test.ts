import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordsToTable, tableFromJson, tableToJson } from '../../../src/monitoring/monitors/frames.js';

test('logged rows become typed columns; tensor inputs one column per element; nested values are skipped with a reason', () => {
  const { table, skipped } = recordsToTable(
    [
      { age: 30, city: 'paris', ok: true, input: [1, 2, 3], ragged: [1], nested: { a: 1 } },
      { age: null, city: 'rome', ok: false, input: [4, null, 6], ragged: [1, 2] },
    ],
    'logged',
  );
  assert.deepEqual(
    table.columns.map((c) => [c.name, c.type, Array.from(c.values as ArrayLike<unknown>)]),
    [
      ['age', 'number', [30, NaN]],
      ['city', 'string', ['paris', 'rome']],
      ['ok', 'string', ['true', 'false']],
      ['input[0]', 'number', [1, 4]],
      ['input[1]', 'number', [2, NaN]],
      ['input[2]', 'number', [3, 6]],
    ],
  );
  assert.deepEqual(skipped.map((s) => s.column), ['ragged', 'nested']);
  assert.match(skipped[0].reason, /flat numeric vectors only/);
});

test('stored references round-trip, NaN included', () => {
  const { table } = recordsToTable([{ x: 1.5, c: 'a' }, { x: null, c: null }], 'ref');
  const back = tableFromJson(tableToJson(table));
  assert.equal(back.rowCount, 2);
  assert.deepEqual(Array.from(back.columns[0].values as Float64Array), [1.5, NaN]);
  assert.deepEqual(back.columns[1].values, ['a', null]);
});
