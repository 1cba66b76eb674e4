/** One online-store contract, run against SQLite and against Redis. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openOnlineStore, type OnlineStore } from '../../src/storage/online.js';
import { packRows, RowsBuilder, sliceRows } from '../../src/storage/packed-rows.js';
import { parseOnlineUri } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import Database from 'better-sqlite3';
import { tempDir, redisSkip, REDIS_URL, freshRedisPrefix } from '../helpers/services.js';

function contract(name: string, open: () => Promise<OnlineStore>, expire: (ms: number) => Promise<void>, skip: () => Promise<string | false>) {
  describe(`online store contract: ${name}`, async () => {
    const reason = await skip();
    let store: OnlineStore;
    before(async () => {
      if (!reason) store = await open();
    });
    after(async () => {
      if (!reason) await store.close();
    });

    test('set, get, mget, mset and delete', { skip: reason }, async () => {
      await store.set('a', 'alpha');
      await store.mset([
        ['b', Buffer.from([0, 1, 2, 255])],
        ['c', 'gamma'],
      ]);
      assert.equal((await store.get('a'))?.toString(), 'alpha');
      assert.deepEqual(await store.get('b'), Buffer.from([0, 1, 2, 255]));
      const many = await store.mget(['c', 'missing', 'a']);
      assert.deepEqual(many.map((v) => v?.toString() ?? null), ['gamma', null, 'alpha']);
      await store.set('a', 'replaced');
      assert.equal((await store.get('a'))?.toString(), 'replaced');
      await store.delete(['a', 'c']);
      assert.equal(await store.get('a'), null);
      assert.deepEqual(await store.mget([]), []);
      // Many keys at once: Redis takes them in slices (one call's arguments overflowed the stack).
      const bulk = Array.from({ length: 150_000 }, (_, i) => `bulk${i}`);
      await store.mset(bulk.map((k) => [k, 'v']));
      await store.delete(bulk);
      assert.deepEqual(await store.mget(['bulk0', 'bulk149999']), [null, null]);
      // A key with a lone surrogate is found alone and among others alike.
      await store.set('k\ud800', 'lone');
      assert.equal((await store.get('k\ud800'))?.toString(), 'lone');
      assert.deepEqual((await store.mget(['b', 'k\ud800'])).map((v) => v?.toString() ?? null), [Buffer.from([0, 1, 2, 255]).toString(), 'lone']);
    });

    test('msetNewer writes blindly but keeps a value whose header sorts higher; equal headers with other bytes replace', { skip: reason }, async () => {
      await store.set('n1', 'b2|old');
      const written = await store.msetNewer(
        ['n1', 'n2', 'n1', 'n2'],
        packRows(['b1|older header', 'a0|new key', 'b2|same header, other value', 'a0|new key'].map((v) => Buffer.from(v))),
        2,
      );
      assert.equal(written, 2, 'the older header and the identical value are skipped');
      assert.deepEqual((await store.mget(['n1', 'n2'])).map((v) => v?.toString()), ['b2|same header, other value', 'a0|new key']);
      const keys = Array.from({ length: 2500 }, (_, i) => `m${i}`);
      const values = () => packRows(keys.map((_, i) => Buffer.from(`c${i % 10}|${i}`)));
      assert.equal(await store.msetNewer(keys, values(), 2), 2500, 'batches larger than one script slice (on SQLite, one for its writer thread)');
      assert.equal(await store.msetNewer(keys, sliceRows(values(), 0, 2500), 2), 0, 'the same rows again, from a view of a larger buffer');
      assert.deepEqual((await store.mget(['m0', 'm1999', 'm2499'])).map((v) => v?.toString()), ['c0|0', 'c9|1999', 'c9|2499'], 'each value lands under its own key');
      const some = [...keys.slice(0, 600), 'missing', 'm7', ...keys.slice(600, 700)];
      assert.deepEqual(
        (await store.mget(some)).map((v) => v?.toString() ?? null),
        some.map((k) => (k === 'missing' ? null : `c${Number(k.slice(1)) % 10}|${k.slice(1)}`)),
        'a read of more keys than one query takes, with a missing and a repeated key, answers in order',
      );
      // New keys (non-ASCII among them) with two held keys in a later slice: one older, one newer than what is held.
      const mixed = [...Array.from({ length: 2100 }, (_, i) => (i === 7 ? 'p\u00e9\u{1f600}' : `p${i}`)), 'm5', 'm6', 'p2100'];
      const mixedValues = packRows(mixed.map((k) => Buffer.from(k === 'm5' ? 'c4|older' : k === 'm6' ? 'd0|newer' : `a1|${k}`)));
      assert.equal(await store.msetNewer(mixed, mixedValues, 2), mixed.length - 1, 'every new key and the newer held one');
      assert.deepEqual(
        (await store.mget(['m5', 'm6', 'p0', 'p\u00e9\u{1f600}', 'p2099', 'p2100'])).map((v) => v?.toString()),
        ['c5|5', 'd0|newer', 'a1|p0', 'a1|p\u00e9\u{1f600}', 'a1|p2099', 'a1|p2100'],
      );
      // A write made while another is under way lands after it: same header, other bytes, the later value stays.
      const first = Array.from({ length: 2000 }, (_, i) => `o${i}`);
      const earlier = store.msetNewer(first, packRows(first.map((k) => Buffer.from(`e0|earlier ${k}`))), 2);
      const later = store.msetNewer(['o1500'], packRows([Buffer.from('e0|later')]), 2);
      assert.deepEqual(await Promise.all([earlier, later]), [2000, 1]);
      assert.equal((await store.get('o1500'))?.toString(), 'e0|later');
      await store.delete(['n1', 'n2', ...keys, ...mixed, ...first]);
    });

    test('msetNewer applies many rows in order, repeats of a key included, from one buffer with gaps or packed apart', { skip: reason }, async () => {
      const keys = Array.from({ length: 130 }, (_, i) => `r${i % 65}`);
      // One buffer holding every value with gaps between, as encoded chunks are; the repeats are older, equal or newer.
      const shared = Buffer.alloc(130 * 16, '#');
      const text = (i: number) => (i < 65 ? `b5|first${i}` : [`a0|older${i}`, `b5|first${i - 65}`, `b5|other${i}`, `c0|newer${i}`][i % 4]);
      const bounds = new Uint32Array(2 * keys.length);
      keys.forEach((_, i) => {
        bounds[2 * i] = 16 * i;
        bounds[2 * i + 1] = 16 * i + shared.write(text(i), 16 * i, 'latin1');
      });
      const values = { blob: shared, bounds };
      const expected = (i: number) => {
        const later = text(i + 65);
        return later.startsWith('a0') || later === text(i) ? text(i) : later;
      };
      const changed = Array.from({ length: 65 }, (_, i) => expected(i) !== text(i)).filter(Boolean).length;
      assert.equal(await store.msetNewer(keys, values, 2), 65 + changed);
      const stored = (await store.mget(keys.slice(0, 65))).map((v) => v?.toString());
      assert.deepEqual(stored, Array.from({ length: 65 }, (_, i) => expected(i)));
      const again = keys.slice(0, 65).reverse();
      assert.equal(await store.msetNewer(again, packRows(again.map((_, k) => Buffer.from(stored[64 - k]!))), 2), 0, 'the same values again, packed apart');
      await store.delete(keys.slice(0, 65));
    });

    test('entries with a TTL expire and others stay', { skip: reason }, async () => {
      await store.set('short', 'x', 50);
      await store.mset([['short2', 'y']], 50);
      await store.set('long', 'z');
      assert.equal((await store.get('short'))?.toString(), 'x');
      await expire(50);
      assert.equal(await store.get('short'), null);
      assert.equal(await store.get('short2'), null);
      assert.equal((await store.get('long'))?.toString(), 'z');
      assert.deepEqual((await store.mget(['short', 'long', 'short2'])).map((v) => v?.toString() ?? null), [null, 'z', null]);
    });
  });
}

const clock = new ManualClock(1_000_000);
contract(
  'sqlite',
  () => openOnlineStore(parseOnlineUri(`sqlite:${join(tempDir(), 'online.db')}`), clock),
  async (ms) => clock.advance(ms),
  async () => false,
);

contract(
  'redis',
  () => openOnlineStore(parseOnlineUri(`${REDIS_URL}?prefix=${freshRedisPrefix()}`), clock),
  // Redis expires keys on its own clock, so this backend really waits.
  (ms) => sleep(ms + 60),
  redisSkip,
);

test('SQLite: large writes run on a writer thread beside reads; its failures reach the caller and the store goes on', async () => {
  const path = join(tempDir(), 'online.db');
  const store = await openOnlineStore(parseOnlineUri(`sqlite:${path}`), clock);
  try {
    const keys = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const rows = packRows(keys.map((k) => Buffer.from(`b0|${k}`)));
    const bytes = rows.blob.byteLength;
    const writing = store.msetNewer(keys, rows, 2);
    assert.equal(rows.blob.byteLength, bytes, 'the packed rows are copied to the writer thread, never moved: a transfer would detach their buffer in this process');
    assert.equal(rows.blob.toString('latin1', 0, 7), 'b0|w0b0');
    await store.set('beside', 'read while the thread writes');
    assert.equal((await store.get('beside'))?.toString(), 'read while the thread writes');
    assert.equal(await writing, 3000);
    assert.deepEqual((await store.mget(['w0', 'w2999'])).map((v) => v?.toString()), ['b0|w0', 'b0|w2999']);
    // Another connection (which also sees the page size a new file gets) swaps the table for one that refuses long values.
    const other = new Database(path);
    other.pragma('busy_timeout = 5000');
    assert.equal(other.pragma('page_size', { simple: true }), 16384);
    other.exec("drop table kv; create table kv (key text primary key, value blob not null check (length(value) < 8), expires_at integer)");
    other.close();
    await assert.rejects(store.msetNewer(keys, packRows(keys.map((k) => Buffer.from(`b1|long value ${k}`))), 2), (err: Error & { code?: string }) => {
      assert.match(err.message, /CHECK constraint failed/);
      assert.equal(err.code, 'SQLITE_CONSTRAINT_CHECK', "SQLite's own error, as a write on the caller's connection raises it");
      return true;
    });
    assert.equal(await store.msetNewer(['s'], packRows([Buffer.from('b1|ok')]), 2), 1, 'a later write still lands');
  } finally {
    await store.close();
  }
});

test('SQLite: the writer thread leaves a large write in the WAL and checkpoints it into the database once idle', async () => {
  const path = join(tempDir(), 'online.db');
  const store = await openOnlineStore(parseOnlineUri(`sqlite:${path}`), clock);
  try {
    // 24 MiB: past the 16 MiB at which SQLite's default would checkpoint in the middle of the write.
    const keys = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    const value = (k: string) => Buffer.concat([Buffer.from(`c0|${k}|`), Buffer.alloc(8192, 120)]);
    assert.equal(await store.msetNewer(keys, packRows(keys.map(value)), 2), 3000);
    assert.ok(statSync(path).size < 8 << 20, `the write is still in the WAL (database file ${statSync(path).size} bytes)`);
    for (let i = 0; i < 100 && statSync(path).size < 24 << 20; i++) await sleep(20);
    assert.ok(statSync(path).size >= 24 << 20, `checkpointed once the thread was idle (database file ${statSync(path).size} bytes)`);
    assert.deepEqual((await store.mget(['c0', 'c2999'])).map((v) => v?.subarray(0, 8).toString()), ['c0|c0|xx', 'c0|c2999']);
  } finally {
    await store.close();
  }
});

test('SQLite: a writer thread started ahead of writes takes rows from shared memory where they lie; one never written to closes', async () => {
  const idle = await openOnlineStore(parseOnlineUri(`sqlite:${join(tempDir(), 'idle.db')}`), clock);
  idle.expectWrites();
  await idle.close();
  const store = await openOnlineStore(parseOnlineUri(`sqlite:${join(tempDir(), 'online.db')}`), clock);
  try {
    store.expectWrites();
    const keys = Array.from({ length: 3000 }, (_, i) => `s${i}`);
    const builder = new RowsBuilder();
    const area = builder.append(keys.length, 8 * keys.length);
    keys.forEach((_, i) => {
      const at = area.at + 8 * i;
      area.bounds[area.boundsAt + 2 * i] = at;
      area.bounds[area.boundsAt + 2 * i + 1] = at + area.buf.write(`b0|${i % 10}`, at);
    });
    const rows = builder.take();
    assert.equal(await store.msetNewer(keys, rows, 2), 3000);
    assert.equal(rows.blob.byteLength, 8 * 3000, 'rows in shared memory stay with the caller');
    assert.deepEqual((await store.mget(['s0', 's2999'])).map((v) => v?.toString()), ['b0|0', 'b0|9']);
  } finally {
    await store.close();
  }
});

test('SQLite: writes land in the order they were made, the writer thread busy or not; close waits for them and refuses later ones', async () => {
  const store = await openOnlineStore(parseOnlineUri(`sqlite:${join(tempDir(), 'online.db')}`), clock);
  const keys = Array.from({ length: 2000 }, (_, i) => `o${i}`);
  // Equal headers: the later write wins, so the order of landing shows.
  const big = store.msetNewer(keys, packRows(keys.map(() => Buffer.from('h0|first'))), 2);
  const small = store.msetNewer(keys.slice(0, 10), packRows(keys.slice(0, 10).map(() => Buffer.from('h0|second'))), 2);
  const set = store.set('o1999', 'h0|third');
  const again = store.msetNewer(keys, packRows(keys.map(() => Buffer.from('h0|fourth'))), 2);
  const removed = store.delete(['o0']);
  assert.deepEqual(await Promise.all([big, small, set, again, removed]), [2000, 10, undefined, 2000, undefined]);
  assert.deepEqual((await store.mget(['o0', 'o1', 'o1999'])).map((v) => v?.toString() ?? null), [null, 'h0|fourth', 'h0|fourth']);
  const last = store.msetNewer(keys, packRows(keys.map(() => Buffer.from('h1|fifth'))), 2);
  const closing = store.close();
  assert.equal(await last, 2000, 'a write in flight at close ends, and is told so');
  await closing;
  await assert.rejects(store.msetNewer(keys, packRows(keys.map(() => Buffer.from('h2|late'))), 2), /closed/);
  await assert.rejects(store.set('x', 'late'), /closed/);
});

test('SQLite: a file from an earlier release keeps its page size and its rows', async () => {
  const path = join(tempDir(), 'old-online.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec('create table kv (key text primary key, value blob not null, expires_at integer)');
  old.prepare('insert into kv values (?, ?, null)').run('k', Buffer.from('v'));
  old.close();
  const store = await openOnlineStore(parseOnlineUri(`sqlite:${path}`), clock);
  try {
    assert.equal((await store.get('k'))?.toString(), 'v');
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('page_size', { simple: true }), 4096);
    check.close();
  } finally {
    await store.close();
  }
});
