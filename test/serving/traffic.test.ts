import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assign, bucketOf, BUCKETS, checkVariants, splitOf } from '../../src/serving/traffic.js';
import type { VariantSpec } from '../../src/serving/types.js';

const v = (name: string, weight: number, extra: Partial<VariantSpec> = {}): VariantSpec => ({ name, model: 'm', version: 1, weight, ...extra });

test('weights 70/30 give 70 ± 2% over 10,000 distinct keys, and a key always gets one variant', () => {
  const split = splitOf([v('primary', 70), v('challenger', 30)]);
  let primary = 0;
  for (let i = 0; i < 10_000; i++) if (assign(split, bucketOf('fraud', `user-${i}`)) === 'primary') primary++;
  assert.ok(Math.abs(primary / 10_000 - 0.7) <= 0.02, `primary took ${primary / 100}%`);
  for (let i = 0; i < 100; i++) assert.equal(assign(split, bucketOf('fraud', `user-${i}`)), assign(split, bucketOf('fraud', `user-${i}`)));
  // Two deployments split the same users independently.
  let same = 0;
  const other = splitOf([v('a', 50), v('b', 50)]);
  for (let i = 0; i < 2_000; i++) if (assign(other, bucketOf('x', `u${i}`)) === assign(other, bucketOf('y', `u${i}`))) same++;
  assert.ok(same > 900 && same < 1100, `${same} of 2000 agree`);
});

test('a canary that grows keeps the keys it had', () => {
  const at = (w: number) => splitOf([v('primary', 100 - w), v('canary', w)]);
  const keys = Array.from({ length: 5_000 }, (_, i) => bucketOf('d', `k${i}`));
  for (const [from, to] of [[10, 25], [25, 50], [50, 100]]) {
    for (const b of keys) if (assign(at(from), b) === 'canary') assert.equal(assign(at(to), b), 'canary');
  }
  assert.ok(keys.every((b) => b >= 0 && b < BUCKETS && Number.isInteger(b)));
});

test('shadows take no live traffic; bad variant lists are refused naming the field', () => {
  assert.deepEqual(splitOf([v('primary', 100), v('shadow', 0, { shadow: true, mirror: 50 })]).names, ['primary']);
  assert.throws(() => checkVariants([v('a', 70), v('b', 20)]), /variants\.weight: .*sum to 90 \(a=70, b=20\); they must sum to 100/);
  assert.throws(() => checkVariants([v('a', 50), v('a', 50)]), /variants\[1\]\.name: two variants are named "a"/);
  assert.throws(() => checkVariants([v('a', 50.5), v('b', 49.5)]), /variants\[0\]\.weight: 50\.5 must be a whole number/);
  assert.throws(() => checkVariants([v('a', 100), v('s', 0, { shadow: true })]), /variants\[1\]\.mirror: a shadow variant needs/);
  assert.throws(() => checkVariants([]), /at least one variant/);
});
