/**
 * Materialize, online reads with Feast's statuses, push and the consistency check, on the
 * SQLite online store and on the real Redis (its own key prefix, removed afterwards).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/core/clock.js';
import { loadFeatureFile, type FeatureRepoSpec } from '../../src/features/index.js';
import type { Platform } from '../../src/platform.js';
import { writeRows } from '../../src/features/online.js';
import { rowAt, RowsBuilder } from '../../src/storage/packed-rows.js';
import { columnsOf, decodeRow, encodeRows, layoutKey, layoutOf, learnLayouts, unknownLayout } from '../../src/features/row-codec.js';
import { openOnlineStore } from '../../src/storage/online.js';
import { testPlatform } from '../helpers/platform.js';
import { REDIS_URL, freshRedisPrefix, redisSkip, tempDir } from '../helpers/services.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/features/', import.meta.url));
const T0 = Date.parse('2025-01-01T00:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The fixture's customer rows, parsed here independently of DuckDB. */
function custRows(dir: string) {
  const [, ...lines] = readFileSync(join(dir, 'cust.csv'), 'utf8').trim().split('\n');
  return lines.map((l) => {
    const [id, t, c, score, count, tier] = l.split(',');
    return { id: Number(id), t: Date.parse(t), c: Date.parse(c), score: score === '' ? null : Number(score), count: count === '' ? null : Number(count), tier: tier === '' ? null : tier };
  });
}

/** Latest row per customer with event time in (after, until], ties to the latest created. */
function latest(rows: ReturnType<typeof custRows>, after: number, until: number) {
  const out = new Map<number, (typeof rows)[number]>();
  for (const r of rows) {
    if (r.t <= after || r.t > until) continue;
    const o = out.get(r.id);
    if (!o || r.t > o.t || (r.t === o.t && r.c > o.c)) out.set(r.id, r);
  }
  return out;
}

function suite(name: string, onlineFlag: () => Promise<{ online?: string; skip?: string | false; cleanup?: () => Promise<void> }>) {
  describe(`features online (${name})`, async () => {
    const setup = await onlineFlag();
    let platform: Platform;
    let dir: string;
    let spec: FeatureRepoSpec;
    const clock = new ManualClock(T0 + 25 * DAY);

    before(async () => {
      if (setup.skip) return;
      dir = tempDir('features-online');
      cpSync(FIXTURE, dir, { recursive: true });
      platform = await testPlatform(setup.online ? { online: setup.online } : {}, clock);
      spec = await loadFeatureFile(join(dir, 'features.yaml'));
      spec.on_demand_feature_views = [
        {
          name: 'scaled',
          sources: ['cust'],
          request: [{ name: 'factor', dtype: 'float64' }],
          features: [{ name: 'score_x', dtype: 'float64' }, { name: 'label', dtype: 'string' }],
          transform: '(row) => ({ score_x: row.score === null ? null : row.score * row.factor, label: row.tier + "/" + row.count })',
        },
      ];
      await platform.services.features.apply(spec);
    });
    after(async () => {
      if (setup.skip) return;
      await platform.close();
      await setup.cleanup?.();
    });

    test('incremental materialize picks up only new rows; a repeat writes nothing', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      const rows = custRows(dir);
      const [first] = await f.materialize({ views: ['cust'], endMs: T0 + 5 * DAY });
      assert.equal(first.rows, latest(rows, -Infinity, T0 + 5 * DAY).size);
      assert.equal(first.written, first.rows);
      const [inc] = await f.materialize({ views: ['cust'], incremental: true, endMs: T0 + 20 * DAY });
      assert.equal(inc.rows, latest(rows, T0 + 5 * DAY, T0 + 20 * DAY).size);
      const [again] = await f.materialize({ views: ['cust'], incremental: true, endMs: T0 + 20 * DAY });
      assert.equal(again.rows, 0);
      const [full] = await f.materialize({ views: ['cust'], endMs: T0 + 20 * DAY });
      assert.equal(full.rows, latest(rows, -Infinity, T0 + 20 * DAY).size);
      assert.equal(full.written, 0, 'materializing the same data again changes nothing');
      await f.materialize({ views: ['pair'] });
    });

    test('reads answer values and Feast statuses; TTL is checked at read time, inclusive', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      const expected = latest(custRows(dir), -Infinity, T0 + 20 * DAY);
      const ids = [...expected.keys()].slice(0, 40);
      clock.set(T0 + 20 * DAY);
      const res = await f.getOnlineFeatures({ features: ['cust:score', 'cust:count', 'cust:tier'], entities: { customer_id: [...ids, 5, 4] } });
      assert.deepEqual(res.metadata.feature_names, ['customer_id', 'score', 'count', 'tier']);
      ids.forEach((id, i) => {
        const row = expected.get(id)!;
        const fresh = row.t >= T0 + 18 * DAY;
        assert.equal(res.results[1].statuses[i], !fresh ? 'OUTSIDE_MAX_AGE' : row.score === null ? 'NULL_VALUE' : 'PRESENT', `customer ${id}`);
        assert.equal(res.results[1].values[i], fresh ? row.score : null, `customer ${id} score`);
        assert.equal(res.results[2].values[i], fresh ? row.count : null);
        assert.equal(res.results[3].values[i], fresh ? row.tier : null);
        assert.equal(res.results[1].event_timestamps[i], new Date(row.t).toISOString());
      });
      assert.equal(res.results[1].statuses[ids.length], 'NOT_FOUND');
      // Customer 4's latest row (2025-01-02) holds nulls; two days later it is still in the TTL.
      clock.set(T0 + DAY + 2 * DAY);
      const four = await f.getOnlineFeatures({ features: ['cust'], entities: { customer_id: [4] } });
      assert.deepEqual(four.results.slice(1).map((c) => c.statuses[0]), ['NULL_VALUE', 'NULL_VALUE', 'NULL_VALUE']);
      clock.set(T0 + DAY + 2 * DAY + 1);
      const expired = await f.getOnlineFeatures({ features: ['cust:score'], entities: { customer_id: [4] } });
      assert.equal(expired.results[1].statuses[0], 'OUTSIDE_MAX_AGE');
      // Composite keys; a view without TTL never expires.
      clock.set(T0 + 400 * DAY);
      const pair = await f.getOnlineFeatures({ features: ['pair:score', 'cust:score'], entities: { customer_id: [1, 6], merchant_id: [100, 101] } });
      assert.deepEqual(pair.metadata.feature_names, ['customer_id', 'merchant_id', 'pair__score', 'cust__score']);
      assert.deepEqual(pair.results[2].values, [0.11, 0.67]);
      assert.deepEqual(pair.results[3].statuses, ['OUTSIDE_MAX_AGE', 'OUTSIDE_MAX_AGE']);
      await assert.rejects(f.getOnlineFeatures({ features: ['pair:score'], entities: { customer_id: [1] } }), /missing join key "merchant_id"/);
      await assert.rejects(f.getOnlineFeatures({ features: ['cust:score'], entities: { customer_id: [1, 2], other: [1] } }), /entities\.other: has 1 values, but customer_id has 2/);
    });

    test('on-demand features run the same transform online as offline', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      const now = T0 + 20 * DAY;
      clock.set(now);
      const ids = [...latest(custRows(dir), T0 + 18 * DAY, now).keys()].slice(0, 25);
      const online = await f.getOnlineFeatures({ features: ['scaled'], entities: { customer_id: ids }, requestData: { factor: ids.map((_, i) => i + 0.5) } });
      const offline = await f.historical({
        features: ['scaled'],
        entities: { columns: [{ name: 'customer_id', values: ids }, { name: 'event_timestamp', values: ids.map(() => now / 1000) }, { name: 'factor', values: ids.map((_, i) => i + 0.5) }] },
      });
      assert.deepEqual(online.results[1].values, offline.rows.map((r) => r[3]));
      assert.deepEqual(online.results[2].values, offline.rows.map((r) => r[4]));
      assert.ok(online.results[1].values.some((v) => typeof v === 'number'));
      await assert.rejects(f.getOnlineFeatures({ features: ['scaled'], entities: { customer_id: [1] } }), /missing "factor", a request value on-demand view scaled needs/);
    });

    test('push writes fresh rows, keeps newer ones, appends offline, and refuses mismatched columns', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      const t = new Date(T0 + 30 * DAY).toISOString();
      clock.set(T0 + 30 * DAY + HOUR);
      const res = await f.push({ view: 'cust', df: { customer_id: [1, 2], event_timestamp: [t, t], score: [99.5, null], count: [7, 8], tier: ['new', 'new'] }, to: 'online_and_offline' });
      assert.deepEqual(res, { rows: 2, written: 2 });
      const read = await f.getOnlineFeatures({ features: ['cust:score', 'cust:tier'], entities: { customer_id: [1, 2] } });
      assert.deepEqual(read.results[1].values, [99.5, null]);
      assert.deepEqual(read.results[1].statuses, ['PRESENT', 'NULL_VALUE']);
      assert.deepEqual(read.results[2].statuses, ['PRESENT', 'PRESENT'], "one feature's null leaves the statuses of the view's others alone");
      const older = await f.push({ view: 'cust', df: { customer_id: [1], event_timestamp: [T0 / 1000], score: [1], count: [1], tier: ['old'] } });
      assert.equal(older.written, 0, 'an older row does not replace a newer one');
      const offline = await f.historical({ features: ['cust:score'], entities: { columns: [{ name: 'customer_id', values: [1] }, { name: 'event_timestamp', values: [t] }] } });
      assert.equal(offline.rows[0][2], 99.5, 'the pushed row reached the offline source');
      await assert.rejects(f.push({ view: 'cust', df: { customer_id: [1], event_timestamp: [t], score: [1], count: [1] } }), /df: missing column "tier" of feature view cust/);
      await assert.rejects(f.push({ view: 'cust', df: { customer_id: [1], event_timestamp: [t], score: [1], count: [1], tier: ['x'], colour: ['red'] } }), /df: column "colour" not in feature view cust/);
      await assert.rejects(f.push({ view: 'cust', df: { customer_id: [1], event_timestamp: ['2025-01-01 00:00:00'], score: [1], count: [1], tier: ['x'] } }), /df\.event_timestamp\[0\]: .*has no time zone/);
      await assert.rejects(f.push({ view: 'cust', df: { customer_id: [1], event_timestamp: [t], score: ['high'], count: [1], tier: ['x'] } }), /df\.score\[0\]: "high" is not a float64/);
      await assert.rejects(f.push({ view: 'nope', df: {} }), /unknown feature view "nope"/);
    });

    test('the consistency check finds no mismatch after materialize and names one it planted', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      clock.set(T0 + 31 * DAY);
      await f.materialize({ views: ['cust'] });
      const clean = await f.check({ views: ['cust'], sample: 400 });
      const customers = new Set(custRows(dir).map((r) => r.id)).size;
      assert.equal(clean.views[0].entities, customers);
      assert.equal(clean.views[0].compared, customers * 3);
      assert.deepEqual(clean.views[0].mismatches, []);
      // A push to the online store only: the offline source no longer agrees.
      await f.push({ view: 'cust', df: { customer_id: [3], event_timestamp: [new Date(T0 + 30 * DAY).toISOString()], score: [1], count: [2], tier: ['online-only'] } });
      const dirty = await f.check({ views: ['cust'], sample: 400 });
      assert.deepEqual(dirty.views[0].mismatches.map((m) => [m.entity.customer_id, m.feature, m.online, m.offline]), [
        [3, 'score', 1, null],
        [3, 'count', 2, null],
        [3, 'tier', 'online-only', null],
      ]);
      const fresh = await f.freshness();
      assert.equal(fresh.find((e) => e.view === 'cust')!.ageSeconds, DAY / 1000);
    });

    test('rows with equal event and created times: the greatest values win, online and offline alike', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      const t = '2025-01-20T00:00:00Z';
      const c = '2025-01-20T01:00:00Z';
      // customer, created, a, b: 1 ties three ways (a, then b decides); 2 has a null a, the
      // lowest; 3 is decided by its created time; 4 has rows without a created time, which lose to
      // one with it; 5 ties with no created time at all.
      const csv = [
        'customer_id,event_timestamp,created_timestamp,a,b',
        `1,${t},${c},2,a`,
        `1,${t},${c},1,z`,
        `1,${t},${c},2,b`,
        `2,${t},${c},,z`,
        `2,${t},${c},0,a`,
        `3,${t},${c},5,x`,
        `3,${t},2025-01-20T02:00:00Z,1,y`,
        `4,${t},,9,n`,
        `4,${t},${c},1,c`,
        `5,${t},,3,p`,
        `5,${t},,4,q`,
        `6,${t},${c},7,only`,
      ];
      writeFileSync(join(dir, 'tied.csv'), csv.join('\n') + '\n');
      await f.apply({
        ...spec,
        sources: [...spec.sources, { name: 'tied_source', path: join(dir, 'tied.csv'), timestamp_field: 'event_timestamp', created_timestamp_field: 'created_timestamp' }],
        feature_views: [...spec.feature_views, { name: 'tied', entities: ['customer'], source: 'tied_source', features: [{ name: 'a', dtype: 'int64' }, { name: 'b', dtype: 'string' }] }],
      });
      const [m] = await f.materialize({ views: ['tied'] });
      assert.equal(m.rows, 6);
      const ids = [1, 2, 3, 4, 5, 6];
      const expected = { a: [2, 0, 1, 1, 4, 7], b: ['b', 'a', 'y', 'c', 'q', 'only'] };
      const online = await f.getOnlineFeatures({ features: ['tied:a', 'tied:b'], entities: { customer_id: ids } });
      assert.deepEqual({ a: online.results[1].values, b: online.results[2].values }, expected);
      const offline = await f.historical({
        features: ['tied:a', 'tied:b'],
        entities: { columns: [{ name: 'customer_id', values: ids }, { name: 'event_timestamp', values: ids.map(() => Date.parse(t) / 1000) }] },
      });
      assert.deepEqual({ a: offline.rows.map((r) => r[2]), b: offline.rows.map((r) => r[3]) }, expected);
      const [again] = await f.materialize({ views: ['tied'] });
      assert.equal(again.written, 0, 'the tie-break picks the same rows every time');
    });

    test('a feature value the source cannot give as its dtype is a clear InvalidArgument naming the source file', { skip: setup.skip }, async () => {
      const f = platform.services.features;
      // The bad value comes last, after the chunks a streamed read has already handed out.
      const lines = Array.from({ length: 50_000 }, (_, i) => `${i + 1},2025-01-20T00:00:00Z,${i === 49_999 ? 3_000_000_000 : i}`);
      writeFileSync(join(dir, 'wide.csv'), ['customer_id,event_timestamp,n', ...lines].join('\n') + '\n');
      await f.apply({
        ...spec,
        sources: [...spec.sources, { name: 'wide_source', path: join(dir, 'wide.csv'), timestamp_field: 'event_timestamp' }],
        feature_views: [...spec.feature_views, { name: 'wide', entities: ['customer'], source: 'wide_source', features: [{ name: 'n', dtype: 'int32' }] }],
      });
      await assert.rejects(f.materialize({ views: ["wide"] }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'InvalidArgument');
        assert.match(err.message, /wide\.csv: cannot read as csv: .*3000000000.*out of range/);
        return true;
      });
    });
  });
}

suite('SQLite', async () => ({}));
suite('Redis', async () => {
  const skip = await redisSkip();
  const prefix = freshRedisPrefix();
  return {
    skip,
    online: `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`,
    async cleanup() {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
});

test('the stored row form: times and values survive, order is byte order, a reader with another definition decodes through the stored layout, and entries of older releases are read and then replaced', async () => {
  const features = [
    { name: 'a', dtype: 'float64' as const },
    { name: 'b', dtype: 'bool' as const },
    { name: 's', dtype: 'string' as const },
    { name: 'i', dtype: 'int64' as const },
  ];
  const layout = layoutOf(features);
  const rows = [
    { t: -86_400_000, c: 0, v: { a: 1.5, b: null, s: 'x', i: -3 } },
    { t: T0, c: T0 + 1, v: { a: 2, b: true, s: 'é', i: 2 ** 40 } },
    { t: T0 + 1, c: T0 + 2, v: { a: null, b: false, s: null, i: null } },
  ];
  const encode = (rs: typeof rows) =>
    encodeRows(
      layout,
      columnsOf(
        layout,
        rs.map((r) => r.t),
        rs.map((r) => r.c),
        features.map((f) => rs.map((r) => r.v[f.name as keyof (typeof rows)[number]['v']])),
      ),
    ).take();
  const decoded = (buf: Buffer | null) => {
    const row = decodeRow(buf);
    return row && { t: row.t, c: row.c, v: Object.fromEntries(features.map((f) => [f.name, row.get(f.name)])) };
  };
  const packed = encode(rows);
  const encoded = rows.map((_, i) => rowAt(packed, i));
  rows.forEach((r, i) => assert.deepEqual(decoded(encoded[i]), r));
  assert.ok(Buffer.compare(encoded[0], encoded[1]) < 0 && Buffer.compare(encoded[1], encoded[2]) < 0);
  assert.equal(decodeRow(encoded[0])!.get('unknown'), undefined);

  const store = await openOnlineStore({ kind: 'sqlite', path: ':memory:' }, new ManualClock(T0));
  try {
    // A whole-row JSON entry, and a hex header with JSON values: the two forms of older releases.
    await store.set('feat:v:1', JSON.stringify({ t: T0 + DAY, c: 0, v: { a: 9 } }));
    await store.set('feat:v:2', `~${(2n ** 63n + BigInt(T0)).toString(16)}${(2n ** 63n).toString(16)}{"a":7}`);
    assert.deepEqual(decoded(await store.get('feat:v:1')), { t: T0 + DAY, c: 0, v: { a: 9, b: undefined, s: undefined, i: undefined } });
    assert.deepEqual(decoded(await store.get('feat:v:2')), { t: T0, c: 0, v: { a: 7, b: undefined, s: undefined, i: undefined } });
    assert.equal(await writeRows(store, layout, ['feat:v:1', 'feat:v:2'], encode([rows[1], rows[1]])), 2, 'the packed form replaces both');
    assert.deepEqual(decoded(await store.get('feat:v:1')), rows[1]);
    assert.equal(await writeRows(store, layout, ['feat:v:1'], encode([rows[0]])), 0, 'an older row does not replace a newer one');
    assert.equal(await writeRows(store, layout, ['feat:v:1'], encode([rows[1]])), 0, 'the same row is not written again');

    assert.deepEqual(JSON.parse((await store.get(layoutKey(layout.fingerprint)))!.toString()), features, 'each write stores its feature list');
    // An entry written by another process, with a feature list this one has never seen.
    const list = [{ name: 'z', dtype: 'float64' }, { name: 'late', dtype: 'float64' }];
    const fingerprint = createHash('sha256').update(JSON.stringify(list.map((f) => [f.name, f.dtype]))).digest().subarray(0, 8);
    const foreign = Buffer.alloc(56);
    foreign.write(`~${(2n ** 63n + BigInt(T0)).toString(16)}${(2n ** 63n).toString(16)}`, 'latin1');
    foreign[33] = 1;
    fingerprint.copy(foreign, 34);
    foreign[42] = 0b10;
    foreign.writeDoubleLE(4.5, 48);
    assert.deepEqual(unknownLayout(foreign), fingerprint);
    assert.equal(decodeRow(foreign), undefined, 'not decodable before its layout is known');
    learnLayouts([Buffer.from(JSON.stringify(list))]);
    assert.equal(unknownLayout(foreign), undefined);
    const row = decodeRow(foreign)!;
    assert.deepEqual([row.t, row.get('z'), row.get('late')], [T0, 4.5, null]);
  } finally {
    await store.close();
  }
});

test('a TIMESTAMP join key is stored under its formatted text, not the microseconds DuckDB holds it as', async () => {
  const dir = tempDir('features-timestamp-keys');
  const hours = ['2025-01-01 05:00:00', '2025-01-02 06:30:00'];
  writeFileSync(join(dir, 'h.csv'), `hour,event_timestamp,x\n${hours.map((h, i) => `${h},2025-01-01T00:00:00Z,${i + 1}`).join('\n')}\n`);
  const platform = await testPlatform({}, new ManualClock(T0 + DAY));
  try {
    await platform.services.features.apply({
      entities: [{ name: 'h', join_keys: ['hour'] }],
      sources: [{ name: 'hs', path: join(dir, 'h.csv'), timestamp_field: 'event_timestamp' }],
      feature_views: [{ name: 'hv', entities: ['h'], source: 'hs', features: [{ name: 'x', dtype: 'float64' }] }],
    });
    const [m] = await platform.services.features.materialize({ views: ['hv'] });
    assert.equal(m.written, 2);
    const res = await platform.services.features.getOnlineFeatures({ features: ['hv:x'], entities: { hour: hours } });
    assert.deepEqual(res.results[1].values, [1, 2]);
  } finally {
    await platform.close();
  }
});

test('materialized BIGINT keys read back under their exact text, negative and past 2^53 alike', async () => {
  const dir = tempDir('features-bigint-keys');
  const ids = ['-4294967297', '-1', '0', '4294967296', '9007199254740991', '9007199254740993', '-9223372036854775808', '9223372036854775807'];
  writeFileSync(join(dir, 'k.csv'), `id,event_timestamp,x\n${ids.map((id, i) => `${id},2025-01-01T00:00:00Z,${i}`).join('\n')}\n`);
  const platform = await testPlatform({}, new ManualClock(T0 + DAY));
  try {
    await platform.services.features.apply({
      entities: [{ name: 'k', join_keys: ['id'] }],
      sources: [{ name: 'ks', path: join(dir, 'k.csv'), timestamp_field: 'event_timestamp' }],
      feature_views: [{ name: 'kv', entities: ['k'], source: 'ks', features: [{ name: 'x', dtype: 'float64' }] }],
    });
    const [m] = await platform.services.features.materialize({ views: ['kv'] });
    assert.equal(m.written, ids.length);
    const res = await platform.services.features.getOnlineFeatures({ features: ['kv:x'], entities: { id: [...ids, '9007199254740992'] } });
    assert.deepEqual(res.results[1].values, [...ids.map((_, i) => i), null]);
  } finally {
    await platform.close();
  }
});

test('rows encoded into memory that held other bytes are the bytes of a fresh encoding', () => {
  const features = [
    { name: 'a', dtype: 'float64' as const },
    { name: 's', dtype: 'string' as const },
    { name: 'b', dtype: 'bool' as const },
  ];
  const layout = layoutOf(features);
  const cols = () => columnsOf(layout, [T0, T0 + 1], [0, T0], [[1.5, null], ['x', null], [null, true]]);
  const fresh = encodeRows(layout, cols()).take();
  const builder = new RowsBuilder();
  const used = builder.append(2, 256);
  used.buf.fill(0xff, used.at, used.at + 256);
  builder.take();
  builder.take();
  const reused = encodeRows(layout, cols(), builder).take();
  assert.equal(reused.blob.buffer, used.buf.buffer, 'the area that held the 0xff bytes');
  for (let i = 0; i < 2; i++) assert.deepEqual(rowAt(reused, i), rowAt(fresh, i));
});
