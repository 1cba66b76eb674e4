import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../../src/server/app.js';
import { testPlatform } from '../../helpers/platform.js';
import { registerSimulated, traffic } from './helpers.js';

test('shadows answer copies off the request path: failing or slow ones never reach the caller; agreement and confusion are compared', async () => {
  const platform = await testPlatform();
  const app = await buildApp(platform, { logger: false });
  try {
    const { registry, serving } = platform.services;
    await registerSimulated(registry, 'm', 0, 0); // 1: the primary
    await registerSimulated(registry, 'm', 100, 0); // 2: throws on every request
    // Slow enough that 400 requests through sandboxed js models (an IPC round trip each) on a loaded machine finish first.
    await registerSimulated(registry, 'm', 0, 0, 6000); // 3: takes 6 s
    await registerSimulated(registry, 'm', 0, 4); // 4: wrong on 40% of rows
    await serving.create({ name: 'plain', model: 'm', version: 1 });
    await serving.create({
      name: 'shadowed',
      variants: [
        { name: 'primary', model: 'm', version: 1, weight: 100 },
        { name: 'throws', model: 'm', version: 2, weight: 0, shadow: true, mirror: 100 },
        { name: 'slow', model: 'm', version: 3, weight: 0, shadow: true, mirror: 100 },
        { name: 'worse', model: 'm', version: 4, weight: 0, shadow: true, mirror: 50 },
      ],
    });
    const plain = await traffic(serving, 'plain', 1, 201);
    const shadowed = await traffic(serving, 'shadowed', 1, 201);
    // Every request is answered by the primary, as without shadows.
    assert.equal(shadowed.length, 200);
    assert.deepEqual(shadowed.map((s) => s.variant), plain.map(() => 'primary'));
    // The slow shadow has not answered one copy yet: the caller's answers did not wait for it.
    const early = serving.shadowComparisons('shadowed').find((s) => s.variant === 'slow')!;
    assert.equal(early.requests, 200);
    assert.equal(early.rows, 0);
    await new Promise((r) => setTimeout(r, 6500));
    const res = await app.inject({ method: 'GET', url: '/api/v1/deployments/shadowed/shadow' });
    const byName = Object.fromEntries(res.json().shadows.map((s: any) => [s.variant, s]));
    assert.deepEqual([byName.throws.requests, byName.throws.failures, byName.throws.rows], [200, 200, 0]);
    assert.deepEqual([byName.slow.requests, byName.slow.failures, byName.slow.rows, byName.slow.agreement], [200, 0, 200, 1]);
    const worse = byName.worse;
    assert.ok(worse.requests > 60 && worse.requests < 140, `mirror 50% sent ${worse.requests}`);
    assert.equal(worse.rows, worse.requests);
    const wrong = (worse.confusion['0 → 1'] ?? 0) + (worse.confusion['1 → 0'] ?? 0);
    assert.equal(worse.confusion['0 → 0'] + worse.confusion['1 → 1'] + wrong, worse.rows);
    assert.ok(Math.abs(worse.agreement - 0.6) < 0.15, `agreement ${worse.agreement}`);
    const metrics = await serving.metrics.text();
    assert.match(metrics, /modelport_shadow_requests_total\{deployment="shadowed",variant="throws",outcome="error"\} 200/);
  } finally {
    await app.close();
    await platform.close();
  }
});
