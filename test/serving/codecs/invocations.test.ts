import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCsv, decodeInvocation } from '../../../src/serving/codecs/invocations.js';
import type { Signature } from '../../../src/models/index.js';

const vector = (dtype: 'float32' | 'float64', width = 3): Signature => ({ inputs: [{ name: 'input', dtype, shape: [width] }], outputs: [] });
const rows = [
  [1, 2.5, -3],
  [0.1, 1e-7, 123456.789],
];
const columns = ['a', 'b', 'c'];
const records = rows.map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j]])));

test('dataframe_split of numeric columns into a vector input: the same batch as the column-by-column path', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const width of [3, -1]) {
      const split = decodeInvocation({ dataframe_split: { columns, data: rows } }, vector(dtype, width));
      const viaRecords = decodeInvocation({ dataframe_records: records }, vector(dtype, width));
      assert.equal(split.rows, 2);
      assert.deepEqual(split.column('input').shape, [3]);
      assert.equal(split.column('input').dtype, dtype);
      assert.deepEqual(Array.from(split.column('input').data as Float32Array), Array.from(viaRecords.column('input').data as Float32Array));
    }
  }
});

test('dataframe_split cells the direct read does not take go the general way, with its errors and NaN for null', () => {
  const withNull = decodeInvocation({ dataframe_split: { columns, data: [[1, null, 3]] } }, vector('float64'));
  assert.ok(Number.isNaN((withNull.column('input').data as Float64Array)[1]));
  assert.throws(() => decodeInvocation({ dataframe_split: { columns, data: [[1, 2]] } }, vector('float32')), /dataframe_split: data\[0\]: has 2 values, expected 3/);
  const warnings: string[] = [];
  const indexed = decodeInvocation({ dataframe_split: { columns: ['Unnamed: 0', ...columns], data: [[7, ...rows[0]]] } }, vector('float32'), warnings);
  assert.deepEqual(Array.from(indexed.column('input').data as Float32Array), Array.from(Float32Array.from(rows[0])));
  assert.match(warnings[0], /Unnamed: 0/);
});

test('dataframe_split and CSV keep the given column order, integer-like names too, on the direct and the general path', () => {
  const data = [
    [1, 2],
    [3, 4],
  ];
  for (const names of [['1', '0'], ['f', '2']]) {
    const direct = decodeInvocation({ dataframe_split: { columns: names, data } }, vector('float64', 2));
    assert.deepEqual(Array.from(direct.column('input').data as Float64Array), [1, 2, 3, 4]);
    const general = decodeInvocation({ dataframe_split: { columns: names, data: [...data, [5, null]] } }, vector('float64', 2));
    assert.deepEqual(Array.from(general.column('input').data as Float64Array), [1, 2, 3, 4, 5, NaN]);
    const csv = decodeCsv(`${names.join(',')}\n1,2\n3,4\n`, vector('float64', 2));
    assert.deepEqual(Array.from(csv.column('input').data as Float64Array), [1, 2, 3, 4]);
  }
});

const features = (dtype: 'float32' | 'float64'): Signature => ({ inputs: columns.map((name) => ({ name, dtype, shape: [] })), outputs: [] });

test('inputs and instances as rows of numbers: the same batch as the general path, for a vector input and for scalar inputs', () => {
  for (const field of ['inputs', 'instances'] as const) {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const width of [3, -1]) {
        const direct = decodeInvocation({ [field]: rows }, vector(dtype, width));
        const general = decodeInvocation({ dataframe_records: records }, vector(dtype, width));
        assert.equal(direct.rows, 2);
        assert.deepEqual(direct.column('input').shape, [3]);
        assert.equal(direct.column('input').dtype, dtype);
        assert.deepEqual(Array.from(direct.column('input').data as Float32Array), Array.from(general.column('input').data as Float32Array));
      }
      // One column per feature, in signature order, as the row-to-record path built them.
      const direct = decodeInvocation({ [field]: rows }, features(dtype));
      const general = decodeInvocation({ dataframe_records: records }, features(dtype));
      assert.deepEqual(direct.names, columns);
      for (const name of columns) {
        assert.equal(direct.column(name).dtype, dtype);
        assert.deepEqual(direct.column(name).shape, []);
        assert.deepEqual(Array.from(direct.column(name).data as Float64Array), Array.from(general.column(name).data as Float64Array));
      }
    }
  }
});

test('inputs rows the direct read does not take keep the general path and its errors', () => {
  const withNull = decodeInvocation({ inputs: [[1, null, 3]] }, vector('float64'));
  assert.ok(Number.isNaN((withNull.column('input').data as Float64Array)[1]));
  assert.throws(() => decodeInvocation({ inputs: [[1, 2], [1, 2, 3]] }, features('float32')), { message: 'inputs: expected rows of 3 values (a, b, c)' });
  assert.throws(() => decodeInvocation({ instances: [[1, 2, 3, 4]] }, features('float32')), { message: 'instances: expected rows of 3 values (a, b, c)' });
  assert.throws(() => decodeInvocation({ inputs: [[1, 'x', 3]] }, vector('float32')), { message: 'inputs: column "input": expected float32, got string "x" at element 1' });
  const strings: Signature = { inputs: [{ name: 'input', dtype: 'string', shape: [2] }], outputs: [] };
  assert.deepEqual(Array.from(decodeInvocation({ inputs: [['a', 'b']] }, strings).column('input').data as string[]), ['a', 'b']);
});
