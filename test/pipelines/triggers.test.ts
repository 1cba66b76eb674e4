/**
 * Triggers on a real store with an injected clock: cron in a time zone across both DST changes,
 * two replicas ticking together fire each occurrence once, new dataset versions, monitor
 * alerts, and the skip / queue / replace concurrency policies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { Platform } from '../../src/platform.js';
import { cronOf, nextOccurrence } from '../../src/pipelines/triggers.js';
import { testPlatform } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../helpers/services.js';

// Replicas of a server share PostgreSQL; each test below runs against two of them.
const skip = await postgresSkip();
const clock = new ManualClock(Date.parse('2026-03-27T12:00:00Z'));
const { uri, schema } = freshPostgresUri();
let a: Platform;
let b: Platform;

before(async () => {
  if (skip) return;
  const artifacts = `file:${tempDir('mpart')}`;
  a = await testPlatform({ store: uri, artifacts }, clock);
  b = await testPlatform({ store: uri, artifacts }, clock);
});
after(async () => {
  if (skip) return;
  await a.close();
  await b.close();
  await dropSchema(schema);
});

const tickBoth = () => Promise.all([a.services.pipelines.triggers.tick(), b.services.pipelines.triggers.tick()]);
const settle = async (pipeline: string) => {
  for (const r of await a.services.pipelines.listRuns({ pipeline })) if (r.status === 'running') await a.services.pipelines.wait(r.id, 20);
};

test('cron: 5 fields only, a real time zone, and occurrences across DST', () => {
  assert.throws(() => cronOf('0 3 * *', 'UTC'), /^InvalidArgument|cron: "0 3 \* \*" must have 5 fields/);
  assert.throws(() => cronOf('0 0 3 * * *', 'UTC'), /must have 5 fields/);
  assert.throws(() => cronOf('0 3 * * *', 'Mars/Olympus'), /tz: "Mars\/Olympus" is not an IANA time zone/);
  assert.throws(() => cronOf('61 3 * * *', 'UTC'), /cron: "61 3 \* \* \*"/);
  const paris = cronOf('30 2 * * *', 'Europe/Paris');
  // 02:30 does not exist on 29 March (02:00 -> 03:00): it runs at 03:00 CEST that day.
  const spring = [Date.parse('2026-03-27T12:00:00Z')];
  for (let i = 0; i < 3; i++) spring.push(nextOccurrence(paris, spring[spring.length - 1]));
  assert.deepEqual(spring.slice(1).map((t) => new Date(t).toISOString()), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  // 02:30 happens twice on 25 October: it runs once.
  const fall = [Date.parse('2026-10-23T12:00:00Z')];
  for (let i = 0; i < 3; i++) fall.push(nextOccurrence(paris, fall[fall.length - 1]));
  assert.deepEqual(fall.slice(1).map((t) => new Date(t).toISOString()), ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
});

test('a schedule fires each occurrence once with two replicas ticking, across the spring DST change', { skip }, async () => {
  await a.services.pipelines.savePipeline({ name: 'nightly', steps: [{ name: 'noop', run: 'true' }] });
  const s = await a.services.pipelines.triggers.addSchedule('nightly', { cron: '30 2 * * *', timezone: 'Europe/Paris' });
  assert.equal(new Date(s.nextAt).toISOString(), '2026-03-28T01:30:00.000Z');
  const fires = ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'];
  for (const [i, at] of fires.entries()) {
    clock.set(Date.parse(at) - 1);
    await tickBoth();
    assert.equal((await a.services.pipelines.listRuns({ pipeline: 'nightly' })).length, i, `nothing before ${at}`);
    clock.set(Date.parse(at));
    await tickBoth();
    await tickBoth();
    const runs = await a.services.pipelines.listRuns({ pipeline: 'nightly' });
    assert.equal(runs.length, i + 1, `one run at ${at}`);
    assert.equal(runs[0].trigger, `cron:${s.id}`);
    await settle('nightly');
  }
  // Down for months: the missed occurrences fire once, then the schedule is back on time.
  clock.set(Date.parse('2026-10-24T00:30:00Z'));
  await tickBoth();
  assert.equal((await a.services.pipelines.listRuns({ pipeline: 'nightly' })).length, 4);
  const [after] = await b.services.pipelines.triggers.listSchedules('nightly');
  assert.equal(new Date(after.nextAt).toISOString(), '2026-10-25T00:30:00.000Z');
  await settle('nightly');
  await a.services.pipelines.triggers.deleteSchedule(s.id);
});

test('a new dataset version starts a run with the version as a parameter', { skip }, async () => {
  const dir = tempDir('ds');
  writeFileSync(join(dir, 'v1.csv'), 'x,y\n1,2\n');
  writeFileSync(join(dir, 'v2.csv'), 'x,y\n1,2\n3,4\n');
  await a.services.datasets.register('events', join(dir, 'v1.csv'));
  await a.services.pipelines.savePipeline({ name: 'on-data', params: { version: 0 }, steps: [{ name: 'load', uses: 'dataset.load', with: { dataset: 'events', version: '${params.version}' } }] });
  const t = await a.services.pipelines.triggers.addTrigger('on-data', { kind: 'dataset', dataset: 'events', versionParam: 'version' });
  assert.equal(t.cursor, 1);
  await tickBoth();
  assert.equal((await a.services.pipelines.listRuns({ pipeline: 'on-data' })).length, 0);
  await a.services.datasets.register('events', join(dir, 'v2.csv'));
  await tickBoth();
  await tickBoth();
  const runs = await a.services.pipelines.listRuns({ pipeline: 'on-data' });
  assert.equal(runs.length, 1);
  assert.deepEqual(runs[0].params, { version: 2 });
  const done = await a.services.pipelines.wait(runs[0].id, 20);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.steps));
  const files = await a.services.pipelines.stepOutputs(done.id, 'load');
  assert.deepEqual(files.files.map((f) => [f.path, f.size]).sort(), [['data.csv', 12], ['dataset.json', files.files.find((f) => f.path === 'dataset.json')!.size]]);
  await assert.rejects(a.services.pipelines.triggers.addTrigger('on-data', { kind: 'dataset', dataset: 'events', versionParam: 'nope' }), /versionParam: pipeline on-data has no parameter "nope"/);
});

test('a monitor alert starts a run (filtered by deployment and kind)', { skip }, async () => {
  await a.services.pipelines.savePipeline({ name: 'retrain', steps: [{ name: 'noop', run: 'true' }] });
  await a.services.pipelines.triggers.addTrigger('retrain', { kind: 'alert', deployment: 'loans', alertKind: 'drift' });
  clock.advance(1000);
  await a.services.monitoring.alerts.raise({ dedupKey: 'perf:other', deployment: 'other', kind: 'drift', message: 'elsewhere' });
  await a.services.monitoring.alerts.raise({ dedupKey: 'perf:loans', deployment: 'loans', kind: 'performance', message: 'not drift' });
  await tickBoth();
  assert.equal((await a.services.pipelines.listRuns({ pipeline: 'retrain' })).length, 0);
  clock.advance(1000);
  await a.services.monitoring.alerts.raise({ dedupKey: 'drift:loans', deployment: 'loans', kind: 'drift', message: 'income drifted' });
  await tickBoth();
  await tickBoth();
  const runs = await a.services.pipelines.listRuns({ pipeline: 'retrain' });
  assert.equal(runs.length, 1);
  assert.match(runs[0].trigger, /^alert:/);
  await settle('retrain');
});

test('concurrency policies: skip, queue and replace', { skip }, async () => {
  const dir = tempDir('pl');
  const blocking = (name: string, concurrency: 'skip' | 'queue' | 'replace') => ({ name, concurrency, dir, steps: [{ name: 'wait', run: 'while [ ! -f go ]; do sleep 0.05; done' }] });
  const t = a.services.pipelines.triggers;
  await a.services.pipelines.savePipeline(blocking('skipper', 'skip'));
  assert.equal((await t.fire('skipper', {}, 'api')).action, 'started');
  assert.equal((await t.fire('skipper', {}, 'api')).action, 'skipped');

  await a.services.pipelines.savePipeline(blocking('queuer', 'queue'));
  const first = await t.fire('queuer', {}, 'api');
  const second = await t.fire('queuer', {}, 'api');
  assert.equal(second.action, 'queued');
  assert.equal(second.run!.status, 'queued');
  await a.services.pipelines.startQueued();
  assert.equal((await a.services.pipelines.getRun(second.run!.id)).status, 'queued', 'waits while the first runs');

  await a.services.pipelines.savePipeline(blocking('replacer', 'replace'));
  const old = await t.fire('replacer', {}, 'api');
  const fresh = await t.fire('replacer', {}, 'api');
  assert.equal(fresh.action, 'replaced');
  assert.equal((await a.services.pipelines.wait(old.run!.id, 20)).status, 'cancelled');

  writeFileSync(join(dir, 'go'), '');
  assert.equal((await a.services.pipelines.wait(first.run!.id, 20)).status, 'succeeded');
  await a.services.pipelines.startQueued();
  assert.equal((await a.services.pipelines.wait(second.run!.id, 20)).status, 'succeeded');
  assert.equal((await a.services.pipelines.wait(fresh.run!.id, 20)).status, 'succeeded');
  await settle('skipper');
  assert.ok(existsSync(join(dir, 'go')));
});
