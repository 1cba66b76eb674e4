import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { Leadership, Leases } from '../../src/cluster/leases.js';
import { RunRetention, RETENTION_TAG } from '../../src/tracking/retention.js';
import { testPlatform } from '../helpers/platform.js';

const DAY = 86_400_000;

test("runs older than their experiment's modelport.retention_days are deleted for good by the replica holding the lease; untagged experiments and running runs stay", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const platform = await testPlatform({}, clock);
  try {
    const { tracking } = platform.services;
    const short = await tracking.createExperiment({ name: 'short', tags: [{ key: RETENTION_TAG, value: '7' }] });
    const kept = await tracking.createExperiment({ name: 'kept' });
    const old = await tracking.createRun({ experiment_id: short, start_time: clock.now() });
    await tracking.logParam(old.info.run_id, 'lr', '0.1');
    await tracking.logMetric(old.info.run_id, { key: 'loss', value: 1, timestamp: clock.now(), step: 0 });
    const model = await tracking.loggedModels.create({ experiment_id: short, name: 'm' });
    await tracking.logMetric(old.info.run_id, { key: 'acc', value: 0.5, timestamp: clock.now(), step: 0, model_id: model.info.model_id });
    await tracking.logOutputs(old.info.run_id, [{ model_id: 'm-1', step: 3 }]);
    await tracking.logInputs(old.info.run_id, [], [{ model_id: 'm-0' }]);
    await tracking.updateRun(old.info.run_id, { status: 'FINISHED', end_time: clock.now() });
    await tracking.artifacts.put(`${short}/${old.info.run_id}/artifacts/notes.txt`, Buffer.from('x'));
    const running = await tracking.createRun({ experiment_id: short, start_time: clock.now() });
    const other = await tracking.createRun({ experiment_id: kept, start_time: clock.now() });
    await tracking.updateRun(other.info.run_id, { status: 'FINISHED', end_time: clock.now() });
    clock.advance(5 * DAY);
    const recent = await tracking.createRun({ experiment_id: short, start_time: clock.now() });
    await tracking.updateRun(recent.info.run_id, { status: 'FINISHED', end_time: clock.now() });
    await tracking.flush();

    const db = platform.metadata.db;
    const replica = (holder: string) => {
      const r = new RunRetention(db, clock);
      r.leader = new Leadership(new Leases(db, clock), 'tracking.retention.test', holder, 30_000);
      return r;
    };
    const [a, b] = [replica('a'), replica('b')];
    assert.equal(await a.sweep(), undefined, 'not due before an hour has passed');
    clock.advance(3 * DAY);
    assert.equal(await a.sweep(), 1);
    assert.equal(await b.sweep(), undefined, 'the other replica does not lead');
    await assert.rejects(tracking.getRun(old.info.run_id), { code: 'NotFound' });
    for (const run of [running, other, recent]) assert.equal((await tracking.getRun(run.info.run_id)).info.run_id, run.info.run_id);
    for (const table of ['tracking_param', 'tracking_metric_block', 'tracking_latest_metric', 'tracking_run_model', 'tracking_logged_model_metric']) {
      const left = await db.selectFrom(table as never).selectAll().execute();
      assert.equal(left.length, 0, `${table} holds nothing of the deleted run`);
    }
    assert.deepEqual((await tracking.loggedModels.get(model.info.model_id)).data.metrics, [], "the model outlives the run, its points do not");
    const artifacts = await db.selectFrom('tracking_artifact' as never).select('path' as never).execute();
    assert.equal(JSON.stringify(artifacts).includes(old.info.run_id), false);
  } finally {
    await platform.close();
  }
});
