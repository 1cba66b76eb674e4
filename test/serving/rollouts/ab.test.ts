import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/core/random.js';
import { buildApp } from '../../../src/server/app.js';
import { testPlatform } from '../../helpers/platform.js';
import { registerSimulated, traffic } from './helpers.js';

test('A/B analysis over HTTP: empty before any outcome (and no rollout yet), then conversions per variant with interval, always-valid p-value, sample size and segments', async () => {
  const platform = await testPlatform();
  const app = await buildApp(platform, { logger: false });
  try {
    const { registry, serving, monitoring } = platform.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 0, 0);
    await serving.create({ name: 'exp', variants: [{ name: 'a', model: 'm', version: 1, weight: 50 }, { name: 'b', model: 'm', version: 2, weight: 50 }] });
    const none = await app.inject({ method: 'GET', url: '/api/v1/deployments/exp/ab' });
    assert.equal(none.statusCode, 200, none.body);
    assert.deepEqual([none.json().kind, none.json().arms, none.json().comparisons], ['none', [], []], 'no outcomes yet: an empty analysis');
    const noRollout = await app.inject({ method: 'GET', url: '/api/v1/deployments/exp/rollout' });
    assert.equal(noRollout.statusCode, 200, noRollout.body);
    assert.deepEqual(noRollout.json(), { rollout: null });
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/deployments/nope/rollout' })).statusCode, 404, 'an unknown deployment is still 404');

    const sent = await traffic(serving, 'exp', 1, 3001);
    const rnd = mulberry32(5);
    // Variant b converts twice as often: 20% against 10%.
    const fed = await monitoring.submitFeedback(sent.map((s) => ({ request_id: s.id, label: rnd() < (s.variant === 'b' ? 0.2 : 0.1) ? 1 : 0 })));
    assert.equal(fed.accepted, 3000);

    const res = await app.inject({ method: 'GET', url: '/api/v1/deployments/exp/ab?segment=region' });
    assert.equal(res.statusCode, 200, res.body);
    const ab = res.json();
    assert.equal(ab.kind, 'conversion');
    assert.deepEqual(ab.arms.map((a: any) => a.variant).sort(), ['a', 'b']);
    assert.equal(ab.arms.reduce((s: number, a: any) => s + a.n, 0), 3000);
    const [c] = ab.comparisons;
    assert.equal(c.variant, 'b');
    assert.equal(c.control, 'a');
    assert.equal(c.test, 'two_proportion_z');
    assert.ok(c.ci[0] > 0 && c.ci[0] < 0.1 && c.ci[1] > 0.1, `interval ${c.ci} holds the planted +0.10`);
    assert.ok(c.p_value < 1e-6 && c.sequential_p_value < 0.05 && c.significant);
    assert.ok(c.sequential_p_value >= c.p_value, 'the always-valid p-value pays for peeking');
    assert.ok(ab.sample_size.per_arm > 10_000 && ab.sample_size.mde === 0.1);
    assert.deepEqual(ab.segments.map((s: any) => s.segment).sort(), ['0', '1']);
    assert.equal(ab.segments.reduce((s: number, g: any) => s + g.arms.reduce((t: number, a: any) => t + a.n, 0), 0), 3000);

    const bad = await app.inject({ method: 'GET', url: '/api/v1/deployments/exp/ab?control=zzz' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /control: deployment "exp" has no variant "zzz" \(it has a, b\)/);
    const noField = await app.inject({ method: 'GET', url: '/api/v1/deployments/exp/ab?segment=country' });
    assert.match(noField.json().error.message, /segment: no logged input of deployment "exp" has a field "country"/);
  } finally {
    await app.close();
    await platform.close();
  }
});
