/** The pipelines REST API on a real server through the SDK: runs, logs, saved pipelines, schedules, errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ModelportClient } from '../../src/client/client.js';
import { PipelinesClient } from '../../src/client/pipelines.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';

let server: RunningServer;
let api: PipelinesClient;
before(async () => {
  server = await testServer();
  api = new PipelinesClient(new ModelportClient(server.url));
});
after(async () => {
  await server.close();
});

test('run a definition, follow it, read a step log and outputs, list runs', async () => {
  const run = await api.run({ name: 'hello', params: { who: 'world' }, steps: [{ name: 'greet', run: 'echo hello $MODELPORT_PARAM_WHO; echo 1 > $MODELPORT_OUTPUT_DIR/one.txt' }] }, { params: { who: 'api' } });
  assert.equal(run.pipeline, 'hello');
  const seen: string[] = [];
  const done = await api.wait(run.id, (r) => seen.push(r.status), 50);
  assert.equal(done.status, 'succeeded');
  assert.equal(seen[seen.length - 1], 'succeeded');
  assert.equal(await api.logs(run.id, 'greet'), 'hello api\n');
  assert.deepEqual((await api.outputs(run.id, 'greet')).files.map((f) => f.path), ['one.txt']);
  assert.ok((await api.listRuns({ pipeline: 'hello' })).some((r) => r.id === run.id));
});

test('saved pipelines run by name; schedules are listed and deleted', async () => {
  await api.save({ name: 'saved', params: { n: 1 }, steps: [{ name: 'a', run: 'test $MODELPORT_PARAM_N = 2' }] });
  assert.deepEqual((await api.get('saved')).steps, [{ name: 'a', needs: [], kind: 'command' }]);
  const run = await api.runSaved('saved', { params: { n: 2 } });
  assert.equal(run.trigger, 'api');
  assert.equal((await api.wait(run.id, undefined, 50)).status, 'succeeded');
  const s = await api.schedule('saved', { cron: '*/5 * * * *', timezone: 'Europe/Paris', params: { n: 2 } });
  assert.deepEqual((await api.schedules('saved')).map((x) => x.id), [s.id]);
  await api.deleteSchedule(s.id);
  assert.deepEqual(await api.schedules('saved'), []);
});

test('bad input is a 4xx naming the field or step', async () => {
  const bad = async (p: Promise<unknown>, status: number, message: RegExp) =>
    assert.rejects(p, (err: Error & { details: { httpStatus: number } }) => err.details.httpStatus === status && message.test(err.message));
  await bad(api.run({ name: 'x', steps: [{ name: 'a', run: 'true', needs: ['ghost'] }] }), 400, /^step a: needs unknown step "ghost"$/);
  await bad(api.getRun('nope'), 404, /^pipeline run "nope" does not exist$/);
  await bad(api.runSaved('missing'), 404, /^pipeline "missing" does not exist$/);
  await bad(api.schedule('saved', { cron: '0 3 * *' }), 400, /^cron: "0 3 \* \*" must have 5 fields/);
  await bad(api.schedule('saved', { cron: '0 3 * * *', timezone: 'Nowhere/Else' }), 400, /^tz: "Nowhere\/Else" is not an IANA time zone/);
  await bad(api.trigger('saved', { kind: 'feedback', deployment: 'd', every: 0 }), 400, /every/);
  await bad(api.save({ name: 'runs', steps: [{ name: 'a', run: 'true' }] }), 400, /^name: "runs" is reserved/);
  await bad(api.run({ name: 'x', params: { p: null }, steps: [{ name: 'a', run: 'true' }] }), 400, /^--param p: pipeline x needs a value for "p"$/);
});
