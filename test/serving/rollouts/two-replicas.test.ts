/**
 * Two replicas on one PostgreSQL store both run the rollout controller's tick at the same
 * moments: one leads (the `serving.rollouts` lease), so each step is taken once and the canary is
 * promoted once, even when the lease runs out between rounds and changes hands.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { createPlatform } from '../../../src/platform.js';
import { testConfig } from '../../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../../helpers/services.js';
import { registerSimulated, traffic } from './helpers.js';

test('two replicas ticking together step and promote a canary once', async (t: TestContext) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const flags = { store: uri, artifacts: `file:${tempDir('rollout-artifacts')}` };
  const a = await createPlatform(testConfig(flags), { clock });
  const b = await createPlatform(testConfig(flags), { clock });
  try {
    await registerSimulated(a.services.registry, 'm', 0, 0);
    await registerSimulated(a.services.registry, 'm', 0, 0);
    await a.services.serving.create({ name: 'd', model: 'm', version: 1 });
    await a.services.rollouts.begin('d', { version: 2, steps: [10, 50], minStepSeconds: 60, minRequests: 20, gates: { maxP99Ratio: 1000, p99SlackMs: 60_000 } });
    const both = () => Promise.all([a.services.rollouts.tick(), b.services.rollouts.tick()]);
    for (let round = 0; round < 8 && (await a.services.rollouts.status('d')).state === 'running'; round++) {
      await traffic(a.services.serving, 'd', 1, 200);
      await traffic(b.services.serving, 'd', 200, 400);
      // Past the step's minimum and past the 10 s lease: every round the lease is free to change hands.
      clock.advance(61_000);
      // The gates count every replica's requests from the heartbeats, which a server writes every second.
      await Promise.all([a.cluster.beat(), b.cluster.beat()]);
      for (let i = 0; i < 3; i++) await both();
    }
    const done = await b.services.rollouts.status('d');
    assert.equal(done.state, 'promoted', JSON.stringify(done.events));
    assert.deepEqual(done.events.map((e) => e.what), ['started by anonymous: canary m version 2 at 10%', 'gates passed at 10%; canary to 50%', 'every gate passed at 50%: promoted']);
    const changes = (await a.services.serving.revisions('d')).map((r) => r.spec.variants.map((v) => `${v.name}=${v.version}:${v.weight}`).join(' '));
    assert.deepEqual(changes, ['primary=2:100', 'primary=1:50 canary=2:50', 'primary=1:90 canary=2:10', 'primary=1:100'], 'one revision per step, newest first');
  } finally {
    await a.close();
    await b.close();
    await dropSchema(schema);
  }
});
