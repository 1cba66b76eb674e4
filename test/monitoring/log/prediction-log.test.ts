import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, column } from '../../../src/models/batch.js';
import { randomBytes } from 'node:crypto';
import { ENGINES, T0, record } from '../monitors/helpers.js';
import { Leadership, Leases } from '../../../src/cluster/leases.js';
import { clusterMigrations } from '../../../src/cluster/migrations.js';
import { PredictionLog } from '../../../src/monitoring/log/prediction-log.js';
import { monitoringMigrations } from '../../../src/monitoring/service.js';
import { coreMigrations } from '../../../src/storage/core-migrations.js';
import { migrate } from '../../../src/storage/metadata.js';

const DAY = 86_400_000;

for (const engine of ENGINES) {
  describe(`prediction log: ${engine.name}`, async () => {
    const skip = await engine.skip();

    for (const writer of ['thread', 'inline'] as const) test(`records rows per request, reads them back, and keeps ring and store in step (${writer} writer)`, { skip }, async () => {
      const h = await engine.open({ log: { writer } });
      try {
        const log = h.service.log;
        log.record(record('r1', T0, { age: [30, 41], city: ['paris', 'rome'] }, { label: [1, 0], probabilities: [0.8, 0.3] }));
        log.record(record('r2', T0 + 1000, { age: [25], city: ['oslo'] }, { label: [0], probabilities: [0.1] }, 'other'));
        assert.equal(log.stats().queued, 2, 'nothing is written on the hot path');
        const live = log.recent({ deployment: 'loans' });
        assert.equal(live.length, 2);
        assert.deepEqual(live[0].inputs, { age: 30, city: 'paris' });
        const rows = await log.get('r1');
        assert.deepEqual(
          rows.map((r) => [r.row, r.inputs, r.outputs, r.deployment, r.model, r.version, r.variant, r.timeMs, r.latencyMs]),
          [
            [0, { age: 30, city: 'paris' }, { label: 1, probabilities: 0.8 }, 'loans', 'loans-model', 3, 'primary', T0, 1.5],
            [1, { age: 41, city: 'rome' }, { label: 0, probabilities: 0.3 }, 'loans', 'loans-model', 3, 'primary', T0, 1.5],
          ],
        );
        const listed = await log.list({ deployment: 'other' });
        assert.deepEqual(listed.map((r) => r.requestId), ['r2']);
        assert.equal(log.stats().written, 3);
        await assert.rejects(log.get('nope'), /no logged prediction has request id "nope"/);
      } finally {
        await h.close();
      }
    });

    test('64-bit integers, float16, vectors, NaN and duplicate request ids are logged safely', { skip }, async () => {
      const h = await engine.open();
      try {
        const inputs = Batch.from({
          id: column('int64', BigInt64Array.from([2n ** 60n])),
          small: column('uint64', BigUint64Array.from([42n])),
          half: column('float16', Uint16Array.from([0x3c00])),
          v: column('float32', Float32Array.from([0.5, 1.5]), [2]),
          tags: column('string', ['a', 'b\"c'], [2]),
        });
        const outputs = Batch.from({ y: column('float64', Float64Array.from([NaN])) });
        const base = { deployment: 'd', model: 'm', version: 1, variant: 'primary', latencyMs: 1, timeMs: T0 };
        h.service.log.record({ ...base, requestId: 'x', inputs, outputs });
        h.service.log.record({ ...base, requestId: 'x', inputs, outputs, version: 2 });
        const rows = await h.service.log.get('x');
        assert.equal(rows.length, 1);
        assert.equal(rows[0].version, 1, 'the first answer logged under a request id is kept');
        assert.deepEqual(rows[0].inputs, { id: '1152921504606846976', small: 42, half: 1, v: [0.5, 1.5], tags: ['a', 'b\"c'] });
        assert.deepEqual(rows[0].outputs, { y: null });
      } finally {
        await h.close();
      }
    });

    test('sampling follows the default and per-deployment rates', { skip }, async () => {
      let seq = 0;
      // A deterministic "random" stream: 0.05, 0.15, ..., 0.95, repeating.
      const h = await engine.open({ log: { sampleRate: 0.5, random: () => ((seq++ % 10) + 0.5) / 10 } });
      try {
        const log = h.service.log;
        for (let i = 0; i < 100; i++) log.record(record(`a${i}`, T0, { x: [i] }, { y: [i] }, 'a'));
        await log.setSampleRate('b', 0);
        for (let i = 0; i < 10; i++) log.record(record(`b${i}`, T0, { x: [i] }, { y: [i] }, 'b'));
        await log.setSampleRate('c', 1);
        for (let i = 0; i < 10; i++) log.record(record(`c${i}`, T0, { x: [i] }, { y: [i] }, 'c'));
        await log.flush();
        const s = log.stats();
        assert.equal(s.offered, 120);
        assert.equal(s.sampled, 50 + 0 + 10);
        assert.deepEqual(log.sampleRates(), { default: 0.5, deployments: { b: 0, c: 1 } });
        await assert.rejects(log.setSampleRate('d', 1.5), /sampleRate must be a number in \[0, 1\], got 1.5/);
      } finally {
        await h.close();
      }
    });

    test('sample then keep, the request path\'s two steps, sample and count as record does', { skip }, async () => {
      let seq = 0;
      const h = await engine.open({ log: { sampleRate: 0.5, random: () => ((seq++ % 10) + 0.5) / 10 } });
      try {
        const log = h.service.log;
        const kept: string[] = [];
        for (let i = 0; i < 10; i++) {
          if (!log.sample('a')) continue;
          kept.push(`a${i}`);
          log.keep(record(`a${i}`, T0, { x: [i] }, { y: [i] }, 'a'));
        }
        await log.setSampleRate('b', 0);
        assert.equal(log.sample('b'), false);
        assert.deepEqual(kept, ['a0', 'a1', 'a2', 'a3', 'a4']);
        await log.flush();
        assert.deepEqual({ offered: log.stats().offered, sampled: log.stats().sampled }, { offered: 11, sampled: 5 });
      } finally {
        await h.close();
      }
    });

    test('a full queue drops and counts instead of blocking; record never throws', { skip }, async () => {
      const h = await engine.open({ log: { maxQueue: 3 } });
      try {
        const log = h.service.log;
        for (let i = 0; i < 5; i++) log.record(record(`q${i}`, T0, { x: [i] }, { y: [i] }));
        assert.equal(log.stats().dropped, 2);
        log.record(null as never);
        assert.equal(log.stats().dropped, 3);
        await log.flush();
        assert.equal(log.stats().written, 3);
      } finally {
        await h.close();
      }
    });

    test('retention deletes rows (and their feedback) older than the period by the clock', { skip }, async () => {
      const h = await engine.open({ log: { retentionMs: 7 * 86_400_000 } });
      try {
        const log = h.service.log;
        log.record(record('old', T0, { x: [1] }, { y: [1] }));
        log.record(record('new', T0 + 6 * 86_400_000, { x: [1] }, { y: [1] }));
        await h.service.submitFeedback([{ request_id: 'old', label: 1 }]);
        h.clock.advance(8 * 86_400_000);
        assert.equal(await log.prune(), 1);
        assert.deepEqual((await log.list()).map((r) => r.requestId), ['new']);
        const fb = await h.service.submitFeedback([{ request_id: 'old', label: 1 }]);
        assert.equal(fb.unknown.length, 1);
      } finally {
        await h.close();
      }
    });

    test('retention per deployment (its own period, 0 for forever, else the default) is swept by the replica holding the retention lease', { skip }, async () => {
      const [a, b] = await engine.replicas({ log: { retentionMs: 7 * DAY } });
      try {
        for (const [h, holder] of [[a, 'a'], [b, 'b']] as const) {
          await migrate(h.metadata, { ...coreMigrations, ...monitoringMigrations, ...clusterMigrations });
          h.service.log.leader = new Leadership(new Leases(h.metadata.db, h.clock), 'monitoring.retention', holder, 30_000);
        }
        const log = a.service.log;
        await log.setRetention('short', DAY);
        await b.service.log.setRetention('forever', 0);
        log.record(record('loans-old', T0, { x: [1] }, { y: [1] }));
        log.record(record('loans-new', T0 + 6 * DAY, { x: [1] }, { y: [1] }));
        log.record(record('short-5d', T0 + 5 * DAY, { x: [1] }, { y: [1] }, 'short'));
        log.record(record('short-7.5d', T0 + 7.5 * DAY, { x: [1] }, { y: [1] }, 'short'));
        log.record(record('forever-old', T0, { x: [1] }, { y: [1] }, 'forever'));
        await a.service.submitFeedback([{ request_id: 'short-5d', label: 1 }, { request_id: 'forever-old', label: 1 }]);
        assert.deepEqual(await b.service.log.retentions(), { default: 7 * DAY, deployments: { short: DAY, forever: 0 } });
        // Not due yet (the sweep runs hourly by the clock): nothing happens.
        assert.equal(await a.service.log.sweep(), undefined);
        a.clock.advance(8 * DAY);
        b.clock.advance(8 * DAY);
        assert.equal(await a.service.log.sweep(), 2, 'loans-old (7 d) and short-5d (1 d) go');
        assert.equal(await b.service.log.sweep(), undefined, 'the other replica does not hold the lease');
        assert.deepEqual((await b.service.log.list({ limit: 10 })).map((r) => r.requestId).sort(), ['forever-old', 'loans-new', 'short-7.5d']);
        const fb = await a.metadata.db.selectFrom('mon_feedback' as never).select('request_id' as never).execute();
        assert.deepEqual(fb.map((r: any) => r.request_id), ['forever-old']);
        await assert.rejects(log.setRetention('short', -1), { code: 'InvalidArgument', message: /retention/ });
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('a data subject\'s predictions and feedback are found and erased by their key or the hash of a PII input, from store and memory', { skip }, async () => {
      const h = await engine.open({ log: { batchRows: 2 } });
      try {
        const log = h.service.log;
        const keyed = (id: string, key: string | undefined, inputs: Record<string, string[] | number[]>, deployment = 'loans') => ({ ...record(id, T0, inputs, { y: [1] }, deployment), ...(key ? { key } : {}) });
        log.record(keyed('a1', 'alice', { x: [1] }));
        log.record(keyed('b1', 'bob', { x: [2] }));
        log.record(keyed('a2', undefined, { email: ['h(alice)'] }, 'other'));
        log.record(keyed('b2', 'bob', { email: ['h(bob)'] }, 'other'));
        log.record(keyed('a3', 'alice', { x: [3] }));
        await h.service.submitFeedback([{ request_id: 'a1', label: 1 }, { request_id: 'b1', label: 0 }]);
        const alice = { key: 'alice', hashed: ['h(alice)'] };
        assert.deepEqual((await log.subjectRows(alice)).map((r) => r.requestId).sort(), ['a1', 'a2', 'a3']);
        assert.deepEqual(await log.eraseSubject(alice), { requests: 3, rows: 3, feedback: 1 });
        assert.deepEqual(await log.subjectRows(alice), []);
        assert.deepEqual((await log.list()).map((r) => r.requestId).sort(), ['b1', 'b2']);
        assert.deepEqual(log.recent({ limit: 10 }).map((r) => r.requestId).sort(), ['b1', 'b2'], 'live views forget them too');
        await assert.rejects(log.get('a2'), { code: 'NotFound' });
        const fb = await h.service.submitFeedback([{ request_id: 'b1', label: 1 }]);
        assert.equal(fb.replaced, 1, "bob's feedback stays");
      } finally {
        await h.close();
      }
    });

    test('with a master key, segments are sealed at rest: unreadable without it, readable with it', { skip }, async () => {
      const key = randomBytes(32).toString('base64');
      const h = await engine.open({ log: { masterKeys: { key } } });
      try {
        const log = h.service.log;
        log.record(record('s1', T0, { city: ['paris'] }, { y: [1] }));
        await log.flush();
        const [row] = await h.metadata.db.selectFrom('mon_log_segment' as never).select('payload' as never).execute();
        const payload = Buffer.from((row as { payload: Uint8Array }).payload);
        assert.equal(payload.subarray(0, 4).toString(), 'MPS1');
        assert.equal(payload.includes('paris'), false);
        assert.deepEqual((await log.get('s1'))[0].inputs, { city: 'paris' });
        const keyless = new PredictionLog(h.metadata.db as never, h.clock, { writer: 'inline' }, h.metadata.dialect);
        await assert.rejects(keyless.get('s1'), { code: 'FailedPrecondition', message: /encrypted at rest; configure the master key/ });
        const wrongKey = new PredictionLog(h.metadata.db as never, h.clock, { writer: 'inline', masterKeys: { key: randomBytes(32).toString('base64') } }, h.metadata.dialect);
        await assert.rejects(wrongKey.get('s1'), { code: 'FailedPrecondition', message: /master key k[0-9a-f]+ is not configured/ });
      } finally {
        await h.close();
      }
    });

    test('live views read the newest requests from the open batch and the newest sealed ones, newest first', { skip }, async () => {
      const h = await engine.open({ log: { batchRows: 100, ringSize: 150 } });
      try {
        const log = h.service.log;
        // 340 requests of one deployment: three sealed batches of 100 and 40 still being packed.
        for (let i = 0; i < 340; i++) log.record(record(`a${i}`, T0 + i * 10, { x: [i] }, { y: [i] }));
        for (let i = 0; i < 5; i++) log.record(record(`b${i}`, T0 + 3395 + i, { x: [i] }, { y: [i] }, 'other'));
        const live = log.recent({ deployment: 'loans', limit: 150 });
        assert.deepEqual(live.map((p) => p.requestId), Array.from({ length: 150 }, (_, k) => `a${339 - k}`), 'across the open batch and two sealed ones');
        assert.deepEqual(live[0].inputs, { x: 339 });
        // Across deployments, by time: the other deployment's b0..b4 (T0+3395..3399) are newer than a339 (T0+3390).
        assert.deepEqual(log.recent({ limit: 7 }).map((p) => p.requestId), ['b4', 'b3', 'b2', 'b1', 'b0', 'a339', 'a338']);
        // Sealed batches older than ringSize requests are let go: at least 150 stay readable.
        assert.equal(log.recent({ deployment: 'loans', limit: 10_000 }).length, 240);
        await log.flush();
        assert.deepEqual(log.recent({ deployment: 'loans', limit: 2 }).map((p) => p.requestId), ['a339', 'a338'], 'still there once written');
      } finally {
        await h.close();
      }
    });

    test('close writes what is queued and ignores later records', { skip }, async () => {
      const h = await engine.open();
      const log = h.service.log;
      log.record(record('last', T0, { x: [1] }, { y: [1] }));
      await h.service.close();
      assert.equal(log.stats().written, 1);
      log.record(record('after', T0, { x: [1] }, { y: [1] }));
      assert.equal(log.stats().queued, 0);
      await h.close();
    });
  });
}
