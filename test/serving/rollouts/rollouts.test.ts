import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { createPlatform, type Platform } from '../../../src/platform.js';
import { testConfig } from '../../helpers/platform.js';
import { buildApp } from '../../../src/server/app.js';
import { registerSimulated, traffic } from './helpers.js';

/** Latency is not what these tests judge: a busy machine must not fail their canaries. */
const LENIENT_P99 = { maxP99Ratio: 1000, p99SlackMs: 60_000 };

describe('canary rollouts', () => {
  const open: Platform[] = [];
  after(async () => {
    for (const p of open) await p.close();
  });
  const start = async (clock: ManualClock, data?: string) => {
    const p = await createPlatform(testConfig(data ? { data } : {}), { clock });
    open.push(p);
    return p;
  };

  test('a canary with a higher error rate is rolled back with its reason, an alert and the primary alone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const p = await start(clock);
    const { registry, serving, rollouts, monitoring } = p.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 20, 0);
    await serving.create({ name: 'd', model: 'm', version: 1 });
    const alerts: string[] = [];
    monitoring.events.on('alert', (e) => alerts.push(`${e.type} ${e.alert.kind} ${e.alert.message}`));
    const r = await rollouts.begin('d', { version: 2, steps: [20, 50], minStepSeconds: 60, minRequests: 40, actor: 'ann', gates: LENIENT_P99 });
    assert.deepEqual((await serving.get('d')).variants.map((v) => [v.name, v.version, v.weight]), [['primary', 1, 80], ['canary', 2, 20]]);
    await traffic(serving, 'd', 1, 400);
    clock.advance(61_000);
    await rollouts.tick();
    const after = await rollouts.status('d');
    assert.equal(after.id, r.id);
    assert.equal(after.state, 'rolled_back');
    // Consecutive failures also open the canary's circuit breaker, which fails the gate as well.
    assert.match(after.reason!, /^gate failed at 20%: error rate \d+\.\d\d% \(canary, [1-9]\d*\/\d+\) vs 0\.00% \(primary, 0\/\d+\), at most 2\.00% more allowed(; the canary's circuit breaker is open)?$/);
    assert.deepEqual((await serving.get('d')).variants.map((v) => [v.name, v.version, v.weight]), [['primary', 1, 100]]);
    assert.equal(alerts.length, 1);
    assert.match(alerts[0], /^alert\.firing rollout d: canary m version 2 rolled back: gate failed at 20%: error rate/);
    assert.equal((await monitoring.alerts.list({ kind: 'rollout' })).length, 1);
    const revisions = await serving.revisions('d');
    assert.match(revisions[0].reason, /rollout .*: gate failed at 20%/);
    assert.equal(revisions[0].actor, 'rollout');
    assert.equal(revisions[1].actor, 'ann');
  });

  test('a canary with worse accuracy on fed-back labels is rolled back; the metric gate waits for enough feedback', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const p = await start(clock);
    const { registry, serving, rollouts, monitoring } = p.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 0, 4);
    await serving.create({ name: 'd', model: 'm', version: 1 });
    await rollouts.begin('d', { version: 2, steps: [30, 100], minStepSeconds: 60, minRequests: 40, gates: { ...LENIENT_P99, metric: 'accuracy', minFeedback: 30, maxMetricDrop: 0.05 } });
    const sent = await traffic(serving, 'd', 1, 300);
    clock.advance(30_000);
    await rollouts.tick();
    // Without labels the metric gate is not judged; the step waits for its time.
    const waiting = await rollouts.status('d');
    assert.equal(waiting.state, 'running', waiting.reason);
    assert.equal(waiting.last?.waiting, '30 of 60 s of the step');
    assert.deepEqual(waiting.last?.gates.map((g) => g.gate), ['error_rate', 'p99_latency']);
    const fed = await monitoring.submitFeedback(sent.map((s) => ({ request_id: s.id, label: s.x % 2 })));
    assert.equal(fed.accepted, sent.length);
    clock.advance(1000);
    await rollouts.tick();
    const ended = await rollouts.status('d');
    assert.equal(ended.state, 'rolled_back');
    assert.match(ended.reason!, /^gate failed at 30%: accuracy 0\.6\d{3} \(canary, \d+ labels\) vs 1\.0000 \(primary, \d+ labels\), a drop of at most 0\.05 allowed$/);
  });

  test('a good canary steps up and is promoted, also across a restart; bad requests are refused', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const first = await start(clock);
    const data = first.config.dataDir;
    await registerSimulated(first.services.registry, 'm', 0, 0);
    await registerSimulated(first.services.registry, 'm', 0, 0);
    await first.services.serving.create({ name: 'd', model: 'm', version: 1 });
    const { rollouts, serving } = first.services;
    await assert.rejects(rollouts.begin('d', { version: 2, steps: [50, 20] }), /steps: 50,20 must increase \(step 2 is 20 after 50\)/);
    await assert.rejects(rollouts.begin('d', { version: 2, steps: [10, 120] }), /steps\[1\]: 120 must be a whole percentage in 1\.\.100/);
    await assert.rejects(rollouts.begin('d', { version: 7 }), (err: Error & { code?: string }) => err.code === 'NotFound' && /version=7/.test(err.message));
    await assert.rejects(rollouts.begin('nope', { version: 2 }), /deployment "nope" does not exist/);
    await rollouts.begin('d', { version: 2, steps: [10, 50], minStepSeconds: 60, minRequests: 20, gates: LENIENT_P99 });
    await assert.rejects(rollouts.begin('d', { version: 2 }), /already has a rollout running/);
    await traffic(serving, 'd', 1, 400);
    clock.advance(10_000);
    await rollouts.tick();
    assert.equal((await rollouts.status('d')).step, 0, 'the step lasts its minimum time');
    clock.advance(60_000);
    await rollouts.tick();
    const stepped = await rollouts.status('d');
    assert.equal(stepped.step, 1);
    assert.deepEqual((await serving.get('d')).variants.map((v) => [v.name, v.weight]), [['primary', 50], ['canary', 50]]);
    await first.close();

    // A new process on the same store continues the rollout where it was.
    const second = await start(clock, data);
    const again = second.services;
    assert.equal((await again.rollouts.status('d')).step, 1);
    await again.rollouts.pause('d', 'bob');
    await traffic(again.serving, 'd', 1, 200);
    clock.advance(120_000);
    await again.rollouts.tick();
    assert.equal((await again.rollouts.status('d')).state, 'paused');
    await again.rollouts.resume('d', 'bob');
    await traffic(again.serving, 'd', 1, 200);
    clock.advance(61_000);
    await again.rollouts.tick();
    const done = await again.rollouts.status('d');
    assert.equal(done.state, 'promoted');
    assert.deepEqual(done.events.map((e) => e.what.replace(/ by \w+/, '')), [
      'started: canary m version 2 at 10%',
      'gates passed at 10%; canary to 50%',
      'paused at 50%',
      'resumed at 50%',
      'every gate passed at 50%: promoted',
    ]);
    assert.deepEqual((await again.serving.get('d')).variants.map((v) => [v.name, v.version, v.weight]), [['primary', 2, 100]]);
    await assert.rejects(again.rollouts.abort('d'), /has ended \(promoted\)/);
  });
  test('a step or a promotion stopped between its two writes is completed by the next tick; a change from outside still aborts', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const p = await start(clock);
    const { rollouts, serving, registry } = p.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 0, 0);
    await serving.create({ name: 'd', model: 'm', version: 1 });
    await rollouts.begin('d', { version: 2, steps: [10, 50], minStepSeconds: 60, minRequests: 20, gates: LENIENT_P99, moveAlias: 'champion' });
    // The deployment's first write of a step, as the rollout makes it, and then no second one.
    const moveTo = async (variants: { name: string; version: number; weight: number }[]) => {
      const d = await serving.get('d');
      await serving.setVariants('d', variants.map((v) => ({ ...v, model: 'm' })), d.revision, { actor: 'rollout', reason: 'a step cut short' });
    };
    await moveTo([{ name: 'primary', version: 1, weight: 50 }, { name: 'canary', version: 2, weight: 50 }]);
    clock.advance(1_000);
    await rollouts.tick();
    const stepped = await rollouts.status('d');
    assert.equal(stepped.state, 'running');
    assert.equal(stepped.step, 1);
    assert.equal(stepped.events.at(-1)!.what, 'gates passed at 10%; canary to 50%');
    assert.deepEqual((await serving.get('d')).variants.map((v) => [v.name, v.version, v.weight]), [['primary', 1, 50], ['canary', 2, 50]]);
    await moveTo([{ name: 'primary', version: 2, weight: 100 }]);
    await rollouts.tick();
    const promoted = await rollouts.status('d');
    assert.equal(promoted.state, 'promoted');
    assert.equal(promoted.events.at(-1)!.what, 'every gate passed at 50%: promoted; alias champion now names version 2');
    assert.equal((await registry.getVersionByAlias('m', 'champion')).version, 2);

    await serving.create({ name: 'e', model: 'm', version: 1 });
    await rollouts.begin('e', { version: 2, steps: [10, 50], minStepSeconds: 60, minRequests: 20, gates: LENIENT_P99 });
    const e = await serving.get('e');
    await serving.setVariants('e', [{ name: 'primary', model: 'm', version: 1, weight: 70 }, { name: 'canary', model: 'm', version: 2, weight: 30 }], e.revision, { actor: 'bob', reason: 'by hand' });
    await rollouts.tick();
    const aborted = await rollouts.status('e');
    assert.equal(aborted.state, 'aborted');
    assert.match(aborted.reason!, /changed outside the rollout/);
  });

  test("GET /deployments/NAME/rollouts lists every rollout newest first, ended ones included; none is an empty list", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const p = await start(clock);
    const app = await buildApp(p, { logger: false });
    try {
      const { registry, serving, rollouts } = p.services;
      for (let i = 0; i < 3; i++) await registerSimulated(registry, 'm', 0, 0);
      await serving.create({ name: 'd', model: 'm', version: 1 });
      const list = async (query = '') => {
        const res = await app.inject({ method: 'GET', url: `/api/v1/deployments/d/rollouts${query}` });
        assert.equal(res.statusCode, 200, res.body);
        return res.json().rollouts as { id: string; state: string; canary: { version: number }; reason?: string; events: unknown[] }[];
      };
      assert.deepEqual(await list(), []);
      const first = await rollouts.begin('d', { version: 2, steps: [50], minStepSeconds: 0, minRequests: 1, gates: LENIENT_P99 });
      await rollouts.promote('d', 'ann');
      clock.advance(1000);
      const second = await rollouts.begin('d', { version: 3, steps: [50], actor: 'bob' });
      await rollouts.abort('d', 'bob');
      clock.advance(1000);
      const third = await rollouts.begin('d', { version: 1, steps: [10, 50] });
      const all = await list();
      assert.deepEqual(all.map((r) => [r.id, r.state, r.canary.version]), [[third.id, 'running', 1], [second.id, 'aborted', 3], [first.id, 'promoted', 2]]);
      assert.equal(all[1].reason, 'aborted by bob');
      assert.ok(all[2].events.length >= 2, 'each listed rollout carries its events');
      assert.deepEqual((await list('?limit=1')).map((r) => r.id), [third.id]);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/deployments/d/rollouts?limit=0' })).statusCode, 400);
      const missing = await app.inject({ method: 'GET', url: '/api/v1/deployments/nope/rollouts' });
      assert.equal(missing.statusCode, 404);
      assert.match(missing.json().error.message, /deployment "nope" does not exist/);
    } finally {
      await app.close();
    }
  });
});
