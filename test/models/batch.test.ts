import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allocatePooled, Batch, column, compact, conform, fromFloat16Bits, rowSize, toFloat16Bits } from '../../src/models/index.js';

function sample(): Batch {
  return Batch.from([
    ['0', column('float32', Float32Array.of(1, 2, 3))],
    ['v', column('int64', BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n), [2])],
    ['s', column('string', ['a', 'b', 'c'])],
  ]);
}

describe('Batch', () => {
  test('keeps column order (even for numeric names), infers rows', () => {
    const b = sample();
    assert.equal(b.rows, 3);
    assert.deepEqual(b.names, ['0', 'v', 's']);
    assert.deepEqual(b.row(1), { '0': 2, v: [3n, 4n], s: 'b' });
  });

  test('slice shares typed-array memory and copies strings', () => {
    const b = sample();
    const s = b.slice(1, 3);
    assert.equal(s.rows, 2);
    assert.deepEqual(Array.from(s.column('v').data as BigInt64Array), [3n, 4n, 5n, 6n]);
    (s.column('0').data as Float32Array)[0] = 42;
    assert.equal((b.column('0').data as Float32Array)[1], 42);
    assert.deepEqual(s.column('s').data, ['b', 'c']);
    assert.equal(b.slice(5).rows, 0);
  });

  test('concat appends rows of matching columns', () => {
    const b = sample();
    const c = Batch.concat([b.slice(0, 1), b.slice(1), Batch.concat([])]);
    assert.equal(c.rows, 3);
    assert.deepEqual(c.row(2), b.row(2));
    assert.throws(() => Batch.concat([b, b.select(['0', 's'])]), { code: 'InvalidArgument', message: /cannot concatenate/ });
    const other = b.with('v', column('int32', Int32Array.of(1, 2, 3, 4, 5, 6), [2]));
    assert.throws(() => Batch.concat([b, other]), { message: 'column "v": cannot concatenate int32[2] with int64[2]' });
  });

  test('with, select and column errors', () => {
    const b = sample();
    assert.deepEqual(b.select(['s', '0']).names, ['s', '0']);
    assert.throws(() => b.column('nope'), { code: 'InvalidArgument', message: 'column "nope" is missing (batch has "0", "v", "s")' });
    assert.throws(() => b.with('w', column('float64', new Float64Array(2))), { message: 'column "w": has 2 rows, expected 3' });
    assert.equal(Batch.empty().with('x', column('float64', new Float64Array(4))).rows, 4);
  });

  test('column() checks the array type and whole rows', () => {
    assert.throws(() => column('float32', new Float64Array(2) as never), { message: /expected a Float32Array, got Float64Array/ });
    assert.throws(() => column('float32', new Float32Array(5), [2]), { message: /5 elements do not form rows of shape \[2\]/ });
    assert.equal(rowSize([2, 3]), 6);
    assert.equal(rowSize([]), 1);
  });

  test('pooled arrays are zeros of their own, aligned for any dtype; large ones own their buffer', () => {
    const a = allocatePooled('float32', 3);
    a.fill(7);
    const b = allocatePooled('int64', 5);
    const c = allocatePooled('float64', 30);
    assert.ok(b instanceof BigInt64Array && c instanceof Float64Array);
    assert.deepEqual(Array.from(b), [0n, 0n, 0n, 0n, 0n]);
    assert.deepEqual(Array.from(c), new Array(30).fill(0));
    assert.equal(b.byteOffset % 8, 0);
    assert.equal(c.byteOffset % 8, 0);
    assert.deepEqual(Array.from(a), [7, 7, 7]);
    const large = allocatePooled('float32', 4096);
    assert.equal(large.buffer.byteLength, large.byteLength);
    assert.deepEqual(allocatePooled('string', 2), ['', '']);
  });

  test('compact copies the columns that view part of a larger buffer, and keeps the rest', () => {
    const b = sample();
    assert.equal(compact(b), b);
    const part = b.slice(1, 2);
    const own = compact(part);
    const data = own.column('0').data as Float32Array;
    assert.equal(data.buffer.byteLength, data.byteLength);
    assert.deepEqual(own.row(0), b.row(1));
    data[0] = 42;
    assert.equal((b.column('0').data as Float32Array)[1], 2);
    assert.equal(own.column('s'), part.column('s'));
  });

  test('zero-width rows need an explicit row count', () => {
    const b = Batch.from({ e: column('float32', new Float32Array(0), [0]) }, 4);
    assert.equal(b.rows, 4);
    assert.equal(b.slice(1, 3).rows, 2);
  });
});

describe('conform', () => {
  const inputs = [
    { name: 'a', dtype: 'float32' as const, shape: [] },
    { name: 'b', dtype: 'int64' as const, shape: [-1] },
  ];

  test('casts numerics, keeps signature order, accepts any size for -1', () => {
    const b = Batch.from({
      b: column('int32', Int32Array.of(1, 2, 3, 4), [2]),
      a: column('float64', Float64Array.of(0.1, 0.2)),
    });
    const c = conform(b, inputs);
    assert.deepEqual(c.names, ['a', 'b']);
    assert.equal(c.column('a').dtype, 'float32');
    assert.deepEqual(Array.from(c.column('b').data as BigInt64Array), [1n, 2n, 3n, 4n]);
  });

  test('a scalar column fits a one-element vector input and vice versa', () => {
    const c = conform(Batch.from({ a: column('float32', Float32Array.of(1, 2)), b: column('int64', BigInt64Array.of(5n, 6n)) }), [
      { name: 'a', dtype: 'float32', shape: [1] },
      { name: 'b', dtype: 'int64', shape: [] },
    ]);
    assert.deepEqual(c.column('a').shape, [1]);
  });

  test('errors name the column and the expectation', () => {
    const ok = { a: column('float32', Float32Array.of(1)), b: column('int64', BigInt64Array.of(1n), [1]) };
    assert.throws(() => conform(Batch.from({ a: ok.a }), inputs), { message: 'column "b" is missing: expected int64[?]' });
    assert.throws(() => conform(Batch.from({ ...ok, c: ok.a }), inputs), { message: 'column "c" not in the model signature (expected "a", "b")' });
    assert.equal(conform(Batch.from({ ...ok, c: ok.a }), inputs, { extraColumns: 'ignore' }).names.length, 2);
    assert.throws(() => conform(Batch.from({ ...ok, a: column('float32', Float32Array.of(1, 2), [2]) }), inputs), {
      message: 'column "a": expected float32, got float32[2]',
    });
    assert.throws(() => conform(Batch.from({ ...ok, b: column('string', ['x']) }), inputs), { message: 'column "b": expected int64, got string' });
    assert.throws(() => conform(Batch.from({ ...ok, b: column('float64', Float64Array.of(0.5), [1]) }), inputs), {
      message: 'column "b": expected int64, got float64 (value 0.5 at element 0 is not an integer)',
    });
  });

  test('scalar columns stack into a single vector input, a vector column splits into scalar inputs', () => {
    const vec = [{ name: 'input', dtype: 'float32' as const, shape: [3] }];
    const stacked = conform(Batch.from({ x: column('float64', Float64Array.of(1, 2)), y: column('int32', Int32Array.of(3, 4)), z: column('float32', Float32Array.of(5, 6)) }), vec);
    assert.deepEqual(Array.from(stacked.column('input').data as Float32Array), [1, 3, 5, 2, 4, 6]);
    const scalars = [
      { name: 'p', dtype: 'float64' as const, shape: [] },
      { name: 'q', dtype: 'float64' as const, shape: [] },
    ];
    const split = conform(Batch.from({ t: column('float32', Float32Array.of(1, 2, 3, 4), [2]) }), scalars);
    assert.deepEqual(Array.from(split.column('q').data as Float64Array), [2, 4]);
  });
});

describe('float16', () => {
  test('encodes with round-to-nearest-even, including subnormals, overflow and NaN', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002],
      [0.1, 0x2e66],
      [-0, 0x8000],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [v, bits] of cases) assert.equal(toFloat16Bits(v), bits, `${v}`);
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
  });

  test('every finite half value round-trips', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
      assert.equal(toFloat16Bits(fromFloat16Bits(h)), h);
    }
  });

  test('float16 columns cast to and from other numeric types; rows decode to numbers', () => {
    const halves = conform(Batch.from({ h: column('float32', Float32Array.of(1.5, -0.25)) }), [{ name: 'h', dtype: 'float16', shape: [] }]);
    assert.deepEqual(Array.from(halves.column('h').data as Uint16Array), [0x3e00, 0xb400]);
    assert.deepEqual(halves.row(1), { h: -0.25 });
    const back = conform(halves, [{ name: 'h', dtype: 'float64', shape: [] }]);
    assert.deepEqual(Array.from(back.column('h').data as Float64Array), [1.5, -0.25]);
  });
});
