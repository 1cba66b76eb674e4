/** The executor's `auto` measure: the cheapest per-call time over groups of one-row calls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, type Signature } from '../../src/models/index.js';
import { AUTO_LOOP_MICROS, cheapestCallMicros } from '../../src/serving/warmup.js';

const signature: Signature = { inputs: [{ name: 'input', dtype: 'float32', shape: [30] }], outputs: [] };

/** A model on a clock it advances itself: `costMs(call)` per call (the n-th since loading). */
function model(costMs: (call: number) => number) {
  let clock = 0;
  let calls = 0;
  return {
    now: () => clock,
    calls: () => calls,
    predict: async (b: Batch) => {
      clock += costMs(calls++);
      return b;
    },
  };
}

test('a cheap model measured on a busy machine: cold calls and interruptions do not count', async () => {
  // 20 µs a call once optimized; the first 1,500 calls (a fresh thread's unoptimized code) cost
  // 90, and every 200th call is held up for 2 ms (another process took the core).
  const m = model((n) => (n < 1500 ? 0.09 : 0.02) + (n % 200 === 199 ? 2 : 0));
  const micros = await cheapestCallMicros(m.predict, signature, { now: m.now });
  assert.ok(micros !== undefined && micros < AUTO_LOOP_MICROS, `measured ${micros} µs`);
  assert.ok(Math.abs(micros - 20) < 1e-6, `measured ${micros} µs`);
});

test('a costly model stays over the threshold', async () => {
  const m = model(() => 0.12);
  assert.ok(Math.abs((await cheapestCallMicros(m.predict, signature, { now: m.now }))! - 120) < 1e-6);
});

test('a starved thread stops after five seconds with the groups it has', async () => {
  const m = model(() => 1000);
  const micros = await cheapestCallMicros(m.predict, signature, { now: m.now, groups: 30 });
  assert.equal(micros, 1_000_000);
  assert.equal(m.calls(), 5, 'one warm-up call (over 200 ms), then a group a call until 5 s have passed');
});

test('no inputs, no measure', async () => {
  const m = model(() => 0.02);
  assert.equal(await cheapestCallMicros(m.predict, { inputs: [], outputs: [] }, { now: m.now }), undefined);
});
