import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { Batch } from '../../../src/models/index.js';
import { CircuitBreaker } from '../../../src/serving/breaker.js';
import { testPlatform } from '../../helpers/platform.js';
import { registerSimulated, traffic } from './helpers.js';

test('a breaker opens after consecutive failures, lets one trial through after its cool-down, and closes on success', () => {
  const clock = new ManualClock(0);
  const b = new CircuitBreaker({ failures: 3, cooldownMs: 1000 }, clock);
  b.failure();
  b.success();
  b.failure();
  b.failure();
  assert.equal(b.state, 'closed');
  b.failure();
  assert.equal(b.state, 'open');
  assert.equal(b.allow(), false);
  clock.advance(1000);
  assert.equal(b.allow(), true);
  assert.equal(b.state, 'half_open');
  assert.equal(b.allow(), false, 'one trial at a time');
  b.failure();
  assert.equal(b.state, 'open');
  clock.advance(1000);
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.state, 'closed');
});

test("while a canary's breaker is open the fallback variant answers its users, visible in /metrics", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const platform = await testPlatform({}, clock);
  try {
    const { registry, serving } = platform.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 100, 0);
    await assert.rejects(
      serving.create({ name: 'x', model: 'm', version: 1, config: { routing: { fallback: 'nope' } } }),
      /routing\.fallback: "nope" is not a variant taking traffic \(there are primary\)/,
    );
    await serving.create({
      name: 'd',
      variants: [{ name: 'primary', model: 'm', version: 1, weight: 50 }, { name: 'canary', model: 'm', version: 2, weight: 50 }],
      config: { routing: { fallback: 'primary', breakerFailures: 3, breakerCooldownMs: 10_000 } },
    });
    const answered = await traffic(serving, 'd', 1, 101);
    // Three canary requests fail and open its breaker; its other users get the primary.
    assert.equal(answered.length, 97);
    assert.ok(answered.every((a) => a.variant === 'primary'));
    const text = await serving.metrics.text();
    assert.match(text, /modelport_circuit_breaker_state\{deployment="d",variant="canary"\} 1/);
    assert.match(text, /modelport_circuit_breaker_state\{deployment="d",variant="primary"\} 0/);
    assert.match(text, /modelport_fallback_requests_total\{deployment="d",variant="canary",fallback="primary"\} \d+/);
    // After the cool-down one trial reaches the canary, fails, and the breaker opens again.
    clock.advance(10_000);
    const later = await traffic(serving, 'd', 101, 201);
    assert.equal(later.length, 99);
    assert.match(await serving.metrics.text(), /modelport_circuit_breaker_state\{deployment="d",variant="canary"\} 1/);
  } finally {
    await platform.close();
  }
});

test('a variant slower than its timeout counts as a failure and the fallback answers; each logged prediction keeps its key', async () => {
  const platform = await testPlatform({});
  try {
    const { registry, serving, monitoring } = platform.services;
    await registerSimulated(registry, 'm', 0, 0);
    await registerSimulated(registry, 'm', 0, 0, 1000);
    await assert.rejects(
      serving.create({ name: 'x', model: 'm', version: 1, config: { routing: { timeoutsMs: { canary: 0 } } } }),
      /routing\.timeouts_ms\.canary: 0 must be a whole number in 1\.\.3600000/,
    );
    await serving.create({
      name: 'd',
      variants: [{ name: 'primary', model: 'm', version: 1, weight: 50 }, { name: 'canary', model: 'm', version: 2, weight: 50 }],
      config: { routing: { fallback: 'primary', breakerFailures: 2, breakerCooldownMs: 600_000, timeoutsMs: { canary: 50 } } },
    });
    // The first two canary users wait out the timeout and get the primary; then the breaker is open.
    const answered = await traffic(serving, 'd', 1, 41);
    assert.equal(answered.length, 40, 'no request fails: the fallback answers');
    assert.ok(answered.every((a) => a.variant === 'primary'));
    const text = await serving.metrics.text();
    assert.match(text, /modelport_variant_timeouts_total\{deployment="d",variant="canary"\} 2/);
    assert.match(text, /modelport_circuit_breaker_state\{deployment="d",variant="canary"\} 1/);
    assert.match(text, /modelport_fallback_requests_total\{deployment="d",variant="canary",fallback="primary"\} \d+/);

    await monitoring.log.flush();
    const logged = await monitoring.log.get(answered[6].id);
    assert.deepEqual([logged[0].variant, logged[0].key], ['primary', 'u7']);
  } finally {
    await platform.close();
  }
});

test('a single variant slower than its timeout answers 503 naming the variant', async () => {
  const platform = await testPlatform({});
  try {
    const { registry, serving } = platform.services;
    await registerSimulated(registry, 'm', 0, 0, 1000);
    await serving.create({ name: 'd', model: 'm', version: 1, config: { routing: { timeoutsMs: { primary: 30 } } } });
    const target = await serving.target('d', undefined, 'u1');
    const one = (n: number) => ({ dtype: 'float64' as const, shape: [], data: Float64Array.of(n) });
    await assert.rejects(
      serving.predict(target, Batch.from({ x: one(3), region: one(0) })),
      (err: Error & { code?: string }) => err.code === 'Unavailable' && /variant "primary" did not answer within 30 ms and no other variant can answer/.test(err.message),
    );
  } finally {
    await platform.close();
  }
});
