import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeOrderedId } from '../../src/core/ids.js';

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
