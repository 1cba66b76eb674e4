import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batch, flavorNames, loadModel, readMLmodel, registerFlavor, resolveArtifact, type Predictor } from '../../src/models/index.js';
import { fixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'modelport-registry-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('flavor detection', () => {
  test('files by extension and content', async () => {
    assert.deepEqual(await resolveArtifact(fixture('onnx_forest_breast_cancer', 'model.onnx')), {
      flavor: 'onnx',
      path: fixture('onnx_forest_breast_cancer', 'model.onnx'),
    });
    assert.equal((await resolveArtifact(fixture('xgb_breast_cancer', 'model.json'))).flavor, 'xgboost');
    assert.equal((await resolveArtifact(fixture('xgb_breast_cancer', 'model.ubj'))).flavor, 'xgboost');
    assert.equal((await resolveArtifact(fixture('js_model', 'model.js'))).flavor, 'js');
    await assert.rejects(resolveArtifact(fixture('xgb_breast_cancer', 'expected.json')), { code: 'InvalidArgument', message: /cannot tell the flavor/ });
    await assert.rejects(resolveArtifact(join(tmp, 'nope')), { code: 'NotFound' });
  });

  test('folders: MLmodel flavors first, then the files they hold', async () => {
    assert.deepEqual(await resolveArtifact(fixture('mlflow_onnx')), { flavor: 'onnx', path: fixture('mlflow_onnx', 'model.onnx') });
    assert.deepEqual(await resolveArtifact(fixture('mlflow_xgboost')), { flavor: 'xgboost', path: fixture('mlflow_xgboost', 'model.ubj') });
    assert.equal((await resolveArtifact(fixture('xgb_breast_cancer'))).flavor, 'xgboost');
    assert.equal((await resolveArtifact(fixture('onnx_logreg_breast_cancer'))).flavor, 'onnx');
    assert.deepEqual(await resolveArtifact(fixture('js_model')), { flavor: 'js', path: fixture('js_model') });
    await assert.rejects(resolveArtifact(fixture('mlflow_onnx'), 'xgboost'), { code: 'InvalidArgument', message: /has no "xgboost" flavor/ });
    const sklearn = join(tmp, 'sklearn');
    mkdirSync(sklearn);
    writeFileSync(join(sklearn, 'MLmodel'), 'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n');
    await assert.rejects(resolveArtifact(sklearn), { code: 'FailedPrecondition', message: /has flavors python_function, sklearn; modelport runs onnx, xgboost, js/ });
    const nested = join(tmp, 'nested');
    mkdirSync(join(nested, 'data'), { recursive: true });
    copyFileSync(fixture('xgb_breast_cancer', 'model.json'), join(nested, 'data', 'model.json'));
    writeFileSync(join(nested, 'MLmodel'), 'flavors:\n  xgboost:\n    data: data\n');
    assert.deepEqual(await resolveArtifact(nested), { flavor: 'xgboost', path: join(nested, 'data', 'model.json') });
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await assert.rejects(resolveArtifact(empty), { code: 'InvalidArgument', message: /no model found/ });
  });

  test('MLmodel PII markings (metadata.pii or a pii key on a column spec) reach the loaded predictor of any flavor', async () => {
    const dir = join(tmp, 'pii-onnx');
    mkdirSync(dir);
    copyFileSync(fixture('mlflow_onnx', 'model.onnx'), join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'MLmodel'), 'flavors:\n  onnx:\n    data: model.onnx\nmetadata:\n  pii:\n    input: drop\n');
    const p = await loadModel(dir);
    try {
      assert.equal(p.flavor, 'onnx');
      assert.deepEqual(p.signature.inputs.map((s) => [s.name, s.pii]), [['input', 'drop']]);
      const out = await p.predict(Batch.from({ input: { dtype: 'float32', shape: [30], data: new Float32Array(30) } }));
      assert.equal(out.rows, 1);
    } finally {
      await p.close();
    }
    const cols = join(tmp, 'pii-cols');
    mkdirSync(cols);
    writeFileSync(join(cols, 'MLmodel'), `flavors:\n  onnx:\n    data: model.onnx\nsignature:\n  inputs: '[{"type": "string", "name": "email", "pii": "hash"}, {"type": "double", "name": "amount"}]'\n`);
    assert.deepEqual([...(await readMLmodel(join(cols, 'MLmodel'))).pii], [['email', 'hash']]);
    writeFileSync(join(cols, 'MLmodel'), 'flavors:\n  onnx:\n    data: model.onnx\nmetadata:\n  pii:\n    email: mask\n');
    await assert.rejects(readMLmodel(join(cols, 'MLmodel')), { code: 'InvalidArgument', message: /metadata\.pii\.email must be "hash" or "drop", got "mask"/ });
  });

  test('MLmodel signature is read (tensor and column specs)', async () => {
    const doc = await readMLmodel(fixture('mlflow_onnx', 'MLmodel'));
    assert.deepEqual(doc.signature, {
      inputs: [{ name: 'input', dtype: 'float32', shape: [30] }],
      outputs: [
        { name: 'label', dtype: 'int64', shape: [] },
        { name: 'probabilities', dtype: 'float32', shape: [2] },
      ],
    });
    const file = join(tmp, 'MLmodel');
    writeFileSync(file, `flavors:\n  xgboost:\n    data: m.json\nsignature:\n  inputs: '[{"type": "double", "name": "a"}, {"type": "long", "name": "b"}, {"type": "string", "name": "c"}]'\n`);
    assert.deepEqual((await readMLmodel(file)).signature?.inputs, [
      { name: 'a', dtype: 'float64', shape: [] },
      { name: 'b', dtype: 'int64', shape: [] },
      { name: 'c', dtype: 'string', shape: [] },
    ]);
    writeFileSync(file, 'flavors: [');
    await assert.rejects(readMLmodel(file), { code: 'InvalidArgument', message: /not valid YAML/ });
  });
});

describe('loadModel', () => {
  test('loads MLflow folders of each flavor; a closed predictor refuses to predict', async () => {
    for (const [dir, flavor] of [['mlflow_onnx', 'onnx'], ['mlflow_xgboost', 'xgboost'], ['js_model', 'js']] as const) {
      const p = await loadModel(fixture(dir), { threads: 0 });
      assert.equal(p.flavor, flavor);
      await p.close();
      if (flavor !== 'js') {
        await assert.rejects(p.predict(Batch.empty(1)), { code: 'FailedPrecondition', message: 'predictor is closed' });
        await p.close();
      }
    }
  });

  test('the js flavor: load() state, signature checks, close()', async () => {
    const p = await loadModel(fixture('js_model'));
    assert.deepEqual(p.signature.inputs, [{ name: 'x', dtype: 'float64', shape: [] }]);
    const out = await p.predict(Batch.from({ x: { dtype: 'float32', shape: [], data: Float32Array.of(1, 2, 3) } }));
    assert.deepEqual(Array.from(out.column('y').data as Float64Array), [3, 5, 7]);
    await assert.rejects(p.predict(Batch.from({ z: { dtype: 'float64', shape: [], data: Float64Array.of(1) } })), { code: 'InvalidArgument' });
    await p.close();
    await assert.rejects(p.predict(Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.of(1) } })), {
      code: 'FailedPrecondition',
      message: /model\.js: closed/,
    });
  });

  test('a js model declared in MLmodel, with a module that has no load()', async () => {
    const dir = join(tmp, 'js_mlflow');
    mkdirSync(dir);
    writeFileSync(join(dir, 'MLmodel'), 'flavors:\n  js:\n    module: custom.mjs\n');
    // Returns a Batch-shaped object that is not our class, as a module bundling its own modelport would.
    writeFileSync(
      join(dir, 'custom.mjs'),
      'export function predict(batch) { return { rows: batch.rows, columns: new Map([["n", { dtype: "int32", shape: [], data: new Int32Array(batch.rows).fill(batch.names.length) }]]) }; }\n',
    );
    const p = await loadModel(dir);
    assert.equal(p.flavor, 'js');
    const out = await p.predict(Batch.from({ a: { dtype: 'string', shape: [], data: ['x', 'y'] }, b: { dtype: 'bool', shape: [], data: Uint8Array.of(1, 0) } }));
    assert.deepEqual(Array.from(out.column('n').data as Int32Array), [2, 2]);
    await p.close();
  });

  test("a js model's signature is checked field by field when it loads", async () => {
    const cases: [string, RegExp][] = [
      ['{ inputs: [{ name: "x", type: "float32" }] }', /^js model model\.mjs: signature\.inputs\[0\]\.dtype must be one of .*, got undefined \(found "type": write "dtype"\)$/],
      ['{ inputs: [{ name: "x", dtype: "float32", shape: "4" }] }', /signature\.inputs\[0\]\.shape must be a list of whole numbers/],
      ['{ inputs: [{ dtype: "float32" }] }', /signature\.inputs\[0\]\.name is required/],
      ['{ outputs: {} }', /signature\.outputs must be a list of \{name, dtype, shape\}/],
      ['[1]', /signature must be an object \{inputs, outputs\}/],
    ];
    for (const [i, [signature, message]] of cases.entries()) {
      const dir = join(tmp, `js_bad_signature_${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'model.mjs'), `export const signature = ${signature};\nexport function predict(batch) { return batch; }\n`);
      await assert.rejects(loadModel(dir), (err: Error & { code?: string }) => err.code === 'InvalidArgument' && message.test(err.message) && !err.message.includes(dir));
    }
  });

  test('a folder with an MLmodel file and several flavors takes the one asked for', async () => {
    const dir = join(tmp, 'both');
    mkdirSync(dir);
    copyFileSync(fixture('onnx_logreg_breast_cancer', 'model.onnx'), join(dir, 'model.onnx'));
    copyFileSync(fixture('xgb_breast_cancer', 'model.json'), join(dir, 'model.json'));
    writeFileSync(join(dir, 'MLmodel'), 'flavors:\n  onnx:\n    data: model.onnx\n  xgboost:\n    data: model.json\n');
    const a = await loadModel(dir);
    const b = await loadModel(dir, { flavor: 'xgboost', threads: 0 });
    assert.deepEqual([a.flavor, b.flavor], ['onnx', 'xgboost']);
    await Promise.all([a.close(), b.close()]);
  });

  test('unknown flavors and bad files are clear errors', async () => {
    await assert.rejects(loadModel(fixture('mlflow_onnx'), { flavor: 'lightgbm' }), { code: 'InvalidArgument', message: /unknown flavor "lightgbm"/ });
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await assert.rejects(loadModel(bad), { code: 'InvalidArgument', message: /could not be loaded/ });
    const legacy = join(tmp, 'legacy.json');
    writeFileSync(legacy, '{"learner": {"gradient_booster": {"name": "gblinear"}, "learner_model_param": {}, "objective": {"name": "reg:squarederror"}}}');
    await assert.rejects(loadModel(legacy), { code: 'FailedPrecondition', message: /booster "gblinear" is not supported/ });
  });

  test('registerFlavor adds a runtime', async () => {
    const fake: Predictor = {
      flavor: 'constant',
      signature: { inputs: [], outputs: [] },
      metadata: {},
      predict: async (batch) => Batch.from({ one: { dtype: 'float64', shape: [], data: new Float64Array(batch.rows).fill(1) } }),
      close: async () => {},
    };
    registerFlavor({ name: 'constant', load: async () => fake });
    assert.ok(flavorNames().includes('constant'));
    const p = await loadModel(fixture('js_model', 'params.json'), { flavor: 'constant' });
    assert.equal(p, fake);
  });
});
