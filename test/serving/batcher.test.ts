import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import { Batch } from '../../src/models/index.js';
import { DynamicBatcher } from '../../src/serving/index.js';
import type { BatchingConfig } from '../../src/serving/index.js';

const rowsOf = (...xs: number[]) => Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.from(xs) } });

/** A model y = 2x that records the size of every call and can be held. */
function doubler() {
  const calls: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  return {
    calls,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release: () => open(),
    run: async (b: Batch) => {
      calls.push(b.rows);
      await gate;
      const x = b.column('x').data as Float64Array;
      return Batch.from({ y: { dtype: 'float64', shape: [], data: x.map((v) => 2 * v) } });
    },
  };
}

const config = (c: Partial<BatchingConfig>): BatchingConfig => ({ maxBatchSize: 8, maxQueueDelayUs: 0, maxQueueSize: 100, timeoutMs: 0, ...c });

describe('dynamic batcher', () => {
  test('requests queued while the model is busy are merged and split back in order', async () => {
    const m = doubler();
    const sizes: number[] = [];
    const b = new DynamicBatcher(m.run, config({}), systemClock, { onBatch: (n) => sizes.push(n) });
    m.hold();
    const first = [b.submit(rowsOf(0)), b.submit(rowsOf(100))];
    const queued = Array.from({ length: 10 }, (_, i) => b.submit(rowsOf(i + 1, -(i + 1))));
    m.release();
    const out = await Promise.all([...first, ...queued]);
    assert.deepEqual([...out[0].column('y').data], [0]);
    out.slice(2).forEach((o, i) => assert.deepEqual([...o.column('y').data], [2 * (i + 1), -2 * (i + 1)]));
    // The 22 rows submitted in one turn of the event loop go in calls of at most 8 rows, two
    // calls at once (the first two requests do not each take a call of their own), then the rest.
    assert.deepEqual(m.calls, [8, 8, 6]);
    assert.deepEqual(sizes, m.calls);
    await b.idle();
  });

  test('a queue delay lets a partial batch fill', async () => {
    const m = doubler();
    const b = new DynamicBatcher(m.run, config({ maxQueueDelayUs: 20_000 }), systemClock);
    const out = await Promise.all([1, 2, 3].map((x) => b.submit(rowsOf(x))));
    assert.deepEqual(m.calls, [3]);
    assert.deepEqual(out.map((o) => o.column('y').data[0]), [2, 4, 6]);
  });

  test('requests of different shapes are never merged', async () => {
    const m = doubler();
    const b = new DynamicBatcher(
      async (batch) => {
        m.calls.push(batch.rows);
        return batch;
      },
      config({ maxQueueDelayUs: 20_000 }),
      systemClock,
    );
    const vec = Batch.from({ x: { dtype: 'float64', shape: [2], data: Float64Array.of(1, 2) } });
    const out = await Promise.all([b.submit(rowsOf(1)), b.submit(vec), b.submit(rowsOf(2))]);
    assert.deepEqual(m.calls.sort(), [1, 2]);
    assert.deepEqual([...out[1].column('x').data], [1, 2]);
  });

  test('a full queue refuses with ResourceExhausted and a retry time', async () => {
    const m = doubler();
    m.hold();
    const b = new DynamicBatcher(m.run, config({ maxQueueSize: 3 }), systemClock);
    const accepted = [b.submit(rowsOf(1)), b.submit(rowsOf(2)), b.submit(rowsOf(3))];
    await assert.rejects(b.submit(rowsOf(4)), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'ResourceExhausted');
      assert.equal(err.details?.retryAfterSeconds, 1);
      return /queue is full \(3 requests\)/.test(err.message);
    });
    m.release();
    assert.equal((await Promise.all(accepted)).length, 3);
  });

  test('done runs once per request, before its caller hears, however it settles: answered, refused, failed, timed out', async () => {
    const clock = new ManualClock(0);
    const m = doubler();
    m.hold();
    const b = new DynamicBatcher(m.run, config({ maxBatchSize: 1, maxQueueSize: 2, timeoutMs: 1000 }), clock);
    const done: string[] = [];
    const heard: string[] = [];
    const track = (name: string, p: Promise<Batch>) =>
      p.then(
        () => heard.push(`${name}: answered, done ${done.filter((d) => d === name).length}`),
        () => heard.push(`${name}: failed, done ${done.filter((d) => d === name).length}`),
      );
    const slow = track('slow', b.submit(rowsOf(1), () => done.push('slow')));
    clock.advance(500);
    const answered = track('answered', b.submit(rowsOf(2), () => done.push('answered')));
    const refused = track('refused', b.submit(rowsOf(3), () => done.push('refused')));
    await refused;
    clock.advance(600);
    await slow;
    m.release();
    await answered;
    const failing = new DynamicBatcher(async () => Promise.reject(new Error('boom')), config({}), systemClock);
    await track('failed', failing.submit(rowsOf(4), () => done.push('failed')));
    assert.deepEqual(heard, ['refused: failed, done 1', 'slow: failed, done 1', 'answered: answered, done 1', 'failed: failed, done 1']);
    assert.deepEqual(done, ['refused', 'slow', 'answered', 'failed']);
  });

  test('requests past their deadline fail with Unavailable, the others are answered', async () => {
    const clock = new ManualClock(0);
    const m = doubler();
    m.hold();
    const b = new DynamicBatcher(m.run, config({ maxBatchSize: 1, timeoutMs: 1000 }), clock);
    const slow = b.submit(rowsOf(1));
    clock.advance(1500);
    await assert.rejects(slow, (err: Error & { code?: string }) => err.code === 'Unavailable' && /no answer within 1000 ms/.test(err.message));
    m.release();
    const fresh = await b.submit(rowsOf(5));
    assert.equal(fresh.column('y').data[0], 10);
  });

  test('a failing model call fails every request of its batch', async () => {
    const b = new DynamicBatcher(async () => {
      throw new Error('boom');
    }, config({}), systemClock);
    const results = await Promise.allSettled([b.submit(rowsOf(1)), b.submit(rowsOf(2))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});
