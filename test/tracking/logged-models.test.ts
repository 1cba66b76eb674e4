/**
 * The logged-model store behind MLflow 3's routes: writes check the model exists (and is not
 * deleted) without loading it, search hands each model its own params and tags and orders as
 * MLflow's store does (nulls last, newest first as the last key), and runs list the models they
 * used and produced; registered versions are listed in the model's `mlflow.modelVersions` tag
 * as Python writes JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { testPlatform } from '../helpers/platform.js';

test('logged models: existence checks, params and tags per model in search, MLflow order, run inputs and outputs, registrations', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const platform = await testPlatform({}, clock);
  try {
    const { tracking } = platform.services;
    const models = tracking.loggedModels;
    const experiment_id = await tracking.createExperiment({ name: 'lm' });
    const a = await models.create({ experiment_id, name: 'a', model_type: 'clf', params: [{ key: 'p', value: 'a' }], tags: [{ key: 't', value: 'a' }] });
    clock.advance(1000);
    const b = await models.create({ experiment_id, name: 'b', params: [{ key: 'p', value: 'b' }], tags: [{ key: 't', value: 'b' }] });
    clock.advance(1000);
    const c = await models.create({ experiment_id, name: 'c', model_type: 'reg' });

    const found = await models.search({ experiment_ids: [experiment_id] });
    assert.deepEqual(found.models.map((m) => m.info.name), ['c', 'b', 'a'], 'newest first by default');
    const byName = new Map(found.models.map((m) => [m.info.name, m]));
    assert.deepEqual(byName.get('a')?.data.params, [{ key: 'p', value: 'a' }]);
    assert.deepEqual(byName.get('b')?.info.tags, [{ key: 't', value: 'b' }]);
    assert.deepEqual(byName.get('c')?.data.params, []);

    const byType = await models.search({ experiment_ids: [experiment_id], order_by: [{ field_name: 'model_type', ascending: true }] });
    assert.deepEqual(byType.models.map((m) => m.info.name), ['a', 'c', 'b'], 'nulls last, then nothing else to order by');
    const oldest = await models.search({ experiment_ids: [experiment_id], order_by: [{ field_name: 'creation_timestamp_ms', ascending: true }] });
    assert.deepEqual(oldest.models.map((m) => m.info.name), ['a', 'b', 'c']);
    await assert.rejects(models.search({ experiment_ids: [experiment_id], order_by: [{ field_name: 'params.p' }] }), /Only metrics are supported/);

    await models.delete(b.info.model_id);
    for (const write of [
      () => models.finalize(b.info.model_id, 'LOGGED_MODEL_READY'),
      () => models.setTags(b.info.model_id, [{ key: 'x', value: 'y' }]),
      () => models.deleteTag(b.info.model_id, 't'),
      () => models.logParams(b.info.model_id, [{ key: 'q', value: '1' }]),
      () => models.delete(b.info.model_id),
      () => models.artifactLocation('m-missing'),
    ]) {
      await assert.rejects(write(), { code: 'NotFound', message: /Logged model with ID '.*' not found\./ });
    }
    assert.equal(await models.artifactLocation(a.info.model_id), a.info.artifact_uri);
    assert.equal((await models.finalize(a.info.model_id, 'LOGGED_MODEL_READY')).info.status, 'LOGGED_MODEL_READY');

    const run = await tracking.createRun({ experiment_id, start_time: clock.now() });
    assert.equal((await tracking.getRun(run.info.run_id)).outputs, undefined, 'no outputs: no field, as proto JSON');
    await tracking.logOutputs(run.info.run_id, [{ model_id: c.info.model_id, step: 2 }, { model_id: a.info.model_id, step: 0 }]);
    await tracking.logOutputs(run.info.run_id, [{ model_id: a.info.model_id, step: 0 }]);
    await tracking.logInputs(run.info.run_id, [], [{ model_id: b.info.model_id }]);
    const got = await tracking.getRun(run.info.run_id);
    assert.deepEqual(got.outputs?.model_outputs.map((o) => [o.model_id, o.step]).sort(), [
      [a.info.model_id, 0],
      [c.info.model_id, 2],
    ].sort());
    assert.deepEqual(got.inputs.model_inputs, [{ model_id: b.info.model_id }]);

    // Registrations are listed as Python's json.dumps writes them, non-ASCII escaped; a second record of one version adds nothing.
    await models.recordVersion(a.info.model_id, 'modèle ✓', 1);
    await models.recordVersion(a.info.model_id, 'modèle ✓', 1);
    await models.recordVersion(a.info.model_id, 'other', 4);
    const versions = (await models.get(a.info.model_id)).info.tags.find((t) => t.key === 'mlflow.modelVersions')?.value;
    assert.equal(versions, '[{"name": "mod\\u00e8le \\u2713", "version": 1}, {"name": "other", "version": 4}]');
    await assert.rejects(models.recordVersion('m-missing', 'x', 1), { code: 'NotFound' });
    // A log-batch naming a missing model writes nothing, not even the run's points.
    await assert.rejects(
      tracking.logBatch(run.info.run_id, { metrics: [{ key: 'acc', value: 1, timestamp: 5, model_id: a.info.model_id }, { key: 'acc', value: 2, timestamp: 5, model_id: 'm-missing' }] }),
      { code: 'NotFound', message: "Logged model with ID 'm-missing' not found." },
    );
    assert.deepEqual((await tracking.getRun(run.info.run_id)).data.metrics, []);
    assert.deepEqual((await models.get(a.info.model_id)).data.metrics, []);
    await tracking.deleteRun(run.info.run_id);
    await assert.rejects(tracking.logOutputs(run.info.run_id, [{ model_id: a.info.model_id, step: 1 }]), /must be in the 'active' state/);
  } finally {
    await platform.close();
  }
});
