import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { collectWhenGrown } from '../../src/core/gc.js';

const oldSpaceUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

test('collectWhenGrown frees garbage that reached the old generation, and leaves a heap that has not grown alone', () => {
  // Held through several young collections, so it is promoted; then dropped.
  let held: number[][] | undefined = Array.from({ length: 200_000 }, (_, i) => [i, i + 1]);
  for (let i = 0; i < 5; i++) Array.from({ length: 100_000 }, () => ({}));
  const withGarbage = oldSpaceUsed();
  held = undefined;
  collectWhenGrown(0);
  const after = oldSpaceUsed();
  assert.ok(after < withGarbage - 8 * 2 ** 20, `old space ${withGarbage} -> ${after} bytes: the garbage was not collected`);
  collectWhenGrown(1 << 30);
  assert.ok(Math.abs(oldSpaceUsed() - after) < 2 ** 20, 'no collection below the slack');
});
