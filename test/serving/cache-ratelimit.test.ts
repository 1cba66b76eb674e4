import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { Batch } from '../../src/models/index.js';
import { RateLimiter, ResponseCache, cacheKey } from '../../src/serving/index.js';

const vec = (...xs: number[]) => Batch.from({ x: { dtype: 'float32', shape: [xs.length], data: Float32Array.from(xs) } });

describe('response cache', () => {
  test('keys depend on version, columns, dtypes, shapes and values, not on how they were built', () => {
    const k = cacheKey('v1', vec(1, 2));
    assert.equal(cacheKey('v1', Batch.from([['x', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]])), k);
    assert.notEqual(cacheKey('v2', vec(1, 2)), k);
    assert.notEqual(cacheKey('v1', vec(1, 3)), k);
    assert.notEqual(cacheKey('v1', Batch.from({ x: { dtype: 'float32', shape: [], data: Float32Array.of(1, 2) } })), k);
    assert.notEqual(cacheKey('v1', Batch.from({ x: { dtype: 'float64', shape: [2], data: Float64Array.of(1, 2) } })), k);
    assert.notEqual(cacheKey('v1', vec(1, 2), ['label']), k);
    assert.notEqual(cacheKey('v1', Batch.from({ s: { dtype: 'string', shape: [], data: ['ab', 'c'] } })), cacheKey('v1', Batch.from({ s: { dtype: 'string', shape: [], data: ['a', 'bc'] } })));
  });

  test('LRU by entries, hits and misses counted', () => {
    const cache = new ResponseCache({ enabled: true, maxEntries: 2, maxBytes: 1 << 20, ttlMs: 0 }, new ManualClock());
    cache.set('a', vec(1));
    cache.set('b', vec(2));
    assert.ok(cache.get('a'));
    cache.set('c', vec(3));
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a'));
    assert.ok(cache.get('c'));
    assert.deepEqual([cache.hits, cache.misses, cache.size], [3, 1, 2]);
  });

  test('bounded by bytes, entries larger than the bound are not kept', () => {
    const cache = new ResponseCache({ enabled: true, maxEntries: 100, maxBytes: 1024, ttlMs: 0 }, new ManualClock());
    const big = vec(...new Array(200).fill(1));
    cache.set('a', big);
    cache.set('b', big);
    assert.equal(cache.size, 1);
    assert.ok(cache.totalBytes <= 1024);
    assert.ok(cache.get('b'));
    cache.set('huge', vec(...new Array(1000).fill(1)));
    assert.equal(cache.get('huge'), undefined);
  });

  test('entries expire after the TTL on the clock', () => {
    const clock = new ManualClock(0);
    const cache = new ResponseCache({ enabled: true, maxEntries: 10, maxBytes: 1 << 20, ttlMs: 1000 }, clock);
    cache.set('a', vec(1));
    clock.advance(999);
    assert.ok(cache.get('a'));
    clock.advance(1);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });
});

describe('rate limiter', () => {
  test('a bucket per client: burst, then refills at the rate; Retry-After from the clock', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ enabled: true, requestsPerSecond: 2, burst: 3, key: 'token' }, clock, 'deployment "d"');
    for (let i = 0; i < 3; i++) limiter.take('alice');
    assert.throws(() => limiter.take('alice'), (err: Error & { details?: Record<string, unknown> }) => {
      assert.equal(err.details?.retryAfterSeconds, 1);
      return /rate limit of 2 requests\/s \(burst 3\) exceeded/.test(err.message);
    });
    limiter.take('bob');
    clock.advance(500);
    limiter.take('alice');
    assert.throws(() => limiter.take('alice'));
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) limiter.take('alice');
    assert.throws(() => limiter.take('alice'));
  });

  test('slow rates ask for longer waits', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ enabled: true, requestsPerSecond: 0.1, burst: 1, key: 'address' }, clock, 'd');
    limiter.take('ip');
    assert.throws(() => limiter.take('ip'), (err: Error & { details?: Record<string, unknown> }) => err.details?.retryAfterSeconds === 10);
  });
});
