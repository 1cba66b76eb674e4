import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batch, loadModel, type Predictor } from '../../../src/models/index.js';
import { buildOnnxModel, type ModelInit } from '../../../src/models/onnx/builder.js';
import { disagreement, probeBatch } from '../../../src/models/onnx/engine.js';
import { assertClose, fixture, readCsv, readJson } from '../helpers.js';
import { mlpModel } from '../../helpers/mlp-onnx.js';

const tmp = mkdtempSync(join(tmpdir(), 'modelport-onnx-engine-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeModel(name: string, init: ModelInit): string {
  const path = join(tmp, `${name}.onnx`);
  writeFileSync(path, buildOnnxModel(init));
  return path;
}

/** The same model loaded twice: with the default engine choice and with onnxruntime forced. */
async function both<T>(path: string, fn: (auto: Predictor, ort: Predictor) => Promise<T>): Promise<T> {
  const [auto, ort] = await Promise.all([loadModel(path), loadModel(path, { onnxEngine: 'onnxruntime' })]);
  try {
    return await fn(auto, ort);
  } finally {
    await Promise.all([auto.close(), ort.close()]);
  }
}

/** Every output of `a` equals `b`'s: floats within `abs`, integers exactly. */
function assertSame(a: Batch, b: Batch, abs: number): void {
  assert.deepEqual(a.names, b.names);
  for (const [name, col] of b.columns) {
    const got = a.column(name);
    assert.equal(got.dtype, col.dtype, name);
    assert.deepEqual(got.shape, col.shape, name);
    if (col.data instanceof BigInt64Array) assert.deepEqual(Array.from(got.data as BigInt64Array), Array.from(col.data), name);
    else assertClose(got.data as Float32Array, col.data as Float32Array, 0, abs, name);
  }
}

const csv = readCsv('onnx_logreg_breast_cancer', 'input.csv');
const cancer = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(csv.matrix) } });

describe('onnx engine choice', () => {
  for (const path of [fixture('onnx_logreg_breast_cancer', 'model.onnx'), fixture('mlflow_onnx')]) {
    test(`${path.split('/').slice(-2).join('/')} runs in JavaScript, as onnxruntime answers, in every batch size`, async () => {
      const expected = readJson<{ probabilities: number[][]; label: number[] }>('onnx_logreg_breast_cancer', 'expected.json');
      await both(path, async (auto, ort) => {
        assert.equal(auto.metadata.engine, 'js');
        const maxRows = auto.metadata.jsMaxRows as number;
        assert.ok(maxRows >= 1, `jsMaxRows ${maxRows}`);
        assert.equal(ort.metadata.engine, 'onnxruntime');
        assert.equal(ort.metadata.engineReason, 'asked for');
        // The rows again and again, past jsMaxRows (onnxruntime); every row (JavaScript, or
        // onnxruntime when that is more than jsMaxRows); single rows and a batch of jsMaxRows (JavaScript).
        const many = Batch.concat(Array.from({ length: Math.ceil((maxRows + 1) / cancer.rows) }, () => cancer));
        assert.ok(many.rows > maxRows);
        assertSame(await auto.predict(many), await ort.predict(many), 1e-6);
        const whole = await auto.predict(cancer);
        assertSame(whole, await ort.predict(cancer), 1e-6);
        const singles = Batch.concat(await Promise.all(Array.from({ length: cancer.rows }, (_, r) => auto.predict(cancer.slice(r, r + 1)))));
        assertSame(singles, whole, 1e-6);
        assertClose(singles.column('probabilities').data as Float32Array, expected.probabilities.flat(), 0, 1e-5);
        assert.deepEqual(Array.from(singles.column('label').data as BigInt64Array, Number), expected.label);
        const part = many.slice(0, maxRows);
        assertSame(await auto.predict(part), await ort.predict(part), 1e-6);
      });
    });
  }

  test('the MLP runs in JavaScript for small batches and agrees with onnxruntime', async () => {
    await both(writeModel('mlp', mlpModel()), async (auto, ort) => {
      assert.equal(auto.metadata.engine, 'js');
      assert.ok((auto.metadata.jsMaxRows as number) >= 1);
      for (const rows of [1, auto.metadata.jsMaxRows as number, 64]) {
        const batch = cancer.slice(0, rows);
        assertSame(await auto.predict(batch), await ort.predict(batch), 1e-6);
      }
    });
  });

  test('every element-wise activation agrees with onnxruntime (its approximations included) and runs in JavaScript', async () => {
    for (const op of ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg']) {
      const path = writeModel(`activation_${op}`, {
        inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 4] }],
        outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 2] }],
        initializers: [{ name: 'w', dtype: 'float32', dims: [4, 2], values: [0.5, -0.25, 0.1, 0.3, -0.7, 0.2, 0.05, -0.01] }],
        nodes: [
          { op: 'Gemm', inputs: ['x', 'w'], outputs: ['h'] },
          { op, inputs: ['h'], outputs: ['y'] },
        ],
      });
      await both(path, async (auto, ort) => {
        assert.equal(auto.metadata.engine, 'js', `${op}: ${auto.metadata.engineReason}`);
        const batch = Batch.from({ x: { dtype: 'float32', shape: [4], data: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i) * 3) } });
        assertSame(await auto.predict(batch), await ort.predict(batch), 1e-6);
      });
    }
  });

  test('a graph with an operator the evaluator lacks stays on onnxruntime, and says why', async () => {
    const path = writeModel('reduce', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 1] }],
      nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attributes: { keepdims: { int: 1 } } }],
      initializers: [{ name: 'axes', dtype: 'int64', dims: [1], values: [1] }],
    });
    const p = await loadModel(path);
    try {
      assert.equal(p.metadata.engine, 'onnxruntime');
      assert.match(p.metadata.engineReason as string, /operator ReduceSum/);
      const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3, 4, 5, 6) } }));
      assert.deepEqual(Array.from(out.column('y').data as Float32Array), [6, 15]);
    } finally {
      await p.close();
    }
  });

  test('a model over 1 MiB is not decoded for JavaScript: onnxruntime, and says why', async () => {
    // 30 × 10,000 weights: 1.2 MB, a dense graph the evaluator could read but never runs faster.
    const path = writeModel('wide', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 30] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 10_000] }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dtype: 'float32', dims: [30, 10_000], values: Array.from({ length: 300_000 }, (_, i) => (i % 7) - 3) }],
    });
    const p = await loadModel(path);
    try {
      assert.equal(p.metadata.engine, 'onnxruntime');
      assert.match(p.metadata.engineReason as string, /is larger than graphs JavaScript evaluates faster \(1048576 bytes\)/);
      const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [30], data: new Float32Array(30).fill(1) } }));
      // Column j sums (i*10000 + j) % 7 - 3 over i: check one.
      let want = 0;
      for (let i = 0; i < 30; i++) want += ((i * 10_000) % 7) - 3;
      assert.equal((out.column('y').data as Float32Array)[0], want);
    } finally {
      await p.close();
    }
  });

  test('a graph whose float32 sums in onnxruntime lose what JavaScript keeps stays on onnxruntime', async () => {
    // y = x * (1 + 2^-12) - x: onnxruntime rounds the first product to float32 inside the
    // MatMul; the evaluator sums in float64. The probe sees the difference.
    const path = writeModel('cancelling', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 1] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 1] }],
      initializers: [{ name: 'w', dtype: 'float32', dims: [2, 1], values: [1 + 2 ** -12, -1] }],
      nodes: [
        { op: 'Concat', inputs: ['x', 'x'], outputs: ['xx'], attributes: { axis: { int: 1 } } },
        { op: 'MatMul', inputs: ['xx', 'w'], outputs: ['y'] },
      ],
    });
    const p = await loadModel(path);
    try {
      assert.equal(p.metadata.engine, 'onnxruntime');
      assert.match(p.metadata.engineReason as string, /^JavaScript disagrees with onnxruntime: output y\[\d+\] is /);
    } finally {
      await p.close();
    }
  });

  test('a ZipMap classifier keeps its class labels and probability tensor in JavaScript', async () => {
    const path = writeModel('zipmap', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 2] }],
      outputs: [
        { name: 'label', dtype: 'int64', dims: ['N'] },
        { name: 'probability', dtype: 'float32', mapKey: 'string' },
      ],
      initializers: [{ name: 'w', dtype: 'float32', dims: [2, 3], values: [1, 0, -1, 0, 1, 1] }],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['logits'] },
        { op: 'Softmax', inputs: ['logits'], outputs: ['p'], attributes: { axis: { int: 1 } } },
        { op: 'ArgMax', inputs: ['p'], outputs: ['label'], attributes: { axis: { int: 1 }, keepdims: { int: 0 } } },
        { op: 'ZipMap', domain: 'ai.onnx.ml', inputs: ['p'], outputs: ['probability'], attributes: { classlabels_strings: { strings: ['a', 'b', 'c'] } } },
      ],
      opsets: { '': 15, 'ai.onnx.ml': 1 },
    });
    await both(path, async (auto, ort) => {
      assert.equal(auto.metadata.engine, 'js');
      assert.deepEqual(auto.metadata.classLabels, { probability: ['a', 'b', 'c'] });
      assert.deepEqual(auto.signature.outputs, ort.signature.outputs);
      const batch = Batch.from({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(2, 0, 0, 3, -1, -1) } });
      const out = await auto.predict(batch);
      assertSame(out, await ort.predict(batch), 1e-6);
      assert.deepEqual(Array.from(out.column('label').data as BigInt64Array), [0n, 1n, 2n]);
    });
  });

  test('a fixed batch size and forcing onnxruntime both keep onnxruntime', async () => {
    const path = writeModel('fixed', {
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [1, 2] }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    const p = await loadModel(path);
    try {
      assert.deepEqual(p.metadata, { engine: 'onnxruntime', engineReason: 'the graph has a fixed batch size' });
      const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(-1, 2, 3, -4) } }));
      assert.deepEqual(Array.from(out.column('y').data as Float32Array), [0, 2, 3, 0]);
    } finally {
      await p.close();
    }
  });
});

describe('onnx engine probe', () => {
  test('the probe batch is seeded and spans zeros, ones, NaN and magnitudes up to 1e4', () => {
    const a = probeBatch([{ name: 'x', dtype: 'float32', shape: [5] }]);
    const b = probeBatch([{ name: 'x', dtype: 'float32', shape: [5] }]);
    assert.equal(a.rows, 64);
    const data = a.column('x').data as Float32Array;
    assert.deepEqual(Array.from(data), Array.from(b.column('x').data as Float32Array));
    assert.deepEqual(Array.from(data.subarray(0, 10)), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.ok(data.some(Number.isNaN));
    const finite = Array.from(data).filter(Number.isFinite).map(Math.abs);
    assert.equal(Math.max(...finite), 1e4);
    assert.ok(finite.some((v) => v > 0 && v < 1e-2));
  });

  test('disagreement: floats within 1e-5 absolute plus relative, NaN matches NaN, integers exactly', () => {
    const f = (...v: number[]) => Batch.from({ y: { dtype: 'float32', shape: [], data: Float32Array.from(v) } });
    assert.equal(disagreement(f(1, NaN, 1000.005), f(1.000009, NaN, 1000)), undefined);
    assert.match(disagreement(f(1, 2), f(1.00003, 2)) ?? '', /output y\[0\]/);
    assert.match(disagreement(f(NaN), f(0)) ?? '', /output y\[0\] is NaN here, 0 in onnxruntime/);
    const i = (...v: bigint[]) => Batch.from({ y: { dtype: 'int64', shape: [], data: BigInt64Array.from(v) } });
    assert.match(disagreement(i(1n, 2n), i(1n, 3n)) ?? '', /output y\[1\]/);
    assert.match(disagreement(f(1), i(1n)) ?? '', /float32\[\] here, int64\[\] in onnxruntime/);
  });
});
