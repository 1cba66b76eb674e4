/** The executor's `auto` measure: CPU per call over stretches whose CPU readings advance in scheduler ticks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTO_LOOP_MICROS, cpuMicrosPerCall } from '../../src/serving/warmup.js';

/** Stretches read as given, counting how many ran. */
function readings(stretches: { nanos: number; calls: number }[]) {
  let ran = 0;
  return { span: async () => stretches[ran++], ran: () => ran };
}

test('near the threshold: total CPU over total calls, so ticks short in some stretches do not pull the cost under it', async () => {
  // 55 µs a call, 364 calls a stretch (20 ms), read a 4 ms tick short or long.
  const r = readings([16e6, 24e6, 20e6, 16e6, 24e6].map((nanos) => ({ nanos, calls: 364 })));
  const micros = await cpuMicrosPerCall(r.span, 5);
  assert.equal(r.ran(), 5);
  assert.ok(Math.abs(micros - 100e6 / 1000 / 1820) < 1e-9);
  assert.ok(micros > AUTO_LOOP_MICROS, 'stays on a thread; the cheapest stretch (44 µs) would not have');
});

test('far from the threshold, the first stretch decides alone', async () => {
  const cheap = readings([{ nanos: 20e6, calls: 4000 }, { nanos: 1, calls: 1 }]);
  assert.equal(await cpuMicrosPerCall(cheap.span, 5), 5);
  assert.equal(cheap.ran(), 1);
  const costly = readings([{ nanos: 24e6, calls: 100 }, { nanos: 1, calls: 1 }]);
  assert.equal(await cpuMicrosPerCall(costly.span, 5), 240);
  assert.equal(costly.ran(), 1);
});

test('a starved thread stops with the stretches it has', async () => {
  const r = readings([{ nanos: 20e6, calls: 400 }, { nanos: 20e6, calls: 400 }]);
  const micros = await cpuMicrosPerCall(r.span, 5, () => r.ran() >= 1);
  assert.equal(micros, 50);
  assert.equal(r.ran(), 1);
});
