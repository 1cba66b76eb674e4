import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseStoreUri } from '../../../src/config.js';
import { ManualClock } from '../../../src/core/clock.js';
import { Batch, column } from '../../../src/models/batch.js';
import { PackBuilder, decodeSegment, encodeSegment, entryRows, selectEntries, type PackedEntries } from '../../../src/monitoring/log/pack.js';
import type { PredictionRecord } from '../../../src/monitoring/log/types.js';
import { timeOrderedId } from '../../../src/core/ids.js';
import { KEY_SPAN_MS } from '../../../src/monitoring/log/segments.js';
import { MonitoringService, monitoringMigrations } from '../../../src/monitoring/service.js';
import { openFileBlobStore } from '../../../src/storage/blobs-file.js';
import { coreMigrations } from '../../../src/storage/core-migrations.js';
import { migrate, openMetadataStore } from '../../../src/storage/metadata.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../../helpers/services.js';
import { ENGINES, T0, record } from '../monitors/helpers.js';

function packEntries(entries: PredictionRecord[]): PackedEntries {
  const builder = new PackBuilder();
  for (const e of entries) builder.append(e);
  return builder.seal();
}

const unpackRows = (packed: PackedEntries) => Array.from(packed.times.keys()).flatMap((e) => entryRows(packed, e));

test('a segment encodes and decodes to the same rows; selected entries keep their own values', () => {
  const inputs = (x: number) =>
    Batch.from({
      x: column('float64', Float64Array.from([x, x + 0.5])),
      v: column('float32', Float32Array.from([1, 2, 3, 4]), [2]),
      big: column('int64', BigInt64Array.from([2n ** 62n, -3n])),
      city: column('string', ['oslo', 'lima']),
      h: column('float16', Uint16Array.from([0x3c00, 0xc000])),
    });
  const outputs = Batch.from({ y: column('float64', Float64Array.from([NaN, 7])) });
  const base = { deployment: 'd', model: 'm', version: 2, variant: 'primary', latencyMs: 0.25 };
  const packed = packEntries([
    { ...base, requestId: 'a', timeMs: T0, inputs: inputs(1), outputs },
    // A client's own id, in any script.
    { ...base, requestId: 'bé-記録-🙂', timeMs: T0 + 5, inputs: inputs(10), outputs },
    // Fields that vary within a segment are stored per entry, those that do not once.
    { ...base, model: 'm2', version: 3, requestId: 'c', timeMs: T0 + 9, inputs: inputs(100), outputs },
  ]);
  const rows = unpackRows(packed);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[2].inputs, { x: 10, v: [1, 2], big: '4611686018427387904', city: 'oslo', h: 1 });
  assert.deepEqual(rows[3].inputs.h, -2);
  assert.deepEqual(rows[3].outputs, { y: 7 });
  assert.deepEqual(rows[0].outputs, { y: null });
  const decoded = decodeSegment(encodeSegment(packed));
  assert.deepEqual(unpackRows(decoded), rows);
  assert.deepEqual(
    Array.from(decoded.source, (i) => decoded.sources[i]).map((s) => [s.deployment, s.model, s.version]),
    [['d', 'm', 2], ['d', 'm', 2], ['d', 'm2', 3]],
  );
  const picked = unpackRows(selectEntries(decoded, [0, 2]));
  assert.deepEqual(
    picked.map((r) => [r.request_id, r.row_index, r.inputs.x]),
    [['a', 0, 1], ['a', 1, 1.5], ['c', 0, 100], ['c', 1, 100.5]],
  );
  assert.deepEqual(
    rows.map((r) => r.request_id),
    ['a', 'a', 'bé-記録-🙂', 'bé-記録-🙂', 'c', 'c'],
  );
  assert.throws(() => decodeSegment(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /unknown format 9/);
});

test('each entry keeps the key its variant was chosen by; segments of format 3 (before keys) read without one', () => {
  const one = Batch.from({ x: column('float64', Float64Array.from([1])) });
  const base = { deployment: 'd', model: 'm', version: 1, variant: 'canary', latencyMs: 1, timeMs: T0, inputs: one, outputs: one };
  const packed = packEntries([
    { ...base, requestId: 'r1', key: 'user-7' },
    // Without a user id the request id is the key: stored as nothing, read back as the id.
    { ...base, requestId: 'r2', key: 'r2' },
    { ...base, requestId: 'r3' },
    { ...base, requestId: 'r4', key: 'ユーザー' },
  ]);
  const keys = (p: PackedEntries) => unpackRows(p).map((r) => [r.request_id, r.key]);
  const expected = [['r1', 'user-7'], ['r2', 'r2'], ['r3', 'r3'], ['r4', 'ユーザー']];
  assert.deepEqual(keys(packed), expected);
  const encoded = encodeSegment(packed);
  assert.deepEqual(keys(decodeSegment(encoded)), expected);
  assert.deepEqual(keys(selectEntries(decodeSegment(encoded), [0, 3])), [expected[0], expected[3]]);
  // Format 3 is format 4 without key bytes and without the key starts, which come last.
  const withoutKeys = encodeSegment(packEntries([{ ...base, requestId: 'r5' }, { ...base, requestId: 'r6', timeMs: T0 + 1 }]));
  const format3 = Buffer.from(withoutKeys.subarray(0, withoutKeys.length - 2 * 8));
  format3.writeUInt8(3, 0);
  assert.deepEqual(unpackRows(decodeSegment(format3)).map((r) => [r.request_id, r.key, r.time_ms]), [['r5', undefined, T0], ['r6', undefined, T0 + 1]]);
});

test('segments stored in format 1 (float64 numbers only) still read', () => {
  const header = Buffer.from(JSON.stringify({
    requestIds: ['a'], deployments: ['d'], models: ['m'], versions: [1], variants: ['primary'], times: [T0], latencies: [0.5], rows: [1], outputRows: [1],
    inputLayout: [0], outputLayout: [1], numStart: [0], strStart: [0],
    layouts: [[{ name: 'v', kind: 'num', shape: [2] }], [{ name: 'y', kind: 'num', shape: [] }]],
    strs: [],
  }));
  const start = 8 + header.length + ((8 - (header.length % 8)) % 8);
  const buf = Buffer.alloc(start + 24);
  buf.writeUInt8(1, 0);
  buf.writeUInt32LE(header.length, 4);
  header.copy(buf, 8);
  Buffer.from(Float64Array.from([0.1, 0.2, 7]).buffer).copy(buf, start);
  assert.deepEqual(unpackRows(decodeSegment(buf)).map((r) => [r.inputs, r.outputs]), [[{ v: [0.1, 0.2] }, { y: 7 }]]);
});

test('segments stored in format 2 (per-entry arrays in a JSON header) still read', () => {
  const header = Buffer.from(JSON.stringify({
    requestIds: ['a', 'b'], deployments: { all: 'd' }, models: ['m', 'm2'], versions: { all: 1 }, variants: { all: 'primary' }, times: [T0, T0 + 1], latencies: [0.5, 0.25],
    rows: { all: 1 }, outputRows: { all: 1 }, inputLayout: { all: 0 }, outputLayout: { all: 1 }, numStart: [0, 1], f32Start: [0, 2], strStart: [0, 0],
    layouts: [[{ name: 'v', kind: 'f32', shape: [2] }], [{ name: 'y', kind: 'num', shape: [] }]],
    strs: [], numCount: 2, entries: 2,
  }));
  const start = 8 + header.length + ((8 - (header.length % 8)) % 8);
  const buf = Buffer.alloc(start + 16 + 16);
  buf.writeUInt8(2, 0);
  buf.writeUInt32LE(header.length, 4);
  header.copy(buf, 8);
  Buffer.from(Float64Array.from([7, 8]).buffer).copy(buf, start);
  Buffer.from(Float32Array.from([0.5, 1.5, 2.5, 3.5]).buffer).copy(buf, start + 16);
  const rows = unpackRows(decodeSegment(buf));
  assert.deepEqual(rows.map((r) => [r.request_id, r.model, r.time_ms, r.latency_ms, r.inputs, r.outputs]), [
    ['a', 'm', T0, 0.5, { v: [0.5, 1.5] }, { y: 7 }],
    ['b', 'm2', T0 + 1, 0.25, { v: [2.5, 3.5] }, { y: 8 }],
  ]);
});

for (const engine of ENGINES) {
  describe(`prediction log segments: ${engine.name}`, async () => {
    const skip = await engine.skip();

    test('listing across many flushed segments returns the newest rows in order, within the time range', { skip }, async () => {
      const h = await engine.open();
      try {
        const log = h.service.log;
        // Out of time order across flushes: segments overlap in time.
        for (let i = 0; i < 40; i++) {
          log.record(record(`r${String(i).padStart(2, '0')}`, T0 + ((i * 7) % 40) * 1000, { x: [i] }, { y: [i] }));
          if (i % 3 === 2) await log.flush();
        }
        const newest = await log.list({ deployment: 'loans', limit: 5 });
        assert.deepEqual(newest.map((r) => r.timeMs - T0), [39_000, 38_000, 37_000, 36_000, 35_000]);
        const window = await log.list({ deployment: 'loans', from: T0 + 10_000, to: T0 + 13_000, limit: 100 });
        assert.deepEqual(window.map((r) => r.timeMs - T0), [12_000, 11_000, 10_000]);
        const inputs = await log.inputsWindow('loans', T0, T0 + 40_000, 1000);
        assert.equal(inputs.length, 40);
        assert.deepEqual(new Set(inputs.map((r) => r.x)), new Set(Array.from({ length: 40 }, (_, i) => i)));
      } finally {
        await h.close();
      }
    });

    test('request ids are found with and without key rows; a reused id finds its first answer', { skip }, async () => {
      const h = await engine.open();
      try {
        const log = h.service.log;
        // Ids as the server makes them (their time just before the log's), over several segments
        // of two deployments.
        const own: string[] = [];
        const logOwn = (t: number, deployment: string) => {
          const id = timeOrderedId(t - 3);
          log.record(record(id, t, { x: [own.length] }, { y: [own.length * 2] }, deployment));
          own.push(id);
          return id;
        };
        for (let i = 0; i < 42; i++) {
          logOwn(T0 + i * 7_000, i % 2 ? 'loans' : 'cars');
          if (i % 7 === 6) await log.flush();
        }
        // A quiet deployment's segment spanning 90 s: its two oldest ids fall outside the
        // segment's id range (KEY_SPAN_MS below its newest) and are keyed by rows.
        assert.equal(KEY_SPAN_MS, 60_000);
        const wide = Array.from({ length: 7 }, (_, k) => logOwn(T0 + 400_000 + k * 15_000, 'quiet'));
        await log.flush();
        // A client's own ids, and a version 7 id whose time is far from when it was logged.
        const stale = timeOrderedId(T0 - 3_600_000);
        log.record(record('client-7', T0 + 100, { x: [1000] }, { y: [1] }));
        log.record(record(stale, T0 + 200, { x: [1001] }, { y: [2] }));
        await log.flush();
        // A client reusing a logged id: the first answer stays the one it names.
        log.record(record(own[3], T0 + 900_000, { x: [-1] }, { y: [-1] }));
        await log.flush();

        const keyRows = await h.metadata.db.selectFrom('mon_log_key').select('request_id').execute();
        assert.deepEqual(keyRows.map((k) => k.request_id).sort(), ['client-7', stale, wide[0], wide[1], own[3]].sort(), 'only ids without a usable time (and the reuse) have key rows');
        for (const [i, id] of own.entries()) {
          const rows = await log.get(id);
          assert.deepEqual(rows.map((r) => [r.inputs.x, r.outputs.y]), [[i, i * 2]], `id ${i}`);
        }
        assert.deepEqual((await log.get('client-7')).map((r) => r.inputs.x), [1000]);
        assert.deepEqual((await log.get(stale)).map((r) => r.inputs.x), [1001]);
        await assert.rejects(log.get(timeOrderedId(T0 + 14_000 - 3)), /no logged prediction has request id/);

        const result = await h.service.submitFeedback([...own.map((id, i) => ({ request_id: id, value: i })), { request_id: stale, value: 5 }, { request_id: 'nobody', value: 1 }]);
        assert.equal(result.accepted, own.length + 1);
        assert.deepEqual(result.unknown.map((u) => u.request_id), ['nobody']);
      } finally {
        await h.close();
      }
    });
  });
}

/** Migrations as they stood before the log moved to segments. */
const before = Object.fromEntries(Object.entries({ ...coreMigrations, ...monitoringMigrations }).filter(([name]) => name < '0535'));

async function upgrade(storeUri: string, cleanup: () => Promise<void>): Promise<void> {
  const store = parseStoreUri(storeUri, process.cwd());
  const metadata = await openMetadataStore(store);
  const blobs = await openFileBlobStore(join(tempDir('mpblobs'), 'blobs'));
  try {
    await migrate(metadata, before);
    const row = (request_id: string, row_index: number, deployment: string, time_ms: number, x: number) => ({
      request_id, row_index, deployment, model: 'm', version: 1, variant: 'primary', time_ms, latency_ms: 2, inputs: JSON.stringify({ x, tags: ['a'] }), outputs: JSON.stringify({ y: x * 2 }),
    });
    await metadata.db
      .insertInto('mon_prediction')
      .values([row('old-1', 0, 'loans', T0, 1), row('old-1', 1, 'loans', T0, 2), row('old-2', 0, 'cars', T0 + 1000, 3)])
      .execute();
    await metadata.db
      .insertInto('mon_feedback')
      .values({ request_id: 'old-1', row_index: 1, deployment: 'loans', prediction_time_ms: T0, label: '1', value: null, received_ms: T0 + 5 })
      .execute();

    await migrate(metadata, { ...coreMigrations, ...monitoringMigrations });
    await assert.rejects(metadata.db.selectFrom('mon_prediction').selectAll().execute(), /mon_prediction/, 'the row table is gone');
    const service = new MonitoringService({ config: { store }, metadata, blobs, clock: new ManualClock(T0 + 2000) }, { tickMs: false, log: { writer: 'inline' } });
    await service.start();
    try {
      const rows = await service.log.get('old-1');
      assert.deepEqual(rows.map((r) => [r.row, r.inputs, r.outputs, r.deployment, r.latencyMs]), [
        [0, { x: 1, tags: ['a'] }, { y: 2 }, 'loans', 2],
        [1, { x: 2, tags: ['a'] }, { y: 4 }, 'loans', 2],
      ]);
      assert.deepEqual((await service.log.list({ deployment: 'cars' })).map((r) => r.inputs), [{ x: 3, tags: ['a'] }]);
      const joined = await service.feedback.joined('loans', T0, T0 + 1);
      assert.deepEqual(joined.map((j) => [j.requestId, j.row, j.outputs, j.label]), [['old-1', 1, { y: 4 }, '1']]);
      const more = await service.submitFeedback([{ request_id: 'old-2', value: 3 }]);
      assert.equal(more.accepted, 1);
    } finally {
      await service.close();
    }
  } finally {
    await blobs.close();
    await metadata.close();
    await cleanup();
  }
}

describe('upgrading a store with logged rows', async () => {
  const skip = await postgresSkip();
  test('sqlite: rows and feedback move to segments', () => upgrade(`sqlite:${join(tempDir('mpmon'), 'm.db')}`, async () => undefined));
  test('postgres: rows and feedback move to segments', { skip }, async () => {
    const { uri, schema } = freshPostgresUri();
    await upgrade(uri, () => dropSchema(schema));
  });
});
