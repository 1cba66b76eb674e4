/**
 * Online key-value port: small values read on the serving path (online features, response
 * cache entries, rate-limit state), shared across replicas when backed by Redis.
 */
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import type { OnlineUri } from '../config.js';
import type { Clock } from '../core/clock.js';
import { invalidArgument, unavailable } from '../core/errors.js';
import { ensureWritableDir } from './metadata.js';

export interface OnlineStore {
  readonly kind: 'sqlite' | 'redis';
  get(key: string): Promise<Buffer | null>;
  mget(keys: string[]): Promise<(Buffer | null)[]>;
  /** `ttlMs` makes the entry disappear after that long on the store's clock. */
  set(key: string, value: Buffer | string, ttlMs?: number): Promise<void>;
  mset(entries: [string, Buffer | string][], ttlMs?: number): Promise<void>;
  delete(keys: string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openOnlineStore(uri: OnlineUri, clock: Clock): Promise<OnlineStore> {
  return uri.kind === 'sqlite' ? openSqliteOnline(uri.path, clock) : openRedisOnline(uri.url, uri.prefix);
}

function openSqliteOnline(path: string, clock: Clock): OnlineStore {
  if (path !== ':memory:') ensureWritableDir(dirname(path));
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (err) {
    throw invalidArgument(`--online: cannot open SQLite database ${path}: ${(err as Error).message}`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec('create table if not exists kv (key text primary key, value blob not null, expires_at integer)');
  const getStmt = db.prepare<[string, number], { value: Buffer }>(
    'select value from kv where key = ? and (expires_at is null or expires_at > ?)',
  );
  const setStmt = db.prepare<[string, Buffer, number | null]>(
    'insert into kv (key, value, expires_at) values (?, ?, ?) on conflict(key) do update set value = excluded.value, expires_at = excluded.expires_at',
  );
  const deleteStmt = db.prepare<[string]>('delete from kv where key = ?');
  const purgeStmt = db.prepare<[number]>('delete from kv where expires_at is not null and expires_at <= ?');
  const setMany = db.transaction((entries: [string, Buffer | string][], expiresAt: number | null) => {
    for (const [k, v] of entries) setStmt.run(k, Buffer.from(v), expiresAt);
  });
  let writesSincePurge = 0;
  const expiry = (ttlMs?: number) => (ttlMs === undefined ? null : clock.now() + ttlMs);
  const maybePurge = () => {
    // Expired rows are invisible to reads already; purging now and then keeps the file small.
    if (++writesSincePurge >= 1000) {
      writesSincePurge = 0;
      purgeStmt.run(clock.now());
    }
  };

  return {
    kind: 'sqlite',
    async get(key) {
      return getStmt.get(key, clock.now())?.value ?? null;
    },
    async mget(keys) {
      const now = clock.now();
      return keys.map((k) => getStmt.get(k, now)?.value ?? null);
    },
    async set(key, value, ttlMs) {
      setStmt.run(key, Buffer.from(value), expiry(ttlMs));
      maybePurge();
    },
    async mset(entries, ttlMs) {
      setMany(entries, expiry(ttlMs));
      maybePurge();
    },
    async delete(keys) {
      for (const k of keys) deleteStmt.run(k);
    },
    async ping() {
      db.prepare('select 1').get();
    },
    async close() {
      db.close();
    },
  };
}

async function openRedisOnline(url: string, prefix: string): Promise<OnlineStore> {
  // Loaded on demand: the embedded default should not pay for drivers it does not use.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
  redis.on('error', () => {
    // ioredis reconnects by itself; failures surface on the commands that need the connection.
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw unavailable(`--online: cannot reach Redis at ${new URL(url).host}: ${(err as Error).message}`);
  }
  return {
    kind: 'redis',
    get: (key) => redis.getBuffer(key),
    async mget(keys) {
      return keys.length ? redis.mgetBuffer(keys) : [];
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await redis.set(key, value);
      else await redis.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async mset(entries, ttlMs) {
      if (entries.length === 0) return;
      const multi = redis.multi();
      for (const [k, v] of entries) {
        if (ttlMs === undefined) multi.set(k, v);
        else multi.set(k, v, 'PX', Math.max(1, Math.ceil(ttlMs)));
      }
      await multi.exec();
    },
    async delete(keys) {
      if (keys.length) await redis.del(...keys);
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
