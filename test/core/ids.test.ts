import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeOrderedId, uuidV7Time } from '../../src/core/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('time-ordered ids are version 7 UUIDs carrying their millisecond', () => {
  const t = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
  const id = timeOrderedId(t);
  assert.match(id, UUID_V7);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), t);
  assert.match(timeOrderedId(), UUID_V7);
});

test('ids of later milliseconds sort after earlier ones, and ids of one millisecond differ', () => {
  const t = Date.UTC(2026, 0, 1);
  const ids = Array.from({ length: 1000 }, (_, i) => timeOrderedId(t + i));
  assert.deepEqual([...ids].sort(), ids);
  const same = new Set(Array.from({ length: 1000 }, () => timeOrderedId(t)));
  assert.equal(same.size, 1000);
});

test('the time of a version 7 UUID reads back; other ids have none', () => {
  const t = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
  assert.equal(uuidV7Time(timeOrderedId(t)), t);
  // The millisecond prefix is cached: a different time right after must not reuse it.
  assert.equal(uuidV7Time(timeOrderedId(t + 1)), t + 1);
  assert.equal(uuidV7Time(timeOrderedId(t).toUpperCase()), t);
  assert.equal(uuidV7Time('0190f2a4-5b1c-4d2e-8f00-000000000000'), undefined, 'version 4');
  assert.equal(uuidV7Time('0190f2a4-5b1c-7d2e-cf00-000000000000'), undefined, 'wrong variant');
  assert.equal(uuidV7Time('req-1'), undefined);
  assert.equal(uuidV7Time('0190f2a4-5b1c-7d2e-8f00-00000000000g'), undefined);
});
