import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, fromColumns, fromRecords, fromTensors, toBatch, type Signature } from '../../src/models/index.js';

const signature: Signature = {
  inputs: [
    { name: 'age', dtype: 'float64', shape: [] },
    { name: 'city', dtype: 'string', shape: [] },
    { name: 'emb', dtype: 'float32', shape: [2] },
    { name: 'n', dtype: 'int64', shape: [] },
  ],
  outputs: [],
};

describe('JSON → Batch', () => {
  test('records: typed by the signature, missing floats become NaN', () => {
    const b = fromRecords(
      [
        { age: 31, city: 'Oslo', emb: [0.5, 1], n: 3 },
        { city: 'Rome', emb: [1, 2], n: 4, age: null },
      ],
      signature,
    );
    assert.deepEqual(b.names, ['age', 'city', 'emb', 'n']);
    assert.ok(Number.isNaN((b.column('age').data as Float64Array)[1]));
    assert.deepEqual(b.column('city').data, ['Oslo', 'Rome']);
    assert.deepEqual(Array.from(b.column('emb').data as Float32Array), [0.5, 1, 1, 2]);
    assert.deepEqual(Array.from(b.column('n').data as BigInt64Array), [3n, 4n]);
  });

  test('records: errors name the column, the expectation and the row', () => {
    const good = { age: 1, city: 'x', emb: [1, 2], n: 1 };
    assert.throws(() => fromRecords([good, { ...good, age: 'old' }], signature), {
      code: 'InvalidArgument',
      message: 'column "age": expected float64, got string "old" at element 1',
    });
    assert.throws(() => fromRecords([{ ...good, emb: [1, 2, 3] }], signature), { message: 'column "emb": expected float32[2], got an array in row 0' });
    assert.throws(() => fromRecords([{ ...good, n: 1.5 }], signature), { message: 'column "n": expected int64, got number 1.5 at element 0' });
    assert.throws(() => fromRecords([{ age: 1, city: 'x', emb: [1, 2] }], signature), { message: 'column "n" is missing: expected int64' });
    assert.throws(() => fromRecords([{ ...good, extra: true }], signature), { message: 'column "extra" not in the model signature (expected "age", "city", "emb", "n")' });
    assert.equal(fromRecords([{ ...good, extra: true }], signature, { extraColumns: 'ignore' }).names.length, 4);
    assert.throws(() => fromRecords([3], signature), { message: 'record 0: expected an object, got number 3' });
  });

  test('columns, and inference without a signature', () => {
    const b = fromColumns({ a: [1, 2.5], b: ['x', 'y'], c: [true, false], d: [[1, 2], [3, 4]] });
    assert.deepEqual(
      [...b.columns.values()].map((c) => [c.dtype, c.shape]),
      [
        ['float64', []],
        ['string', []],
        ['bool', []],
        ['float64', [2]],
      ],
    );
    assert.throws(() => fromColumns({ a: [1, 2], b: [1] }), { message: 'column "b": has 1 rows, expected 2' });
    assert.throws(() => fromColumns({ a: [1, 'x'] }), { message: 'column "a": mixes float64 and string values' });
  });

  test('tensors: V2 datatypes, flat or nested data, shape checked', () => {
    const b = fromTensors([
      { name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
      { name: 'y', shape: [2], datatype: 'INT64', data: [[7], [8]] },
      { name: 's', shape: [2], datatype: 'BYTES', data: ['a', 'b'] },
    ]);
    assert.equal(b.rows, 2);
    assert.deepEqual(b.column('x').shape, [3]);
    assert.deepEqual(Array.from(b.column('y').data as BigInt64Array), [7n, 8n]);
    const half = fromTensors([{ name: 'h', shape: [2], datatype: 'FP16', data: [1, null] }]);
    assert.deepEqual(Array.from(half.column('h').data as Uint16Array), [0x3c00, 0x7e00]);
    assert.throws(() => fromTensors([{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }]), {
      message: 'tensor "x": shape [2, 2] needs 4 elements, data has 3',
    });
    assert.throws(() => fromTensors([{ name: 'x', shape: [1], datatype: 'COMPLEX', data: [1] }]), { message: 'tensor "x": unknown datatype "COMPLEX"' });
    assert.throws(() => fromTensors([{ name: 'x', shape: [1], datatype: 'INT8', data: [300] }]), { message: 'column "x": expected int8, got number 300 (out of range) at element 0' });
    assert.throws(
      () =>
        fromTensors([
          { name: 'x', shape: [1], datatype: 'FP32', data: [1] },
          { name: 'y', shape: [2], datatype: 'FP32', data: [1, 2] },
        ]),
      { message: /batch dimension 2 differs from 1/ },
    );
  });

  test('tensors: flat float data with a null, a string or a nested element reads as the general path does', () => {
    const nulls = fromTensors([{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, null, 3] }]);
    assert.deepEqual(Array.from(nulls.column('x').data as Float32Array), [1, NaN, 3]);
    assert.throws(() => fromTensors([{ name: 'x', shape: [1, 3], datatype: 'FP64', data: [1, 'a', 3] }]), {
      message: 'column "x": expected float64, got string "a" at element 1',
    });
    assert.throws(() => fromTensors([{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, [2, 3], 4] }]), {
      message: 'tensor "x": shape [1, 3] needs 3 elements, data has 4',
    });
    const sig: Signature = { inputs: [{ name: 'x', dtype: 'float32', shape: [2] }], outputs: [] };
    const typed = fromTensors([{ name: 'x', shape: [2, 2], data: [0.1, 2, 3, 4] }], sig);
    assert.equal(typed.column('x').dtype, 'float32');
    assert.deepEqual(Array.from(typed.column('x').data as Float32Array), [Math.fround(0.1), 2, 3, 4]);
  });

  test('toBatch tells the forms apart', () => {
    const sig1: Signature = { inputs: [{ name: 'input', dtype: 'float32', shape: [2] }], outputs: [] };
    const instances = toBatch([[1, 2], [3, 4]], sig1);
    assert.deepEqual(Array.from(instances.column('input').data as Float32Array), [1, 2, 3, 4]);
    const tensors = toBatch([{ name: 'input', shape: [1, 2], data: [5, 6] }], sig1);
    assert.equal(tensors.column('input').dtype, 'float32');
    const records = toBatch([{ a: 1, b: 2 }], sig1);
    assert.deepEqual(Array.from(records.column('input').data as Float32Array), [1, 2]);
    const sig2: Signature = { inputs: [{ name: 'a', dtype: 'float64', shape: [] }, { name: 'b', dtype: 'string', shape: [] }], outputs: [] };
    const rows = toBatch([[1, 'x'], [2, 'y']], sig2);
    assert.deepEqual(rows.column('b').data, ['x', 'y']);
    assert.ok(toBatch(rows, sig2) instanceof Batch);
    assert.throws(() => toBatch([[1, 2]]), { message: /needs a model signature/ });
    assert.throws(() => toBatch('nope', sig2), { message: 'expected records, columns or tensors, got string "nope"' });
  });
});
