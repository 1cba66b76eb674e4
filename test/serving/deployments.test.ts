import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testConfig } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../helpers/services.js';
import { createPlatform, type Platform } from '../../src/platform.js';
import { Batch } from '../../src/models/index.js';
import type { ServingService } from '../../src/serving/index.js';
import { FOREST, LOGREG, breastCancerRows, brokenModel, register } from './helpers.js';

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const servedVersion = async (serving: ServingService, name: string) => (await serving.get(name)).status.variants[0]?.servingVersion;

describe('deployments', () => {
  const open: Platform[] = [];
  after(async () => {
    for (const p of open) await p.close();
  });
  const platform = async (data?: string) => {
    const p = await createPlatform(testConfig(data ? { data } : {}));
    open.push(p);
    return p;
  };

  test('static deployments stay, dynamic ones follow their alias', async () => {
    const p = await platform();
    const { registry, serving } = p.services;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'cancer', FOREST, ['model.onnx']);
    await registry.setAlias('cancer', 'champion', 1);
    const dynamic = await serving.create({ name: 'dyn', model: 'cancer', alias: 'champion' });
    const pinned = await serving.create({ name: 'pinned', model: 'cancer', version: 1 });
    assert.equal(dynamic.status.state, 'ready');
    assert.equal(dynamic.status.variants[0].servingVersion, 1);
    assert.equal(pinned.status.variants[0].servingVersion, 1);
    await registry.setAlias('cancer', 'champion', 2);
    await until('the alias deployment to move', async () => (await servedVersion(serving, 'dyn')) === 2);
    assert.equal(await servedVersion(serving, 'pinned'), 1);
    // The forest gives other probabilities than the logistic regression for the same row.
    const rows = await breastCancerRows();
    const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows[0]) } });
    const { output: a } = await serving.predict(await serving.target('dyn'), batch);
    const { output: b } = await serving.predict(await serving.target('pinned'), batch);
    assert.notDeepEqual(a.column('probabilities').data, b.column('probabilities').data);
  });

  test('a served version cannot be deleted from the registry', async () => {
    const p = await platform();
    const { registry, serving } = p.services;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await serving.create({ model: 'm', version: 1 });
    await assert.rejects(registry.deleteVersion('m', 1), /deployed by deployment "m"/);
    await registry.deleteVersion('m', 2);
    await serving.update('m', { version: 1, config: { batching: { maxBatchSize: 8 } } });
    await serving.delete('m');
    await registry.deleteVersion('m', 1);
  });

  test('a failed load keeps the old version serving and says why', async () => {
    const p = await platform();
    const { registry, serving } = p.services;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await register(registry, 'm', brokenModel(), ['model.mjs']);
    await serving.create({ model: 'm', version: 1 });
    const after = await serving.update('m', { version: 2 });
    assert.equal(after.status.variants[0].servingVersion, 1);
    assert.match(after.status.message ?? '', /loading m version 2 failed: .*weights file is corrupt.*\(version 1 keeps serving\)/);
    assert.equal((await serving.target('m')).version.version, 1);
    assert.match(await p.services.serving.metrics.text(), /modelport_model_load_failures_total\{deployment="m"\} 1/);
    // A deployment whose only version fails to load reports it and answers 503.
    const fresh = await serving.create({ name: 'bad', model: 'm', version: 2 });
    assert.equal(fresh.status.state, 'failed');
    await assert.rejects(serving.target('bad'), (err: Error & { code?: string }) => err.code === 'Unavailable' && /weights file is corrupt/.test(err.message));
  });

  test('bad deployment requests name the field', async () => {
    const p = await platform();
    const { registry, serving } = p.services;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await assert.rejects(serving.create({ model: 'm' }), /version, alias: give the version to pin or the alias to follow/);
    await assert.rejects(serving.create({ model: 'm', version: 1, alias: 'x' }), /give one of them, not both/);
    await assert.rejects(serving.create({ model: 'm', version: 9 }), /not found/);
    await assert.rejects(serving.create({ model: 'nope', version: 1 }), /nope/);
    await assert.rejects(serving.create({ name: 'bad name!', model: 'm', version: 1 }), /name: "bad name!"/);
    await assert.rejects(serving.create({ model: 'm', version: 1, config: { batching: { maxBatchSize: 0 } } }), /batching.max_batch_size: 0/);
    await assert.rejects(serving.create({ model: 'm', version: 1, config: { onnxEngine: 'fast' as 'auto' } }), /onnx_engine: "fast" must be auto or onnxruntime/);
    await serving.create({ model: 'm', version: 1 });
    await assert.rejects(serving.create({ model: 'm', version: 1 }), /already exists/);
  });

  test('an ONNX deployment reports its engine; onnxEngine "onnxruntime" keeps onnxruntime, survives an update, and an update switches a running deployment', async () => {
    const p = await platform();
    const { registry, serving } = p.services;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    const auto = await serving.create({ name: 'auto', model: 'm', version: 1 });
    assert.equal(auto.status.variants[0].engine, 'js');
    // A one-row call in JavaScript costs microseconds: 'auto' keeps it on the event loop.
    assert.equal(auto.status.variants[0].runsOn, 'event-loop');
    const forced = await serving.create({ name: 'forced', model: 'm', version: 1, config: { onnxEngine: 'onnxruntime', executor: 'event-loop' } });
    assert.equal(forced.status.variants[0].engine, 'onnxruntime');
    assert.equal(forced.onnxEngine, 'onnxruntime');
    const rows = await breastCancerRows();
    const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows.slice(0, 3).flat()) } });
    const { output: a } = await serving.predict(await serving.target('auto'), batch);
    const { output: b } = await serving.predict(await serving.target('forced'), batch);
    assert.deepEqual(Array.from(a.column('label').data as BigInt64Array), Array.from(b.column('label').data as BigInt64Array));
    const updated = await serving.update('forced', { config: { threads: 2 } });
    assert.equal(updated.onnxEngine, 'onnxruntime');
    assert.equal(updated.status.variants[0].engine, 'onnxruntime');
    // The escape hatch works on a running deployment: the version is loaded again with the new settings.
    const switched = await serving.update('auto', { config: { onnxEngine: 'onnxruntime' } });
    assert.equal(switched.status.variants[0].engine, 'onnxruntime');
    const back = await serving.update('auto', { config: { onnxEngine: 'auto', executor: 'worker' } });
    assert.equal(back.status.variants[0].engine, 'js');
    assert.equal(back.status.variants[0].runsOn, 'worker');
    const { output: c } = await serving.predict(await serving.target('auto'), batch);
    assert.deepEqual(Array.from(c.column('label').data as BigInt64Array), Array.from(b.column('label').data as BigInt64Array));
  });

  test('a replica picks up deployments made on another', async () => {
    const data = tempDir('shared');
    const a = await platform(data);
    const b = await platform(data);
    await register(a.services.registry, 'm', LOGREG, ['model.onnx']);
    await register(a.services.registry, 'm', FOREST, ['model.onnx']);
    await a.services.serving.create({ model: 'm', version: 1 });
    b.services.serving.start();
    await until('replica b to load m', async () => (await servedVersion(b.services.serving, 'm')) === 1);
    await a.services.serving.update('m', { version: 2 });
    await until('replica b to move to version 2', async () => (await servedVersion(b.services.serving, 'm')) === 2);
    await a.services.serving.delete('m');
    await until('replica b to unload m', () => b.services.serving.deploymentNames().length === 0);
  });
});

/**
 * Requests racing deployment changes on each store: a change keeps the old model answering until
 * the new one is loaded, a request for a deployment whose first load is queued waits for it, and
 * a refresh that read the store before a change made here never undoes that change.
 */
for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  test(`changes racing requests and refreshes on ${engine}: never "no model loaded", never undone`, async (t) => {
    let schema: string | undefined;
    const flags: { store?: string } = {};
    if (engine === 'PostgreSQL') {
      const skip = await postgresSkip();
      if (skip) return t.skip(skip);
      const fresh = freshPostgresUri();
      schema = fresh.schema;
      flags.store = fresh.uri;
    }
    const p = await createPlatform(testConfig(flags));
    try {
      const { registry, serving } = p.services;
      await register(registry, 'm', LOGREG, ['model.onnx']);
      await register(registry, 'm', FOREST, ['model.onnx']);
      await serving.create({ model: 'm', version: 1 });
      const unavailable: string[] = [];
      let probing = true;
      const probe = async () => {
        while (probing) {
          await serving.target('m').catch((err: Error & { code?: string }) => {
            if (err.code !== 'NotFound') unavailable.push(err.message);
          });
          await new Promise((r) => setTimeout(r, 1));
        }
      };
      const probes = [probe(), probe()];
      for (let i = 0; i < 3; i++) {
        const version = 2 - (i % 2);
        const refreshing = serving.refresh();
        await serving.update('m', { version });
        await refreshing;
        assert.equal((await serving.target('m')).version.version, version, `round ${i}: a refresh undid the change to version ${version}`);
        // Renaming the only variant: the old one answers until the new one serves.
        await serving.update('m', { variants: [{ name: `v${i}`, model: 'm', version, weight: 100 }] });
        const deleting = serving.refresh();
        await serving.delete('m');
        await serving.create({ model: 'm', version });
        await deleting;
        assert.equal((await serving.target('m')).version.version, version, `round ${i}: a refresh removed or reverted the new deployment`);
      }
      probing = false;
      await Promise.all(probes);
      assert.deepEqual(unavailable, []);
    } finally {
      await p.close();
      if (schema) await dropSchema(schema);
    }
  });
}

describe('prediction taps', () => {
  test('every answered prediction, cache hits included, reaches the taps with its request id and version', async () => {
    const p = await createPlatform(testConfig());
    try {
      const { registry, serving } = p.services;
      await register(registry, 'm', LOGREG, ['model.onnx']);
      await serving.create({ model: 'm', version: 1, config: { cache: { enabled: true } } });
      const seen: { requestId: string; deployment: string; model: string; version: number; variant: string; rows: number; out: string[] }[] = [];
      serving.addPredictionTap({
        record: (e) => seen.push({ requestId: e.requestId, deployment: e.deployment, model: e.model, version: e.version, variant: e.variant, rows: e.inputs.rows, out: e.outputs.names }),
      });
      const rows = await breastCancerRows();
      const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows.slice(0, 3).flat()) } });
      await serving.predict(await serving.target('m'), batch, [], 'req-a');
      await serving.predict(await serving.target('m'), batch, ['label'], 'req-b');
      await serving.predict(await serving.target('m'), batch, ['label'], 'req-c');
      assert.deepEqual(seen, [
        { requestId: 'req-a', deployment: 'm', model: 'm', version: 1, variant: 'primary', rows: 3, out: ['label', 'probabilities'] },
        { requestId: 'req-b', deployment: 'm', model: 'm', version: 1, variant: 'primary', rows: 3, out: ['label'] },
        { requestId: 'req-c', deployment: 'm', model: 'm', version: 1, variant: 'primary', rows: 3, out: ['label'] },
      ]);
      assert.equal(serving.cacheStats('m')?.hits, 1);
    } finally {
      await p.close();
    }
  });

  test('a sampling tap decides once per answer; kept answers reach its keep, never its record, and the other taps still see every answer', async () => {
    const p = await createPlatform(testConfig());
    try {
      const { registry, serving } = p.services;
      await register(registry, 'm', LOGREG, ['model.onnx']);
      await serving.create({ model: 'm', version: 1 });
      const asked: string[] = [];
      const kept: string[] = [];
      const recorded: string[] = [];
      const plain: string[] = [];
      let draw = 0;
      serving.addPredictionTap({
        sample: (deployment) => (asked.push(deployment), draw++ % 2 === 0),
        keep: (e) => kept.push(e.requestId),
        record: (e) => recorded.push(e.requestId),
      });
      serving.addPredictionTap({ record: (e) => plain.push(e.requestId) });
      const rows = await breastCancerRows();
      const batch = Batch.from({ input: { dtype: 'float32', shape: [30], data: Float32Array.from(rows[0]) } });
      for (const id of ['r0', 'r1', 'r2', 'r3']) await serving.predict(await serving.target('m'), batch, [], id);
      assert.deepEqual(asked, ['m', 'm', 'm', 'm']);
      assert.deepEqual(kept, ['r0', 'r2']);
      assert.deepEqual(recorded, []);
      assert.deepEqual(plain, ['r0', 'r1', 'r2', 'r3']);
    } finally {
      await p.close();
    }
  });
});
