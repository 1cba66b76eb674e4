import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Batch, loadModel } from '../../src/models/index.js';
import { loadInWorker } from '../../src/serving/worker-predictor.js';
import { FOREST, breastCancerRows } from './helpers.js';

test('a model in a worker thread predicts what it predicts on the event loop; errors keep their code', async () => {
  const file = join(FOREST, 'model.onnx');
  const inWorker = await loadInWorker(file, { threads: 1 });
  const local = await loadModel(file, { threads: 1 });
  try {
    assert.equal(inWorker.flavor, 'onnx');
    assert.deepEqual(inWorker.signature, local.signature);
    const rows = await breastCancerRows();
    const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows.flat()) } });
    const [a, b] = await Promise.all([inWorker.predict(batch), local.predict(batch)]);
    assert.deepEqual([...a.column('label').data], [...b.column('label').data]);
    assert.deepEqual([...a.column('probabilities').data], [...b.column('probabilities').data]);
    const concurrent = await Promise.all(rows.slice(0, 20).map((r) => inWorker.predict(Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(r) } }))));
    concurrent.forEach((out, i) => assert.equal(out.column('label').data[0], b.column('label').data[i]));
    await assert.rejects(
      inWorker.predict(Batch.from({ wrong: { dtype: 'float32', shape: [30], data: new Float32Array(30) } })),
      (err: Error & { code?: string }) => err.code === 'InvalidArgument' && /"wrong"/.test(err.message),
    );
  } finally {
    await inWorker.close();
    await local.close();
  }
  await assert.rejects(inWorker.predict(Batch.empty(1)), /unloaded/);
  await assert.rejects(loadInWorker(join(FOREST, 'input.csv'), {}), (err: Error & { code?: string }) => err.code === 'InvalidArgument');
});

test('an unloaded model leaves its thread as the spare the next load takes; one spare at most', async () => {
  const file = join(FOREST, 'model.onnx');
  const first = await loadInWorker(file, { threads: 1 });
  const thread = first.threadId;
  await first.close();
  await assert.rejects(first.predict(Batch.empty(1)), /unloaded/);
  const second = await loadInWorker(file, { threads: 1 });
  assert.equal(second.threadId, thread, 'the spare thread was taken');
  const third = await loadInWorker(file, { threads: 1 });
  assert.notEqual(third.threadId, thread, 'no spare: a new thread');
  const rows = await breastCancerRows();
  const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows[0]) } });
  const [a, b] = await Promise.all([second.predict(batch), third.predict(batch)]);
  assert.deepEqual([...a.column('probabilities').data], [...b.column('probabilities').data]);
  await second.close();
  await third.close();
  const fourth = await loadInWorker(file, { threads: 1 });
  assert.equal(fourth.threadId, thread, 'the first thread closed stayed the spare; the other ended');
  await fourth.close();
});
