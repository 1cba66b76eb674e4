/**
 * Request-path state shared by every replica through Redis, chosen per deployment
 * (`cache.shared`, `rate_limit.shared`): token buckets updated by one atomic Lua script on the
 * Redis server's clock (replicas' clocks may disagree; one bucket must not), and a response
 * cache whose entries expire by TTL and are bounded by count and bytes, the oldest stored
 * evicted first, by a second script that keeps an index of keys, sizes and their total.
 */
import type { Redis } from 'ioredis';
import { resourceExhausted } from '../core/errors.js';
import { allocate, Batch, type Column, type DType, type NumericArray } from '../models/index.js';
import { batchBytes } from './cache.js';
import type { CacheConfig, RateLimitConfig } from './types.js';

const TAKE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil then tokens = burst; at = ms end
tokens = math.min(burst, tokens + math.max(0, ms - at) / 1000 * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {ok, tostring(tokens)}
`;

/** KEYS: entry, order (zset of entries by time stored), sizes (hash), total. ARGV: value, ttl ms, max entries, max bytes, size. */
const STORE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[2])
local function drop(k)
  redis.call('ZREM', KEYS[2], k)
  local s = redis.call('HGET', KEYS[3], k)
  if s then redis.call('HDEL', KEYS[3], k); redis.call('DECRBY', KEYS[4], s) end
  redis.call('DEL', k)
end
drop(KEYS[1])
if ttl > 0 then
  for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms - ttl)) do drop(k) end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], ms, KEYS[1])
redis.call('HSET', KEYS[3], KEYS[1], ARGV[5])
redis.call('INCRBY', KEYS[4], ARGV[5])
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[3]) or tonumber(redis.call('GET', KEYS[4]) or '0') > tonumber(ARGV[4]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1])
end
return redis.call('ZCARD', KEYS[2])
`;

/** A rate limiter whose buckets every replica shares. */
export class SharedRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly config: RateLimitConfig,
    private readonly label: string,
  ) {}

  async take(client: string): Promise<void> {
    const { requestsPerSecond: rate, burst } = this.config;
    // A Redis outage must not stop serving: without an answer the request is let through.
    const answer = (await this.redis.eval(TAKE, 1, `${this.prefix}${client}`, String(rate), String(burst)).catch(() => undefined)) as [number, string] | undefined;
    if (!answer || answer[0] === 1) return;
    const left = answer[1];
    const wait = (1 - Number(left)) / rate;
    throw resourceExhausted(`${this.label}: rate limit of ${rate} requests/s (burst ${burst}) exceeded across replicas; retry in ${Math.ceil(wait)} s`, {
      retryAfterSeconds: Math.max(1, Math.ceil(wait)),
    });
  }
}

/** A response cache every replica shares; misses and Redis errors alike fall through to the model. */
export class SharedResponseCache {
  hits = 0;
  misses = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly config: CacheConfig,
  ) {}

  async get(key: string): Promise<Batch | undefined> {
    const bytes = await this.redis.getBuffer(`${this.prefix}e:${key}`).catch(() => null);
    const batch = bytes ? decodeBatch(bytes) : undefined;
    if (batch) this.hits++;
    else this.misses++;
    return batch;
  }

  async set(key: string, value: Batch): Promise<void> {
    const size = batchBytes(value);
    if (size > this.config.maxBytes) return;
    const p = this.prefix;
    await this.redis
      .eval(STORE, 4, `${p}e:${key}`, `${p}order`, `${p}sizes`, `${p}total`, encodeBatch(value), String(this.config.ttlMs), String(this.config.maxEntries), String(this.config.maxBytes), String(size))
      .catch(() => undefined);
  }

  /** Entries and bytes held now (for status and tests). */
  async usage(): Promise<{ entries: number; bytes: number }> {
    const [entries, bytes] = await Promise.all([this.redis.zcard(`${this.prefix}order`), this.redis.get(`${this.prefix}total`)]);
    return { entries, bytes: Number(bytes ?? 0) };
  }
}

/** A Batch as bytes: a JSON header (rows, columns' names, dtypes, shapes, strings) and the numbers' bytes. */
export function encodeBatch(batch: Batch): Buffer {
  const columns: { name: string; dtype: DType; shape: readonly number[]; strings?: string[]; bytes?: number }[] = [];
  const parts: Buffer[] = [];
  for (const [name, col] of batch.columns) {
    if (col.dtype === 'string') columns.push({ name, dtype: col.dtype, shape: col.shape, strings: col.data as string[] });
    else {
      const a = col.data as NumericArray;
      columns.push({ name, dtype: col.dtype, shape: col.shape, bytes: a.byteLength });
      parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
  }
  const header = Buffer.from(JSON.stringify({ rows: batch.rows, columns }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  return Buffer.concat([length, header, ...parts]);
}

export function decodeBatch(bytes: Buffer): Batch | undefined {
  try {
    const length = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + length).toString()) as { rows: number; columns: { name: string; dtype: DType; shape: number[]; strings?: string[]; bytes?: number }[] };
    let at = 4 + length;
    const columns: [string, Column][] = header.columns.map((c) => {
      if (c.dtype === 'string') return [c.name, { dtype: c.dtype, shape: c.shape, data: c.strings ?? [] }];
      const n = c.bytes ?? 0;
      const data = allocate(c.dtype, n / (allocate(c.dtype, 1) as NumericArray).BYTES_PER_ELEMENT) as NumericArray;
      new Uint8Array(data.buffer).set(bytes.subarray(at, at + n));
      at += n;
      return [c.name, { dtype: c.dtype, shape: c.shape, data }];
    });
    return Batch.from(columns, header.rows);
  } catch {
    return undefined;
  }
}
