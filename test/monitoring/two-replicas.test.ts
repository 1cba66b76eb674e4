/**
 * Monitor checks are a singleton across replicas: two platforms on one PostgreSQL store ticking
 * together run the due checks once a round, on the replica holding the lease, and the other
 * takes over once the leader has gone.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, type Platform } from '../../src/platform.js';
import { testConfig } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';

/** Counts the rounds of due checks `platform` runs. */
function countChecks(platform: Platform): { rounds: number } {
  const count = { rounds: 0 };
  const monitors = platform.services.monitoring.monitors;
  const runDue = monitors.runDue.bind(monitors);
  monitors.runDue = async (...args: Parameters<typeof runDue>) => {
    count.rounds++;
    return runDue(...args);
  };
  return count;
}

test('two replicas ticking together run each round of monitor checks once, and the survivor takes over', async (t: TestContext) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const a = await createPlatform(testConfig({ store: uri }));
  const b = await createPlatform(testConfig({ store: uri }));
  const open = new Set([a, b]);
  try {
    const counts = [countChecks(a), countChecks(b)];
    for (let round = 0; round < 20; round++) await Promise.all([a.services.monitoring.tick(), b.services.monitoring.tick()]);
    // Each platform's own timer ticks once a second too, so a slow machine's leader may run a
    // round more than the 20 driven here: the other replica must run none.
    const [leaderCount, otherCount] = counts[0].rounds >= counts[1].rounds ? counts : [counts[1], counts[0]];
    assert.ok(leaderCount.rounds >= 20 && otherCount.rounds === 0, `one replica leads every round (${counts[0].rounds} and ${counts[1].rounds})`);
    const [leader, other] = leaderCount === counts[0] ? [a, b] : [b, a];
    open.delete(leader);
    await leader.close();
    await other.services.monitoring.tick();
    assert.ok(otherCount.rounds >= 1, 'a leader that shut down released its lease');
  } finally {
    for (const p of open) await p.close();
    await dropSchema(schema);
  }
});
