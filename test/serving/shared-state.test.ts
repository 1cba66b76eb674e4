import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Batch } from '../../src/models/index.js';
import { SharedRateLimiter, SharedResponseCache, decodeBatch, encodeBatch } from '../../src/serving/shared-state.js';
import { isModelportError } from '../../src/core/errors.js';
import { REDIS_URL, freshRedisPrefix, redisSkip } from '../helpers/services.js';

const skip = await redisSkip();
const vec = (...xs: number[]) => Batch.from({ x: { dtype: 'float32', shape: [xs.length], data: Float32Array.from(xs) } });

test('a Batch survives its byte form: numbers of every width, strings, shapes, rows', () => {
  const batch = Batch.from(
    {
      f: { dtype: 'float32', shape: [2], data: Float32Array.of(1.5, -2, 3, 4) },
      d: { dtype: 'float64', shape: [], data: Float64Array.of(Math.PI, 1e300) },
      i: { dtype: 'int64', shape: [], data: BigInt64Array.of(-(2n ** 62n), 7n) },
      s: { dtype: 'string', shape: [], data: ['a', 'é€'] },
    },
    2,
  );
  const back = decodeBatch(encodeBatch(batch))!;
  assert.equal(back.rows, 2);
  for (const [name, col] of batch.columns) {
    const got = back.columns.get(name)!;
    assert.equal(got.dtype, col.dtype);
    assert.deepEqual(got.shape, col.shape);
    assert.deepEqual(Array.from(got.data as ArrayLike<unknown>), Array.from(col.data as ArrayLike<unknown>));
  }
  assert.equal(decodeBatch(Buffer.from('nonsense')), undefined);
});

describe('state shared through Redis', { skip }, () => {
  let redis: Redis;
  const prefix = freshRedisPrefix();
  before(() => {
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test('token bucket: two limiters on one key share the burst, then refuse with Retry-After', async () => {
    const config = { enabled: true, requestsPerSecond: 0.01, burst: 3, key: 'address' as const, shared: true };
    const one = new SharedRateLimiter(redis, `${prefix}rate:`, config, 'deployment "d"');
    const two = new SharedRateLimiter(redis, `${prefix}rate:`, config, 'deployment "d"');
    const outcomes = await Promise.all([one, two, one, two, one].map((l) => l.take('a:1').then(() => 'ok', (e: unknown) => e)));
    assert.equal(outcomes.filter((o) => o === 'ok').length, 3);
    const refused = outcomes.find((o) => o !== 'ok');
    assert.ok(isModelportError(refused) && refused.code === 'ResourceExhausted');
    assert.ok((refused.details as { retryAfterSeconds: number }).retryAfterSeconds >= 1);
    await one.take('a:2');
  });

  test('cache: hits across instances, bounded by entries and bytes (oldest evicted), entries expire by TTL', async () => {
    const byCount = new SharedResponseCache(redis, `${prefix}c1:`, { enabled: true, maxEntries: 2, maxBytes: 1 << 20, ttlMs: 0 });
    const other = new SharedResponseCache(redis, `${prefix}c1:`, { enabled: true, maxEntries: 2, maxBytes: 1 << 20, ttlMs: 0 });
    await byCount.set('a', vec(1));
    assert.deepEqual(Array.from((await other.get('a'))!.columns.get('x')!.data as Float32Array), [1]);
    await byCount.set('b', vec(2));
    await byCount.set('c', vec(3));
    assert.equal(await other.get('a'), undefined);
    assert.ok(await other.get('c'));
    assert.deepEqual((await byCount.usage()).entries, 2);

    const big = vec(...new Array(200).fill(1));
    const byBytes = new SharedResponseCache(redis, `${prefix}c2:`, { enabled: true, maxEntries: 100, maxBytes: 1200, ttlMs: 0 });
    await byBytes.set('a', big);
    await byBytes.set('b', big);
    const usage = await byBytes.usage();
    assert.equal(usage.entries, 1);
    assert.ok(usage.bytes <= 1200);
    assert.equal(await byBytes.get('a'), undefined);
    await byBytes.set('huge', vec(...new Array(1000).fill(1)));
    assert.equal(await byBytes.get('huge'), undefined);

    const ttl = new SharedResponseCache(redis, `${prefix}c3:`, { enabled: true, maxEntries: 10, maxBytes: 1 << 20, ttlMs: 30 });
    await ttl.set('a', vec(1));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await ttl.get('a'), undefined);
    await ttl.set('b', vec(2));
    assert.equal((await ttl.usage()).entries, 1, 'expired entries leave the index at the next store');
  });
});
