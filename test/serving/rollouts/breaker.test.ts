import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
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
