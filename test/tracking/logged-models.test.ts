/**
 * The logged-model store behind MLflow 3's routes: writes check the model exists (and is not
 * deleted) without loading it, search hands each model its own params and tags and orders as
 * MLflow's store does (nulls last, newest first as the last key), and runs list the models they
 * used and produced; registered versions are listed in the model's `mlflow.modelVersions` tag
 * as Python writes JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectQueryNode, type KyselyPlugin } from 'kysely';
import { ManualClock } from '../../src/core/clock.js';
import type { Platform } from '../../src/platform.js';
import { LoggedModels } from '../../src/tracking/logged-models.js';
import { testPlatform, withTwoPostgresPlatforms } from '../helpers/platform.js';
import { postgresSkip } from '../helpers/services.js';

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

/** Counts the metric points search reads, by the rows of queries on the metric table. */
function countingPoints(): { plugin: KyselyPlugin; rows: () => number } {
  const metricQueries = new WeakSet<object>();
  let rows = 0;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      if (SelectQueryNode.is(node) && JSON.stringify(node.from).includes('"tracking_logged_model_metric"')) metricQueries.add(queryId);
      return node;
    },
    async transformResult({ result, queryId }) {
      if (metricQueries.has(queryId)) rows += result.rows.length;
      return result;
    },
  };
  return { plugin, rows: () => rows };
}

/** `a` and `b` act as two server processes on one store. */
async function guards(a: Platform, b: Platform): Promise<void> {
  const { tracking } = a.services;
  const models = tracking.loggedModels;
  const experiment_id = await tracking.createExperiment({ name: `guards-${Date.now()}` });
  const run = await tracking.createRun({ experiment_id });
  const runId = run.info.run_id;

  // A deleted model takes no points: they would be written, yet get answers 404.
  const gone = await models.create({ experiment_id, name: 'gone' });
  await models.delete(gone.info.model_id);
  const missing = { code: 'NotFound', message: `Logged model with ID '${gone.info.model_id}' not found.` };
  await assert.rejects(tracking.logMetric(runId, { key: 'acc', value: 1, timestamp: 1, model_id: gone.info.model_id }), missing);
  await assert.rejects(tracking.logBatch(runId, { metrics: [{ key: 'acc', value: 1, timestamp: 1, model_id: gone.info.model_id }] }), missing);
  assert.deepEqual((await tracking.getRun(runId)).data.metrics, []);

  // A hand-set value that is no JSON list reads as an empty list, not a failure after the version exists.
  const m = await models.create({ experiment_id, name: 'm' });
  const id = m.info.model_id;
  const tagOf = async (modelId: string) => (await models.get(modelId)).info.tags.find((t) => t.key === 'mlflow.modelVersions')?.value;
  for (const hand of ['not json', '{"name": "x"}']) {
    await models.setTags(id, [{ key: 'mlflow.modelVersions', value: hand }]);
    await models.recordVersion(id, 'r', 1);
    assert.equal(await tagOf(id), '[{"name": "r", "version": 1}]', hand);
  }

  // Past the 8000 characters of a tag value the oldest entries give way to the newest.
  const long = 'n'.repeat(40);
  const entries: string[] = [];
  const listOf = (list: string[]) => `[${list.join(', ')}]`;
  // As many as fit: the next one would not.
  while (listOf([...entries, `{"name": "${long}", "version": ${entries.length + 1}}`]).length <= 8000) entries.push(`{"name": "${long}", "version": ${entries.length + 1}}`);
  await models.setTags(id, [{ key: 'mlflow.modelVersions', value: listOf(entries) }]);
  await models.recordVersion(id, long, entries.length + 1);
  const kept = JSON.parse((await tagOf(id))!) as { version: number }[];
  assert.ok((await tagOf(id))!.length <= 8000);
  assert.equal(kept.at(-1)?.version, entries.length + 1);
  assert.deepEqual(kept.map((v) => v.version), Array.from({ length: entries.length }, (_, i) => i + 2), 'the oldest entry gave way');

  // Registrations at once (from two processes on PostgreSQL) all land.
  const busy = await models.create({ experiment_id, name: 'busy' });
  await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? b : a).services.tracking.loggedModels.recordVersion(busy.info.model_id, 'r', i + 1)));
  const all = JSON.parse((await tagOf(busy.info.model_id))!) as { version: number }[];
  assert.deepEqual(all.map((v) => v.version).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));

  // experiment_id orders as a number: 10 after 2.
  const ids = [experiment_id];
  while (!ids.some((e) => Number(e) >= 10) || !ids.some((e) => Number(e) >= 2 && Number(e) <= 9)) ids.push(await tracking.createExperiment({ name: `order-${ids.length}-${Date.now()}` }));
  const low = ids.find((e) => Number(e) >= 2 && Number(e) <= 9)!;
  const high = ids.find((e) => Number(e) >= 10)!;
  const inHigh = await models.create({ experiment_id: high, name: 'high' });
  const inLow = await models.create({ experiment_id: low, name: 'low' });
  const byExperiment = await models.search({ experiment_ids: [high, low], order_by: [{ field_name: 'experiment_id', ascending: true }] });
  assert.deepEqual(byExperiment.models.map((x) => x.info.model_id), [inLow.info.model_id, inHigh.info.model_id]);

  // Search reads the points its filter and order name, and the page's: not every point of every model.
  const pointsExperiment = await tracking.createExperiment({ name: `points-${Date.now()}` });
  const pointsRun = await tracking.createRun({ experiment_id: pointsExperiment });
  const many = [];
  for (let i = 0; i < 5; i++) {
    const x = await models.create({ experiment_id: pointsExperiment, name: `p${i}` });
    many.push(x.info.model_id);
    await tracking.logBatch(pointsRun.info.run_id, {
      metrics: [
        ...Array.from({ length: 10 }, (_, s) => ({ key: 'loss', value: s, timestamp: 1, step: s, model_id: x.info.model_id })),
        { key: 'acc', value: i, timestamp: 1, model_id: x.info.model_id, dataset_name: i % 2 ? 'odd' : 'even' },
      ],
    });
  }
  const counting = countingPoints();
  const watched = new LoggedModels(a.metadata.db.withPlugin(counting.plugin), a.clock, { get: (e) => tracking.getExperiment(e) });
  const first = await watched.search({ experiment_ids: [pointsExperiment], max_results: 1 });
  assert.equal(first.models[0].data.metrics.length, 11, "the page's model has all its points");
  assert.equal(counting.rows(), 11, "only the page's points are read without a metric filter or order");
  const best = await watched.search({ experiment_ids: [pointsExperiment], filter: 'metrics.acc >= 1', order_by: [{ field_name: 'metrics.acc', ascending: false }], max_results: 2 });
  assert.deepEqual(best.models.map((x) => x.info.model_id), [many[4], many[3]]);
  assert.equal(counting.rows(), 11 + 5 + 22, "the acc points of all, then the page's points");
  const onOdd = await watched.search({ experiment_ids: [pointsExperiment], datasets: [{ dataset_name: 'odd' }] });
  assert.deepEqual(onOdd.models.map((x) => x.info.model_id).sort(), [many[1], many[3]].sort());
  assert.equal(counting.rows(), 11 + 5 + 22 + 2 + 22, "the points on the datasets, then the page's points");
}

test('logged models refuse deleted models, list registrations safely, order experiments as numbers, search reads only what it needs (SQLite)', async () => {
  // One platform: a second in this process would wait on the first's write lock with the event loop blocked.
  const platform = await testPlatform();
  try {
    await guards(platform, platform);
  } finally {
    await platform.close();
  }
});

test('the same on PostgreSQL, registrations from two processes included', async (t) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  await withTwoPostgresPlatforms(guards);
});
