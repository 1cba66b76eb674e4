import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOnnxModel, type ModelInit, type NodeInit, type TensorInit } from '../../../src/models/onnx/builder.js';
import { compileDenseGraph, type DensePort } from '../../../src/models/onnx/dense-graph.js';
import { readGraph, Unsupported } from '../../../src/models/onnx/graph.js';
import { assertClose } from '../helpers.js';

function model(nodes: NodeInit[], initializers: TensorInit[] = [], k = 3, opsets?: ModelInit['opsets']): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', k] }],
    outputs: [{ name: 'y', dtype: 'float32' }],
    nodes,
    initializers,
    opsets,
  });
}

const input = (k: number): DensePort[] => [{ name: 'x', dtype: 'float32', shape: [k] }];

/** Runs a one-input, one-output graph on `x` (rows of k values). */
function evaluate(nodes: NodeInit[], initializers: TensorInit[], x: number[][], out: DensePort = { name: 'y', dtype: 'float32', shape: [-1] }) {
  const k = x[0].length;
  const graph = compileDenseGraph(readGraph(model(nodes, initializers, k)), input(k), [out]);
  const [[name, column]] = graph.run([Float32Array.from(x.flat())], x.length);
  assert.equal(name, out.name);
  return column;
}

const floats = (name: string, dims: number[], values: number[]): TensorInit => ({ name, dtype: 'float32', dims, values });
const rows = [
  [1, 2, 3],
  [-4, 0.5, 6],
];

describe('dense graph: operators against hand-computed values', () => {
  test('Add, Sub, Mul, Div broadcast a row vector, a [1, k] row, a scalar and a [N, 1] column', () => {
    const cases: [string, TensorInit, (a: number, b: number) => number][] = [
      ['Add', floats('c', [3], [10, 20, 30]), (a, b) => a + b],
      ['Sub', floats('c', [1, 3], [1, 1, 2]), (a, b) => a - b],
      ['Mul', floats('c', [], [-2]), (a, b) => a * b],
      ['Div', floats('c', [1], [4]), (a, b) => a / b],
    ];
    for (const [op, c, f] of cases) {
      const col = evaluate([{ op, inputs: ['x', 'c'], outputs: ['y'] }], [c], rows);
      const cv = c.values as number[];
      const expected = rows.flatMap((r) => r.map((v, j) => f(v, cv.length === 1 ? cv[0] : cv[j])));
      assert.deepEqual(col.shape, [3], op);
      assertClose(col.data as Float32Array, expected, 1e-7, 0, op);
    }
    // The constant on the left.
    const left = evaluate([{ op: 'Sub', inputs: ['c', 'x'], outputs: ['y'] }], [floats('c', [3], [1, 1, 1])], rows);
    assert.deepEqual(Array.from(left.data as Float32Array), [0, -1, -2, 5, 0.5, -5]);
  });

  test('a batched [N, 1] broadcasts against [N, k]', () => {
    const col = evaluate(
      [
        { op: 'Gemm', inputs: ['x', 'ones'], outputs: ['s'] },
        { op: 'Div', inputs: ['x', 's'], outputs: ['y'] },
      ],
      [floats('ones', [3, 1], [1, 1, 1])],
      rows,
    );
    assertClose(col.data as Float32Array, [1 / 6, 2 / 6, 3 / 6, -4 / 2.5, 0.5 / 2.5, 6 / 2.5], 1e-7);
  });

  test('Gemm with alpha, beta, a [M] bias and transB 0 or 1', () => {
    const b = [
      [1, 0, -1, 2],
      [0.5, 2, 0, 0],
      [-1, 1, 1, 1],
    ]; // [K=3, M=4]
    const bias = [0.1, 0.2, 0.3, 0.4];
    const expected = rows.flatMap((r) => bias.map((c, m) => 2 * r.reduce((s, v, k) => s + v * b[k][m], 0) + 0.5 * c));
    const attributes = { alpha: { float: 2 }, beta: { float: 0.5 } };
    const plain = evaluate([{ op: 'Gemm', inputs: ['x', 'b', 'c'], outputs: ['y'], attributes }], [floats('b', [3, 4], b.flat()), floats('c', [4], bias)], rows);
    assert.deepEqual(plain.shape, [4]);
    assertClose(plain.data as Float32Array, expected, 1e-6);
    const transposed = b[0].map((_, m) => b.map((row) => row[m])); // [M=4, K=3]
    const t = evaluate(
      [{ op: 'Gemm', inputs: ['x', 'b', 'c'], outputs: ['y'], attributes: { ...attributes, transB: { int: 1 } } }],
      [floats('b', [4, 3], transposed.flat()), floats('c', [1, 4], bias)],
      rows,
    );
    assertClose(t.data as Float32Array, expected, 1e-6);
    // A scalar bias, and no bias at all.
    const scalar = evaluate([{ op: 'Gemm', inputs: ['x', 'b', 'c'], outputs: ['y'] }], [floats('b', [3, 1], [1, 1, 1]), floats('c', [1], [-1])], rows);
    assert.deepEqual(Array.from(scalar.data as Float32Array), [5, 1.5]);
    const none = evaluate([{ op: 'Gemm', inputs: ['x', 'b'], outputs: ['y'] }], [floats('b', [3, 2], [1, 0, 0, 1, 0, 0])], rows);
    assert.deepEqual(Array.from(none.data as Float32Array), [1, 2, -4, 0.5]);
  });

  test('a dense product gives each row the same bits alone and in batches of any size (pairs of rows, an odd last row, columns past the last four)', () => {
    const k = 7;
    const m = 6;
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff) * 2 - 1;
    const weights = Array.from({ length: k * m }, random);
    const bias = Array.from({ length: m }, random);
    const x = Array.from({ length: 5 }, () => Array.from({ length: k }, () => Math.fround(random() * 100)));
    const wf = Float32Array.from(weights);
    const bf = Float32Array.from(bias);
    // Each sum in float64, over k in order, then alpha and the bias: what the evaluator promises.
    const expected = (row: number[]) => Array.from({ length: m }, (_, j) => Math.fround(1.5 * row.reduce((s, v, i) => s + v * wf[i * m + j], 0) + bf[j]));
    const nodes: NodeInit[] = [{ op: 'Gemm', inputs: ['x', 'b', 'c'], outputs: ['y'], attributes: { alpha: { float: 1.5 } } }];
    const init = [floats('b', [k, m], weights), floats('c', [m], bias)];
    for (let n = 1; n <= x.length; n++) {
      const got = evaluate(nodes, init, x.slice(0, n));
      assert.deepEqual(Array.from(got.data as Float32Array), x.slice(0, n).flatMap(expected), `${n} rows`);
    }
  });

  test('MatMul by a matrix and by a vector (one value per row)', () => {
    const m = evaluate([{ op: 'MatMul', inputs: ['x', 'b'], outputs: ['y'] }], [floats('b', [3, 2], [1, 2, 3, 4, 5, 6])], rows);
    assert.deepEqual(m.shape, [2]);
    assert.deepEqual(Array.from(m.data as Float32Array), [1 + 6 + 15, 2 + 8 + 18, -4 + 1.5 + 30, -8 + 2 + 36]);
    const v = evaluate([{ op: 'MatMul', inputs: ['x', 'b'], outputs: ['y'] }], [floats('b', [3], [1, -1, 2])], rows, { name: 'y', dtype: 'float32', shape: [] });
    assert.deepEqual(v.shape, []);
    assert.deepEqual(Array.from(v.data as Float32Array), [1 - 2 + 6, -4 - 0.5 + 12]);
  });

  test('unary activations', () => {
    const x = [[-2, 0, 0.5, 3]];
    const f32 = (v: number) => Math.fround(v);
    const cases: [string, (v: number) => number][] = [
      ['Relu', (v) => Math.max(0, v)],
      ['Sigmoid', (v) => 1 / (1 + Math.exp(-v))],
      ['Tanh', Math.tanh],
      ['Exp', Math.exp],
      ['Abs', Math.abs],
      ['Neg', (v) => -v],
    ];
    for (const [op, f] of cases) {
      const col = evaluate([{ op, inputs: ['x'], outputs: ['y'] }], [], x);
      assert.deepEqual(Array.from(col.data as Float32Array), x[0].map((v) => f32(f(v))), op);
    }
    const logs = evaluate([{ op: 'Log', inputs: ['x'], outputs: ['y'] }], [], [[1, 8, 0, -1]]);
    assert.deepEqual(Array.from(logs.data as Float32Array), [0, f32(Math.log(8)), -Infinity, NaN]);
    const roots = evaluate([{ op: 'Sqrt', inputs: ['x'], outputs: ['y'] }], [], [[4, 2.25, NaN]]);
    assert.deepEqual(Array.from(roots.data as Float32Array), [2, 1.5, NaN]);
    const relu = evaluate([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [], [[NaN, -0.5]]);
    assert.deepEqual(Array.from(relu.data as Float32Array), [NaN, 0]);
  });

  test('Softmax over the last axis (axis 1 or -1), stable for large values', () => {
    for (const axis of [1, -1]) {
      const col = evaluate([{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attributes: { axis: { int: axis } } }], [], [
        [1, 2, 3],
        [1000, 1000, 0],
      ]);
      const e = [Math.exp(-2), Math.exp(-1), 1];
      const sum = e[0] + e[1] + e[2];
      assertClose(col.data as Float32Array, [...e.map((v) => v / sum), 0.5, 0.5, 0], 1e-6, 1e-7);
    }
  });

  test('Concat along axis 1 of batches of different widths', () => {
    const col = evaluate(
      [
        { op: 'MatMul', inputs: ['x', 'b'], outputs: ['s'] },
        { op: 'Concat', inputs: ['s', 'x', 's'], outputs: ['y'], attributes: { axis: { int: 1 } } },
      ],
      [floats('b', [3, 1], [1, 1, 1])],
      rows,
      { name: 'y', dtype: 'float32', shape: [5] },
    );
    assert.deepEqual(col.shape, [5]);
    assert.deepEqual(Array.from(col.data as Float32Array), [6, 1, 2, 3, 6, 2.5, -4, 0.5, 6, 2.5]);
  });

  test('ArgMax returns int64 like onnxruntime: keepdims 0 or 1, the first or the last of ties', () => {
    const x = [
      [1, 5, 5],
      [7, 0, 7],
      [-1, -2, -3],
    ];
    const argmax = (attributes: NodeInit['attributes'], shape: number[]) =>
      evaluate([{ op: 'ArgMax', inputs: ['x'], outputs: ['y'], attributes: { axis: { int: 1 }, ...attributes } }], [], x, { name: 'y', dtype: 'int64', shape });
    const flat = argmax({ keepdims: { int: 0 } }, []);
    assert.ok(flat.data instanceof BigInt64Array);
    assert.deepEqual(flat.shape, []);
    assert.deepEqual(Array.from(flat.data), [1n, 0n, 0n]);
    const kept = argmax({}, [1]);
    assert.deepEqual(kept.shape, [1]);
    assert.deepEqual(Array.from(kept.data as BigInt64Array), [1n, 0n, 0n]);
    const last = argmax({ keepdims: { int: 0 }, select_last_index: { int: 1 } }, []);
    assert.deepEqual(Array.from(last.data as BigInt64Array), [2n, 2n, 0n]);
  });

  test('Identity, Flatten, Cast and Constant', () => {
    const col = evaluate(
      [
        { op: 'Identity', inputs: ['x'], outputs: ['a'] },
        { op: 'Flatten', inputs: ['a'], outputs: ['b'], attributes: { axis: { int: 1 } } },
        { op: 'ArgMax', inputs: ['b'], outputs: ['i'], attributes: { axis: { int: 1 }, keepdims: { int: 0 } } },
        { op: 'Cast', inputs: ['i'], outputs: ['ii'], attributes: { to: { int: 7 } } },
        { op: 'Flatten', inputs: ['ii'], outputs: ['col'] },
        { op: 'Cast', inputs: ['col'], outputs: ['f'], attributes: { to: { int: 1 } } },
        { op: 'Constant', inputs: [], outputs: ['ten'], attributes: { value: { tensor: { dtype: 'float32', dims: [1], values: [10] } } } },
        { op: 'Mul', inputs: ['f', 'ten'], outputs: ['y'] },
      ],
      [],
      rows,
      { name: 'y', dtype: 'float32', shape: [1] },
    );
    assert.deepEqual(Array.from(col.data as Float32Array), [20, 20]);
  });
});

describe('dense graph: buffers', () => {
  test('outputs are fresh arrays; batches of any size reuse the intermediates', () => {
    const graph = compileDenseGraph(
      readGraph(model([{ op: 'Add', inputs: ['x', 'c'], outputs: ['t'] }, { op: 'Relu', inputs: ['t'], outputs: ['y'] }], [floats('c', [3], [1, 1, 1])])),
      input(3),
      [{ name: 'y', dtype: 'float32', shape: [3] }],
    );
    const first = graph.run([Float32Array.of(1, 2, 3, -5, -5, -5)], 2)[0][1].data;
    const big = graph.run([new Float32Array(300).fill(1)], 100)[0][1].data;
    const one = graph.run([Float32Array.of(0, -2, 9)], 1)[0][1].data;
    assert.deepEqual(Array.from(first as Float32Array), [2, 3, 4, 0, 0, 0]);
    assert.equal(big.length, 300);
    assert.ok((big as Float32Array).every((v) => v === 2));
    assert.deepEqual(Array.from(one as Float32Array), [1, 0, 10]);
  });
});

describe('dense graph: what it refuses', () => {
  const refuses = (bytes: Uint8Array, pattern: RegExp, inputs = input(3), outputs: DensePort[] = [{ name: 'y', dtype: 'float32', shape: [-1] }]) =>
    assert.throws(() => compileDenseGraph(readGraph(bytes), inputs, outputs), (err: Error) => err instanceof Unsupported && pattern.test(err.message));

  test('operators, attributes and domains it does not implement', () => {
    refuses(model([{ op: 'ReduceSum', inputs: ['x'], outputs: ['y'] }]), /operator ReduceSum/);
    refuses(model([{ op: 'Gemm', inputs: ['x', 'b'], outputs: ['y'], attributes: { transA: { int: 1 } } }], [floats('b', [3, 3], new Array(9).fill(1))]), /transA/);
    refuses(model([{ op: 'Relu', inputs: ['x'], outputs: ['y'], attributes: { unknown: { int: 1 } } }]), /Relu attribute unknown/);
    refuses(model([{ op: 'Normalizer', domain: 'ai.onnx.ml', inputs: ['x'], outputs: ['y'] }]), /ai\.onnx\.ml\.Normalizer/);
    refuses(model([{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attributes: { axis: { int: 0 } } }]), /Softmax/);
    refuses(model([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], [], 3, { '': 6 }), /opset 6/);
  });

  test('shapes and types it cannot follow without guessing', () => {
    // A constant with a batch extent of its own would broadcast against N.
    refuses(model([{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], [floats('c', [3, 1], [1, 2, 3])]), /dims \[3, 1\]/);
    refuses(model([{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], [floats('c', [2], [1, 1])]), /incompatible/);
    refuses(model([{ op: 'MatMul', inputs: ['x', 'b'], outputs: ['y'] }], [floats('b', [4, 1], [1, 1, 1, 1])]), /product/);
    refuses(model([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]), /input x/, [{ name: 'x', dtype: 'float64', shape: [3] }]);
    refuses(model([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]), /input x/, [{ name: 'x', dtype: 'float32', shape: [-1] }]);
    refuses(model([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]), /output y/, input(3), [{ name: 'y', dtype: 'int64', shape: [3] }]);
    refuses(model([{ op: 'Identity', inputs: ['c'], outputs: ['y'] }], [floats('c', [3], [1, 2, 3])]), /constant/);
    const external: TensorInit = { ...floats('c', [3], [1, 2, 3]), externalFile: 'c.bin' };
    refuses(model([{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], [external]), /outside the model/);
  });
});
