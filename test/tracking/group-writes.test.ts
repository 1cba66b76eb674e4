/**
 * Log requests that arrive together commit together, and their points are written together: a
 * group of 60 one-point log-metric calls over two runs reads each run once and writes two
 * statements for all the points, not three statements per call. A call to a deleted run in the
 * same group is refused alone; every acknowledged point is in the history and the latest value
 * is the newest point. On SQLite and PostgreSQL.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { InsertQueryNode, SelectQueryNode, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { TrackingService } from '../../src/tracking/service.js';
import { isModelportError } from '../../src/core/errors.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';

/** Counts the statements that reach the store, by kind and table. */
class StatementCounter implements KyselyPlugin {
  readonly counts = new Map<string, number>();

  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    const table = (n: unknown) => (n as { table?: { identifier?: { name?: string } } } | undefined)?.table?.identifier?.name;
    const name = InsertQueryNode.is(node) ? `insert ${table(node.into)}` : SelectQueryNode.is(node) ? `select ${node.from?.froms.map(table).join(',')}` : node.kind;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    return node;
  }

  async transformResult<T>({ result }: { result: T }): Promise<T> {
    return result;
  }
}

async function groupOfCalls(platform: Platform): Promise<void> {
  const counter = new StatementCounter();
  const tracking = await TrackingService.create({ metadata: { ...platform.metadata, db: platform.metadata.db.withPlugin(counter) }, blobs: platform.blobs, clock: platform.clock });
  const experiment_id = await tracking.createExperiment({ name: 'grouped' });
  const [a, b, gone] = await Promise.all([0, 1, 2].map(() => tracking.createRun({ experiment_id })));
  await tracking.deleteRun(gone.info.run_id);
  counter.counts.clear();

  const CALLS = 60;
  const calls = Array.from({ length: CALLS }, (_, i) => tracking.logMetric((i % 2 ? b : a).info.run_id, { key: i % 3 ? 'loss' : 'acc', value: i / 10, timestamp: 1000 + i, step: i }));
  const refused = tracking.logMetric(gone.info.run_id, { key: 'loss', value: 1, timestamp: 1, step: 0 });
  await Promise.all(calls);
  await assert.rejects(refused, (err) => isModelportError(err) && err.code === 'InvalidArgument' && /must be in the 'active' state/.test(err.message));

  assert.equal(counter.counts.get('insert tracking_metric_block'), 1, JSON.stringify([...counter.counts]));
  assert.equal(counter.counts.get('insert tracking_latest_metric'), 1);
  assert.equal(counter.counts.get('select tracking_run'), 3, 'each run is read once');

  for (const [run, parity] of [[a, 0], [b, 1]] as const) {
    const mine = Array.from({ length: CALLS }, (_, i) => i).filter((i) => i % 2 === parity);
    for (const key of ['loss', 'acc']) {
      const steps = mine.filter((i) => (key === 'loss') === (i % 3 !== 0));
      const history = await platform.services.tracking.getMetricHistoryColumns(run.info.run_id, key);
      assert.deepEqual([...history.step.subarray(0, history.length)], steps, `${key} of run ${parity}`);
      const latest = (await platform.services.tracking.getRun(run.info.run_id)).data.metrics.find((m) => m.key === key);
      assert.deepEqual(latest, { key, value: steps.at(-1)! / 10, timestamp: 1000 + steps.at(-1)!, step: steps.at(-1) });
    }
  }
  assert.deepEqual((await platform.services.tracking.getRun(gone.info.run_id)).data.metrics, []);
}

test('one-point log calls arriving together are written in one group: SQLite', async () => {
  const platform = await testPlatform();
  try {
    await groupOfCalls(platform);
  } finally {
    await platform.close();
  }
});

test('one-point log calls arriving together are written in one group: PostgreSQL', async (t: TestContext) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const platform = await testPlatform({ store: uri });
  try {
    await groupOfCalls(platform);
  } finally {
    await platform.close();
    await dropSchema(schema);
  }
});
