/**
 * Online key-value port: small values read on the serving path (online features, response
 * cache entries, rate-limit state), shared across replicas when backed by Redis.
 */
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import type { OnlineUri } from '../config.js';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument, unavailable } from '../core/errors.js';
import { ensureWritableDir } from './metadata.js';
import { batches } from '../core/batches.js';
import { configure, keyOrder, KV_TABLE, newerWriter } from './online-sqlite-newer.js';
import { writerThread } from './online-sqlite-writer.js';
import { rowAt, sliceRows, type PackedRows } from './packed-rows.js';

export interface OnlineStore {
  readonly kind: 'sqlite' | 'redis';
  get(key: string): Promise<Buffer | null>;
  mget(keys: string[]): Promise<(Buffer | null)[]>;
  /** `ttlMs` makes the entry disappear after that long on the store's clock. */
  set(key: string, value: Buffer | string, ttlMs?: number): Promise<void>;
  mset(entries: [string, Buffer | string][], ttlMs?: number): Promise<void>;
  /**
   * Writes without reading first: row i of `rows` becomes key i's value only when its first
   * `headerBytes` bytes (an ordering header) compare greater than the stored value's, or
   * compare equal with other bytes after them; the comparison runs in the store, in the same
   * batch. Returns how many it wrote. The store may take over the memory of a blob that fills
   * its own ArrayBuffer (a write on another thread moves it there), and reads a blob in shared
   * memory where it lies: the caller leaves those bytes as they are until the write settles.
   */
  msetNewer(keys: string[], rows: PackedRows, headerBytes: number): Promise<number>;
  /**
   * Told that large msetNewer writes are likely coming (a materialize starting), the store
   * readies what they need (SQLite starts its writer thread) while the caller prepares them.
   */
  expectWrites(): void;
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
  // Set before the first table, so it takes only on a new file: rows of 50 features are ~500
  // bytes, and pages of 16 KiB write them with a third less work than 4 KiB ones, for ~2 µs
  // more per point read.
  db.pragma('page_size = 16384');
  configure(db);
  // Reads map the file instead of copying each page in through a read call: an online store of
  // wide rows outgrows SQLite's page cache, so most keys of a multi-get missed it.
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  db.exec(KV_TABLE);
  const getStmt = db.prepare<[string, number], { value: Buffer }>(
    'select value from kv where key = ? and (expires_at is null or expires_at > ?)',
  );
  const setStmt = db.prepare<[string, Buffer, number | null]>(
    'insert into kv (key, value, expires_at) values (?, ?, ?) on conflict(key) do update set value = excluded.value, expires_at = excluded.expires_at',
  );
  const setNewer = newerWriter(db);
  // Large writes go to a thread of their own (an in-memory database has no second connection).
  const writer = path === ':memory:' ? undefined : writerThread(path);
  // One statement per chunk size, so a read of many keys is one query per chunk, not one per key.
  // Rows come back by their key's place in the chunk, not by the key read back: SQLite holds
  // text as UTF-8, so a key with a lone surrogate would not read back as it was asked.
  const manyStmts = new Map<number, Database.Statement<unknown[], [number, Buffer]>>();
  const manyStmt = (n: number) => {
    let stmt = manyStmts.get(n);
    if (!stmt) {
      const wanted = Array.from({ length: n }, (_, i) => `(${i}, ?)`).join(', ');
      stmt = db
        .prepare<unknown[], [number, Buffer]>(`select w.column1, kv.value from (values ${wanted}) w join kv on kv.key = w.column2 where kv.expires_at is null or kv.expires_at > ?`)
        .raw();
      manyStmts.set(n, stmt);
    }
    return stmt;
  };
  const getMany = (keys: string[], now: number): (Buffer | null)[] => {
    const values: (Buffer | null)[] = keys.map(() => null);
    for (let i = 0; i < keys.length; i += MGET_CHUNK) {
      const chunk = keys.slice(i, i + MGET_CHUNK);
      for (const [at, v] of manyStmt(chunk.length).all(...chunk, now)) values[i + at] = v;
    }
    return values;
  };
  const deleteStmt = db.prepare<[string]>('delete from kv where key = ?');
  const purgeStmt = db.prepare<[number]>('delete from kv where expires_at is not null and expires_at <= ?');
  // One transaction: a commit per key would be a sync to disk per key.
  const deleteMany = db.transaction((keys: string[]) => {
    for (const k of keys) deleteStmt.run(k);
  });
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

  // Every write takes its turn: one made while the writer thread is busy waits for it (instead
  // of waiting for SQLite's lock inside a synchronous call, which would stall the event loop,
  // and then landing before a write made earlier). With nothing in flight it runs at once, and
  // so does a write for the writer thread when all in flight are its own: the thread takes
  // them in the order sent, and has the next at hand as soon as one ends.
  let tail: Promise<void> | undefined;
  let threadedTail = false;
  let closed = false;
  const write = <T>(op: () => T | Promise<T>, threaded = false): Promise<T> => {
    if (closed) return Promise.reject(failedPrecondition(`online store ${path}: closed`));
    let result: Promise<T>;
    if (tail && !(threaded && threadedTail)) result = tail.then(op);
    else {
      try {
        const now = op();
        if (!(now instanceof Promise)) return Promise.resolve(now);
        result = now;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    threadedTail = threaded && (tail === undefined || threadedTail);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    tail = settled;
    void settled.then(() => {
      if (tail === settled) tail = undefined;
    });
    return result;
  };

  return {
    kind: 'sqlite',
    async get(key) {
      return getStmt.get(key, clock.now())?.value ?? null;
    },
    async mget(keys) {
      const now = clock.now();
      return keys.length === 1 ? [getStmt.get(keys[0], now)?.value ?? null] : getMany(keys, now);
    },
    set(key, value, ttlMs) {
      return write(() => {
        setStmt.run(key, Buffer.from(value), expiry(ttlMs));
        maybePurge();
      });
    },
    mset(entries, ttlMs) {
      return write(() => {
        setMany(entries, expiry(ttlMs));
        maybePurge();
      });
    },
    msetNewer(keys, rows, headerBytes) {
      if (writer && keys.length >= THREAD_WRITE_ROWS) {
        // Sorted now, on this thread, while the writer thread may still be busy with an earlier write.
        const order = keyOrder(keys);
        return write(() => writer.msetNewer(keys, order, rows, headerBytes), true);
      }
      return write(() => setNewer(keys, Array.from(keys, (_, i) => rowAt(rows, i)), headerBytes));
    },
    expectWrites() {
      if (!closed) writer?.start();
    },
    delete(keys) {
      return write(() => deleteMany(keys));
    },
    async ping() {
      db.prepare('select 1').get();
    },
    async close() {
      closed = true;
      await tail;
      await writer?.close();
      db.close();
    },
  };
}

/** Writes of fewer rows run on the caller's thread: the hop to the writer thread would cost more than it frees. */
const THREAD_WRITE_ROWS = 1000;

/** Bytes of the SQLite online store read through a memory map; beyond them, through read calls. */
const MMAP_BYTES = 2 ** 30;

/** Keys per statement of a SQLite multi-read: under SQLite's 32,766 variables, and few statement sizes. */
const MGET_CHUNK = 256;

async function openRedisOnline(url: string, prefix: string): Promise<OnlineStore> {
  // Loaded on demand: the embedded default should not pay for drivers it does not use.
  const { Redis, Command } = await import('ioredis');
  /** A command sent as bytes written beforehand (the key prefix in them). */
  class PackedCommand extends Command {
    constructor(private readonly resp: Buffer) {
      super('msetnx');
    }
    override toWritable(): Buffer {
      return this.resp;
    }
  }
  const redis = new Redis(url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
  redis.on('error', () => {
    // ioredis reconnects by itself; failures surface on the commands that need the connection.
  });
  redis.defineCommand('msetNewer', { lua: MSET_NEWER });
  let sending = Promise.resolve();
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
    async msetNewer(keys, rows, headerBytes) {
      // One call per slice, all sent before the first answer but the first slice's: no call
      // holds Redis long enough to stall the readers. The calls are not gathered into a
      // pipeline, which would copy every slice once more into one buffer.
      const script = (i: number, to: number) => {
        // A slice's values travel as one string with their bounds: one argument each instead of one per value.
        const { blob, bounds } = sliceRows(rows, i, to);
        const le = Buffer.allocUnsafe(4 * bounds.length);
        for (let k = 0; k < bounds.length; k++) le.writeUInt32LE(bounds[k], 4 * k);
        return (redis as unknown as MsetNewerCommand).msetNewer(to - i, ...keys.slice(i, to), headerBytes, blob, le).then(Number);
      };
      // A slice of keys Redis does not hold yet (a first materialize) is written by MSETNX,
      // which sets all of them only if none exists: a third of the script's time in Redis,
      // which must copy each value into Lua and out again. A slice with a key held already
      // goes through the script. Slices may then land out of order, which only matters for a
      // key given twice (with equal headers the later value wins): such writes take the script.
      const setNew = async (i: number, to: number) => (await redis.sendCommand(new PackedCommand(msetnxResp(prefix, keys, rows, i, to)))) === 1;
      const fresh = (i: number, to: number) => setNew(i, to).then((set) => (set ? to - i : script(i, to)));
      const slices = (write: (i: number, to: number) => Promise<number>) => {
        const calls: Promise<number>[] = [];
        for (let i = NEWER_SLICE; i < keys.length; i += NEWER_SLICE) calls.push(write(i, Math.min(keys.length, i + NEWER_SLICE)));
        return calls;
      };
      if (keys.length === 0) return 0;
      // Calls send their slices in the order they were made, as they did when none waited for
      // an answer, so a write made later lands later (only a slice whose MSETNX was refused is
      // sent again after).
      const turn = sending;
      let sent!: () => void;
      sending = new Promise((resolve) => (sent = resolve));
      let calls: (number | Promise<number>)[];
      try {
        await turn;
        const first = Math.min(keys.length, NEWER_SLICE);
        // The first slice tells whether the keys are new, so that rewriting held keys does not send every slice twice.
        calls = new Set(keys).size === keys.length && (await setNew(0, first)) ? [first, ...slices(fresh)] : [script(0, first), ...slices(script)];
      } finally {
        sent();
      }
      let n = 0;
      for (const count of await Promise.all(calls)) n += count;
      return n;
    },
    expectWrites() {},
    async delete(keys) {
      // In slices: one call's arguments go on the stack, which 200,000 keys overflow.
      for (const slice of batches(keys, 1000)) await redis.del(...slice);
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

const NEWER_SLICE = 1000;

/**
 * MSETNX of keys [from, to) (under `prefix`) and their rows, as the bytes Redis reads: one
 * buffer, each value copied once. (ioredis builds a text per argument and copies each value
 * into a list of parts and again into one buffer.) A key's length, prefix, text and line end go
 * in one write, and a value's length line is copied from bytes made once: a write call per
 * piece took twice the time.
 */
function msetnxResp(prefix: string, keys: string[], rows: PackedRows, from: number, to: number): Buffer {
  const { blob, bounds } = rows;
  const head = `*${1 + 2 * (to - from)}\r\n$6\r\nMSETNX\r\n`;
  const prefixBytes = Buffer.byteLength(prefix);
  const keyBytes = new Int32Array(to - from);
  let size = head.length;
  for (let k = from; k < to; k++) {
    keyBytes[k - from] = prefixBytes + Buffer.byteLength(keys[k]);
    size += bulkBytes(keyBytes[k - from]) + bulkBytes(bounds[2 * k + 1] - bounds[2 * k]);
  }
  const buf = Buffer.allocUnsafe(size);
  let at = buf.write(head, 0, 'latin1');
  let valueHead = Buffer.alloc(0);
  let valueBytes = -1;
  for (let k = from; k < to; k++) {
    at += buf.write(`$${keyBytes[k - from]}\r\n${prefix}${keys[k]}\r\n`, at, 'utf8');
    const start = bounds[2 * k];
    const end = bounds[2 * k + 1];
    if (end - start !== valueBytes) {
      valueBytes = end - start;
      valueHead = Buffer.from(`$${valueBytes}\r\n`, 'latin1');
    }
    buf.set(valueHead, at);
    at += valueHead.length;
    buf.set(blob.subarray(start, end), at);
    at += end - start;
    buf[at++] = 13;
    buf[at++] = 10;
  }
  return buf;
}

/** RESP bytes of a bulk string of n bytes: "$n\r\n", the bytes, "\r\n". */
const bulkBytes = (n: number) => 1 + String(n).length + 2 + n + 2;

/**
 * KEYS: the entries' keys; ARGV[1]: header length; ARGV[2]: their values in one string;
 * ARGV[3]: each value's start and end offset in it (uint32 little-endian each). The stored
 * values are read with one MGET and the winners written with one MSET: a command per key from
 * the script cost more than the comparisons. A key given twice compares with the value the
 * slice gave it before. Header bytes are text, so Lua's string order is byte order.
 */
const MSET_NEWER = `
local h = tonumber(ARGV[1])
local blob, bounds = ARGV[2], ARGV[3]
local old = redis.call('MGET', unpack(KEYS))
local now, order, n = {}, {}, 0
for i, k in ipairs(KEYS) do
  local from, to = struct.unpack('<I4<I4', bounds, 8 * i - 7)
  local v = string.sub(blob, from + 1, to)
  local o = now[k]
  if o == nil then o = old[i] end
  if not o or (o ~= v and string.sub(o, 1, h) <= string.sub(v, 1, h)) then
    if now[k] == nil then order[#order + 1] = k end
    now[k] = v
    n = n + 1
  end
end
if n > 0 then
  local args = {}
  for _, k in ipairs(order) do
    args[#args + 1] = k
    args[#args + 1] = now[k]
  end
  redis.call('MSET', unpack(args))
end
return n`;

type MsetNewerCommand = { msetNewer(numKeys: number, ...args: (string | number | Buffer)[]): Promise<number> };
