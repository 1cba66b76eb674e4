import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPlatform } from '../helpers/platform.js';
import { buildApp } from '../../src/server/app.js';
import { ManualClock } from '../../src/core/clock.js';
import { FOREST, LOGREG, register } from '../serving/helpers.js';

test('every change is a revision with who, when and why; rollback restores the previous or a named one', async () => {
  const clock = new ManualClock(1_000_000);
  const platform = await testPlatform({}, clock);
  const app = await buildApp(platform, { logger: false });
  try {
    const { registry } = platform.services;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'cancer', FOREST, ['model.onnx']);
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, user?: string) =>
      app.inject({ method, url, payload: body as object, headers: user ? { 'x-modelport-user': user } : {} });
    assert.equal((await call('POST', '/api/v1/deployments', { name: 'd', model: 'cancer', version: 1, reason: 'first release' }, 'ann')).statusCode, 201);
    clock.advance(1000);
    const split = await call('PATCH', '/api/v1/deployments/d', { variants: [{ name: 'primary', model: 'cancer', version: 1, weight: 50 }, { name: 'b', model: 'cancer', version: 2, weight: 50 }], reason: 'try the forest' }, 'bob');
    assert.equal(split.statusCode, 200, split.body);
    clock.advance(1000);
    assert.equal((await call('PATCH', '/api/v1/deployments/d', { batching: { max_batch_size: 8 } })).statusCode, 200);

    const revisions = (await call('GET', '/api/v1/deployments/d/revisions')).json().revisions;
    assert.deepEqual(
      revisions.map((r: any) => [r.revision, r.actor, r.reason, r.created_ms, r.variants.length, r.settings.batching.max_batch_size]),
      [[3, 'anonymous', 'updated', 1_002_000, 2, 8], [2, 'bob', 'try the forest', 1_001_000, 2, 64], [1, 'ann', 'first release', 1_000_000, 1, 64]],
    );

    // One step back: the batching change is undone, the split stays.
    const back = await call('POST', '/api/v1/deployments/d/rollback', { reason: 'latency' }, 'cy');
    assert.equal(back.statusCode, 200, back.body);
    assert.equal(back.json().revision, 4);
    assert.equal(back.json().batching.max_batch_size, 64);
    assert.equal(back.json().variants.length, 2);
    // To a named revision: one variant again, and it serves.
    const first = (await call('POST', '/api/v1/deployments/d/rollback', { to: 1 })).json();
    assert.deepEqual(first.variants.map((v: any) => [v.name, v.version, v.weight, v.serving_version]), [['primary', 1, 100, 1]]);
    const latest = (await call('GET', '/api/v1/deployments/d/revisions?limit=2')).json().revisions;
    assert.deepEqual(latest.map((r: any) => [r.revision, r.actor, r.reason]), [[5, 'anonymous', 'rollback to revision 1'], [4, 'cy', 'rollback to revision 2: latency']]);

    for (const [body, status, message] of [
      [{ to: 5 }, 400, /to: 5 must be an earlier revision of deployment "d" \(1\.\.4\)/],
      [{ to: 0 }, 400, /body\.to must be >= 1/],
      [{ to: 1, colour: 'red' }, 400, /body has unknown field: colour/],
    ] as const) {
      const res = await call('POST', '/api/v1/deployments/d/rollback', body);
      assert.equal(res.statusCode, status);
      assert.match(res.json().error.message, message);
    }
    assert.equal((await call('GET', '/api/v1/deployments/nope/revisions')).statusCode, 404);
    const fresh = await call('POST', '/api/v1/deployments', { name: 'new', model: 'cancer', version: 1 });
    assert.equal(fresh.statusCode, 201);
    const none = await call('POST', '/api/v1/deployments/new/rollback', {});
    assert.equal(none.statusCode, 400);
    assert.match(none.json().error.message, /at its first revision; there is nothing to roll back to/);
  } finally {
    await app.close();
    await platform.close();
  }
});
