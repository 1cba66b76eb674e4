import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelportError } from '../../src/core/errors.js';
import type { Table } from '../../src/data/read-table.js';
import { encodeFeatures, prepareTraining, takeRows } from '../../src/training/prepare.js';

const table = (columns: Table['columns']): Table => ({ source: 't.csv', format: 'csv', rowCount: columns[0].values.length, columns });
const num = (name: string, values: number[]) => ({ name, type: 'number' as const, values: Float64Array.from(values) });
const text = (name: string, values: (string | null)[]) => ({ name, type: 'string' as const, values });

const refused = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message));

describe('preparing a table for training', () => {
  test('numeric columns become features, text columns one-hot features named column=level, the target labels', () => {
    const t = table([num('x', [1, NaN, 3, 4]), text('home', ['RENT', 'OWN', null, 'RENT']), text('y', ['yes', 'no', 'yes', 'no'])]);
    const { data, encoding } = prepareTraining(t, { target: 'y', task: 'binary' });
    assert.deepEqual(encoding.featureNames, ['x', 'home=OWN', 'home=RENT']);
    assert.deepEqual(encoding.classes, ['no', 'yes']);
    assert.deepEqual(Array.from(data.labels), [1, 0, 1, 0]);
    assert.deepEqual(Array.from(data.x), [1, 0, 1, NaN, 1, 0, 3, NaN, NaN, 4, 0, 1]);
    // A level the training data did not have gives 0 in every one-hot feature.
    const other = encodeFeatures(table([num('x', [5]), text('home', ['MORTGAGE'])]), encoding);
    assert.deepEqual(Array.from(other.x), [5, 0, 0]);
  });

  test('bad tables are refused naming the column and the problem', () => {
    const ok = num('x', [1, 2, 3, 4]);
    refused(() => prepareTraining(table([ok, num('y', [0, 1, 0, 1])]), { target: 'label', task: 'binary' }), /target "label" is not a column of t.csv \(columns: x, y\)/);
    refused(() => prepareTraining(table([ok, num('y', [1, 1, 1, 1])]), { target: 'y', task: 'binary' }), /target "y" holds one class only \("1"\)/);
    refused(() => prepareTraining(table([ok, num('y', [0, 1, 2, 1])]), { target: 'y', task: 'binary' }), /has 3 classes .* binary:logistic needs two/);
    refused(() => prepareTraining(table([ok, num('y', [0, 1, NaN, 1])]), { target: 'y', task: 'binary' }), /target "y" is missing in row 3/);
    refused(() => prepareTraining(table([text('b', ['1', '2', '3x', '4', '5', '6', '7', '8', '9', '10']), num('y', [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])]), { target: 'y', task: 'binary' }), /column "b" is numeric but row 3 holds "3x"/);
    refused(() => prepareTraining(table([text('id', ['a', 'b', 'c', 'd']), num('y', [0, 1, 0, 1])]), { target: 'y', task: 'binary', maxLevels: 3 }), /column "id" is text with 4 distinct values .* --drop id/);
    refused(() => prepareTraining(table([ok, num('y', [0, 1, 0, 1])]), { target: 'y', task: 'binary', drop: ['nope'] }), /--drop column "nope" is not a column/);
    refused(() => prepareTraining(table([ok, text('y', ['a', 'b', 'a', 'b'])]), { target: 'y', task: 'regression' }), /must be numeric for regression/);
    refused(() => prepareTraining(table([ok, num('y', [0, 1, -2, 1])]), { target: 'y', task: 'count' }), /is -2 in row 3; counts must be ≥ 0/);
  });
});

test('takeRows copies the listed rows, weights included, into shared memory a fit on another thread reads without a copy', () => {
  const data = { rows: 3, numFeature: 2, featureNames: ['a', 'b'], x: Float32Array.of(1, 2, 3, 4, 5, 6), labels: Float64Array.of(0, 1, 0), weights: Float64Array.of(0.5, 1, 2) };
  const taken = takeRows(data, [2, 0]);
  assert.deepEqual([...taken.x], [5, 6, 1, 2]);
  assert.deepEqual([...taken.labels], [0, 0]);
  assert.deepEqual([...taken.weights!], [2, 0.5]);
  for (const a of [taken.x, taken.labels, taken.weights!]) assert.ok(a.buffer instanceof SharedArrayBuffer);
  const none = takeRows(data, []);
  assert.deepEqual([none.rows, none.x.length, none.labels.length], [0, 0, 0]);
});
