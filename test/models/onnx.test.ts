import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocate, Batch, loadModel, parseXgboost, xgboostToOnnx, type DType, type Predictor } from '../../src/models/index.js';
import { buildOnnxModel, externalBytes, type AttributeValue, type ModelInit, type TensorInit } from '../../src/models/onnx/builder.js';
import { stripZipMap } from '../../src/models/onnx/zipmap.js';
import { assertClose, fixture, readCsv, readJson } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'modelport-onnx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeModel(name: string, init: ModelInit): string {
  const path = join(tmp, `${name}.onnx`);
  writeFileSync(path, buildOnnxModel(init));
  return path;
}

async function withPredictor<T>(path: string, fn: (p: Predictor) => Promise<T>, options = {}): Promise<T> {
  const p = await loadModel(path, options);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

interface SklearnExpected {
  probabilities: number[][];
  label: number[];
}

describe('onnx flavor: scikit-learn fixtures', () => {
  const csv = readCsv('onnx_logreg_breast_cancer', 'input.csv');
  const tensor = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(csv.matrix) } });

  for (const name of ['onnx_logreg_breast_cancer', 'onnx_forest_breast_cancer']) {
    test(`${name}: probabilities within 1e-5, labels equal`, async () => {
      const expected = readJson<SklearnExpected>(name, 'expected.json');
      await withPredictor(fixture(name, 'model.onnx'), async (p) => {
        assert.equal(p.flavor, 'onnx');
        assert.deepEqual(p.signature, {
          inputs: [{ name: 'input', dtype: 'float32', shape: [30] }],
          outputs: [
            { name: 'label', dtype: 'int64', shape: [] },
            { name: 'probabilities', dtype: 'float32', shape: [2] },
          ],
        });
        const out = await p.predict(tensor);
        assertClose(out.column('probabilities').data as Float32Array, expected.probabilities.flat(), 0, 1e-5, 'probabilities');
        assert.deepEqual(Array.from(out.column('label').data as BigInt64Array, Number), expected.label);
      });
    });
  }

  test('float64 input, 30 named columns instead of one tensor, single rows and concurrent calls', async () => {
    const expected = readJson<SklearnExpected>('onnx_logreg_breast_cancer', 'expected.json');
    await withPredictor(fixture('onnx_logreg_breast_cancer', 'model.onnx'), async (p) => {
      const columns = Batch.from(csv.names.map((n, j) => [n, { dtype: 'float64', shape: [], data: csv.columns[j] }] as const));
      const out = await p.predict(columns);
      assertClose(out.column('probabilities').data as Float32Array, expected.probabilities.flat(), 0, 1e-5);
      const singles = await Promise.all(Array.from({ length: csv.rows }, (_, r) => p.predict(tensor.slice(r, r + 1))));
      assertClose(Batch.concat(singles).column('probabilities').data as Float32Array, expected.probabilities.flat(), 0, 1e-5);
    });
  });

  test('session options are applied (one thread, no graph optimisation)', async () => {
    const expected = readJson<SklearnExpected>('onnx_forest_breast_cancer', 'expected.json');
    const options = { threads: 1, graphOptimizationLevel: 'disabled' as const, executionMode: 'sequential' as const };
    await withPredictor(
      fixture('onnx_forest_breast_cancer', 'model.onnx'),
      async (p) => {
        const out = await p.predict(tensor);
        assertClose(out.column('probabilities').data as Float32Array, expected.probabilities.flat(), 0, 1e-5);
      },
      options,
    );
  });

  test('wrong inputs are InvalidArgument naming the column', async () => {
    await withPredictor(fixture('onnx_logreg_breast_cancer', 'model.onnx'), async (p) => {
      await assert.rejects(p.predict(Batch.from({ input: { dtype: 'float32', shape: [29], data: new Float32Array(29) } })), {
        code: 'InvalidArgument',
        message: 'column "input": expected float32[30], got float32[29]',
      });
      await assert.rejects(p.predict(Batch.from({ input: { dtype: 'string', shape: [30], data: new Array(30).fill('a') } })), {
        code: 'InvalidArgument',
        message: 'column "input": expected float32, got string',
      });
      await assert.rejects(p.predict(tensor.with('extra', { dtype: 'float32', shape: [], data: new Float32Array(csv.rows) })), {
        code: 'InvalidArgument',
        message: /column "extra" not in the model signature/,
      });
      await assert.rejects(p.predict(Batch.from({ other: { dtype: 'float32', shape: [], data: new Float32Array(1) } })), {
        code: 'InvalidArgument',
        message: 'column "other" not in the model signature (expected "input")',
      });
    });
  });
});

describe('onnx flavor: tensor types', () => {
  const numeric: [DType, unknown[]][] = [
    ['float32', [1.5, -2, 0, 3.25]],
    ['float64', [1e300, -2.5, 0, 7]],
    ['float16', [0x3c00, 0xc000, 0, 0x7bff]],
    ['int8', [-128, 127, 0, 5]],
    ['int16', [-32768, 32767, 0, 5]],
    ['int32', [-(2 ** 31), 2 ** 31 - 1, 0, 5]],
    ['int64', [-(2n ** 63n), 2n ** 63n - 1n, 0n, 5n]],
    ['uint8', [0, 255, 1, 2]],
    ['uint16', [0, 65535, 1, 2]],
    ['uint32', [0, 2 ** 32 - 1, 1, 2]],
    ['uint64', [0n, 2n ** 64n - 1n, 1n, 2n]],
    ['bool', [1, 0, 1, 1]],
    ['string', ['a', '', 'ünï', 'd']],
  ];
  for (const [dtype, values] of numeric) {
    test(`${dtype} passes through Identity with dynamic batch`, async () => {
      const path = writeModel(`identity_${dtype}`, {
        inputs: [{ name: 'x', dtype, dims: ['batch', 2] }],
        outputs: [{ name: 'y', dtype, dims: ['batch', 2] }],
        nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
      });
      await withPredictor(path, async (p) => {
        assert.deepEqual(p.signature.inputs, [{ name: 'x', dtype, shape: [2] }]);
        const data = allocate(dtype, values.length);
        values.forEach((v, i) => ((data as unknown[])[i] = v));
        const out = await p.predict(Batch.from({ x: { dtype, shape: [2], data } }));
        assert.equal(out.rows, 2);
        assert.equal(out.column('y').dtype, dtype);
        assert.deepEqual(Array.from(out.column('y').data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
      });
    });
  }

  test('integer inputs cast from JSON-ish float64 when exact, refused otherwise', async () => {
    const path = writeModel('identity_int32_cast', {
      inputs: [{ name: 'x', dtype: 'int32', dims: ['N'] }],
      outputs: [{ name: 'y', dtype: 'int32', dims: ['N'] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });
    await withPredictor(path, async (p) => {
      assert.deepEqual(p.signature.inputs, [{ name: 'x', dtype: 'int32', shape: [] }]);
      const out = await p.predict(Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.of(1, -2, 3) } }));
      assert.deepEqual(Array.from(out.column('y').data as Int32Array), [1, -2, 3]);
      await assert.rejects(p.predict(Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.of(1.5) } })), {
        message: 'column "x": expected int32, got float64 (value 1.5 at element 0 is not an integer)',
      });
      await assert.rejects(p.predict(Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.of(2 ** 40) } })), {
        message: /out of range/,
      });
    });
  });

  test('an input the graph cannot take at run time is an InvalidArgument', async () => {
    const path = writeModel('reshape', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 'K'] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['M', 2] }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
      initializers: [{ name: 'shape', dtype: 'int64', dims: [2], values: [-1, 2] }],
    });
    await withPredictor(path, async (p) => {
      assert.deepEqual(p.signature.inputs, [{ name: 'x', dtype: 'float32', shape: [-1] }]);
      const ok = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2, 3, 4) } }));
      assert.deepEqual(Array.from(ok.column('y').data as Float32Array), [1, 2, 3, 4]);
      await assert.rejects(p.predict(Batch.from({ x: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) } })), {
        code: 'InvalidArgument',
        message: /^onnxruntime rejected the input/,
      });
    });
  });

  test('initializers in an external data file beside the model are found', async () => {
    const weights: TensorInit = { name: 'w', dtype: 'float32', dims: [2], values: [10, 20], externalFile: 'external.bin' };
    writeFileSync(join(tmp, 'external.bin'), externalBytes(weights));
    const path = writeModel('external', {
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 2] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: ['N', 2] }],
      nodes: [{ op: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [weights],
    });
    await withPredictor(path, async (p) => {
      const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2, 3, 4) } }));
      assert.deepEqual(Array.from(out.column('y').data as Float32Array), [10, 40, 30, 80]);
    });
  });

  test('a graph with a fixed batch dimension of 1 is run row by row', async () => {
    const path = writeModel('fixed_batch', {
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [1] }],
      nodes: [{ op: 'ReduceSum', inputs: ['x'], outputs: ['y'], attributes: { axes: { ints: [1] }, keepdims: { int: 0 } } }],
      opsets: { '': 12 },
    });
    await withPredictor(path, async (p) => {
      const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2, 3, 4, 5, 6) } }));
      assert.deepEqual(Array.from(out.column('y').data as Float32Array), [3, 7, 11]);
    });
  });
});

describe('onnx flavor: ai.onnx.ml operators', () => {
  // A skl2onnx-shaped classifier: LinearClassifier → probabilities → ZipMap.
  const w = [
    [0.5, -1, 2],
    [-0.5, 1, -2],
  ];
  const b = [0.1, -0.1];
  const rows = [
    [1, 2, 3],
    [0, -1, 0.5],
    [4, 0, -1],
  ];
  function softmaxRow(x: number[]): number[] {
    const z = w.map((wk, k) => wk.reduce((s, v, j) => s + v * x[j], b[k]));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / sum);
  }
  for (const labels of ['int64', 'string'] as const) {
    test(`LinearClassifier with ZipMap (${labels} labels) returns a probability tensor`, async () => {
      const classAttrs: Record<string, AttributeValue> = labels === 'int64' ? { classlabels_ints: { ints: [0, 1] } } : { classlabels_strings: { strings: ['no', 'yes'] } };
      const zipAttrs: Record<string, AttributeValue> = labels === 'int64' ? { classlabels_int64s: { ints: [0, 1] } } : { classlabels_strings: { strings: ['no', 'yes'] } };
      const path = writeModel(`linear_zipmap_${labels}`, {
        inputs: [{ name: 'float_input', dtype: 'float32', dims: ['N', 3] }],
        outputs: [
          { name: 'output_label', dtype: labels, dims: ['N'] },
          { name: 'output_probability', dtype: 'float32', mapKey: labels },
        ],
        nodes: [
          {
            op: 'LinearClassifier',
            domain: 'ai.onnx.ml',
            inputs: ['float_input'],
            outputs: ['output_label', 'probabilities'],
            attributes: { coefficients: { floats: w.flat() }, intercepts: { floats: b }, post_transform: { string: 'SOFTMAX' }, multi_class: { int: 0 }, ...classAttrs },
          },
          { op: 'ZipMap', domain: 'ai.onnx.ml', inputs: ['probabilities'], outputs: ['output_probability'], attributes: zipAttrs },
        ],
        opsets: { '': 15, 'ai.onnx.ml': 1 },
      });
      await withPredictor(path, async (p) => {
        assert.deepEqual(p.signature.outputs[1], { name: 'output_probability', dtype: 'float32', shape: [2] });
        assert.deepEqual(p.metadata.classLabels, { output_probability: labels === 'int64' ? ['0', '1'] : ['no', 'yes'] });
        const out = await p.predict(Batch.from({ float_input: { dtype: 'float32', shape: [3], data: Float32Array.from(rows.flat()) } }));
        const probs = out.column('output_probability');
        assert.deepEqual(probs.shape, [2]);
        const expected = rows.map(softmaxRow);
        assertClose(probs.data as Float32Array, expected.flat(), 0, 1e-6);
        const winners = expected.map((pr) => (pr[1] > pr[0] ? 1 : 0));
        const got = Array.from(out.column('output_label').data as ArrayLike<unknown>, String);
        assert.deepEqual(got, winners.map((k) => (labels === 'int64' ? String(k) : ['no', 'yes'][k])));
      });
    });
  }

  test('stripZipMap leaves a model without ZipMap unchanged', () => {
    const bytes = new Uint8Array(readFileSync(fixture('onnx_logreg_breast_cancer', 'model.onnx')));
    const { model, zipmaps } = stripZipMap(bytes);
    assert.equal(zipmaps.length, 0);
    assert.equal(model, bytes);
  });

  test('XGBoost trees converted to TreeEnsembleRegressor reproduce XGBoost (binary, multi-class, missing values)', async () => {
    for (const [file, rel] of [['xgb_breast_cancer/model.json', 1e-5], ['xgb_cases/multi_softprob.json', 1e-5], ['xgb_cases/dart.json', 1e-5], ['xgb_cases/count_poisson.json', 1e-5]] as const) {
      const model = parseXgboost(new Uint8Array(readFileSync(fixture(file))));
      const path = join(tmp, file.replace('/', '_') + '.onnx');
      writeFileSync(path, xgboostToOnnx(model));
      const xgb = await loadModel(fixture(file), { threads: 0 });
      const onnx = await loadModel(path);
      const n = 50;
      const x = new Float32Array(n * model.numFeature).map((_, i) => (i % 7 === 3 ? NaN : Math.sin(i * 12.9898) * 3));
      const batch = Batch.from({ input: { dtype: 'float32', shape: [model.numFeature], data: x } });
      const [a, c] = await Promise.all([xgb.predict(batch), onnx.predict(batch)]);
      assertClose(c.column('margin').data as Float32Array, a.column('margin').data as Float32Array, rel, 1e-6, `${file} margin`);
      assertClose(c.column('prediction').data as Float32Array, a.column('prediction').data as Float32Array, rel, 1e-6, `${file} prediction`);
      await Promise.all([xgb.close(), onnx.close()]);
    }
  });

  test('categorical splits cannot be converted', () => {
    const model = parseXgboost(new Uint8Array(readFileSync(fixture('xgb_cases', 'categorical.json'))));
    assert.throws(() => xgboostToOnnx(model), { code: 'FailedPrecondition', message: /categorical/ });
  });
});
