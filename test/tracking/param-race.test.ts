/**
 * A param is immutable under any concurrency: two writers (separate platforms, as two server
 * processes would be) log one key with different values at the same moment; exactly one is
 * acknowledged, the other gets INVALID_PARAMETER_VALUE, and the stored value is the acknowledged one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, type Platform } from '../../src/platform.js';
import { testConfig, withTwoPostgresPlatforms } from '../helpers/platform.js';
import { postgresSkip, tempDir } from '../helpers/services.js';
import { isModelportError } from '../../src/core/errors.js';

const TRIALS = 30;

async function race(a: Platform, b: Platform): Promise<void> {
  const experiment_id = await a.services.tracking.createExperiment({ name: `race-${Date.now()}` });
  const runs = await Promise.all(Array.from({ length: TRIALS }, () => a.services.tracking.createRun({ experiment_id })));
  let refused = 0;
  await Promise.all(
    runs.map(async (run, i) => {
      const runId = run.info.run_id;
      // Each trial also logs an unrelated metric, so a refusal must not take the other writes with it.
      const outcomes = await Promise.allSettled(
        [a, b].map((p, w) => p.services.tracking.logBatch(runId, { params: [{ key: 'lr', value: `v${w}` }, { key: `k${i}`, value: 'same' }], metrics: [{ key: 'm', value: 1, timestamp: 1, step: w }] })),
      );
      const ok = outcomes.flatMap((o, w) => (o.status === 'fulfilled' ? [w] : []));
      assert.equal(ok.length, 1, `trial ${i}: ${outcomes.map((o) => o.status).join(', ')}`);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          assert.ok(isModelportError(o.reason) && o.reason.code === 'InvalidArgument', String(o.reason));
          assert.match(o.reason.message, /Changing param values is not allowed/);
          refused++;
        }
      }
      const stored = await b.services.tracking.getRun(runId);
      assert.deepEqual(stored.data.params.find((p) => p.key === 'lr')?.value, `v${ok[0]}`, `trial ${i}: the acknowledged value is the stored one`);
      const history = await a.services.tracking.getMetricHistoryColumns(runId, 'm');
      assert.deepEqual([...history.step.subarray(0, history.length)], ok, `trial ${i}: only the acknowledged batch's metric is stored`);
    }),
  );
  assert.equal(refused, TRIALS);
}

test('concurrent param writes on PostgreSQL: one value wins, the other is refused', async (t) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  await withTwoPostgresPlatforms(race);
});

test('concurrent param writes on SQLite: one value wins, the other is refused', async () => {
  const data = tempDir('race');
  const a = await createPlatform(testConfig({ data }));
  const b = await createPlatform(testConfig({ data }));
  try {
    await race(a, b);
  } finally {
    await a.close();
    await b.close();
  }
});
