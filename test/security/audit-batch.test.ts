/**
 * Audit entries queued while a write is under way are appended together: one insert and one head
 * update for all of them, not a transaction per mutating call (which capped a replica's write
 * rate). The chain stays whole, also when two replicas append to one PostgreSQL store at once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { InsertQueryNode, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { AuditLog, type AuditEvent } from '../../src/security/audit.js';
import type { SecurityTables } from '../../src/security/migrations.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';

class InsertCounter implements KyselyPlugin {
  inserts = 0;

  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    if (InsertQueryNode.is(node) && node.into?.table.identifier.name === 'sec_audit') this.inserts++;
    return node;
  }

  async transformResult<T>({ result }: { result: T }): Promise<T> {
    return result;
  }
}

const SECRET = 'audit-batch-test-secret';
const event = (replica: string, i: number): AuditEvent => ({ actor: 'local', action: 'POST /api/2.0/mlflow/runs/log-metric', target: '/x', outcome: 'ok', status: 200, client: '127.0.0.1', request_id: `${replica}-${i}` });

function auditLog(platform: Platform, counter?: InsertCounter): AuditLog {
  const db = platform.metadata.db.withPlugin(counter ?? new InsertCounter());
  return new AuditLog(db as never as import('kysely').Kysely<SecurityTables>, platform.clock, SECRET);
}

test('100 entries appended at once take two inserts (the first alone, the 99 queued behind it) and verify', async () => {
  const platform = await testPlatform();
  try {
    const counter = new InsertCounter();
    const log = auditLog(platform, counter);
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(event('a', i))));
    assert.equal(counter.inserts, 2);
    assert.deepEqual(await log.verify(), { ok: true, entries: 100 });
    assert.deepEqual((await log.list()).map((e) => e.request_id), Array.from({ length: 100 }, (_, i) => `a-${i}`), 'in the order they were appended');
  } finally {
    await platform.close();
  }
});

test('two replicas appending batches to one PostgreSQL store at once keep one whole chain', async (t: TestContext) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const platforms = [await testPlatform({ store: uri }), await testPlatform({ store: uri })];
  try {
    const [a, b] = platforms.map((p) => auditLog(p));
    await Promise.all(['a', 'b'].flatMap((replica, r) => Array.from({ length: 150 }, (_, i) => [a, b][r].append(event(replica, i)))));
    assert.deepEqual(await a.verify(), { ok: true, entries: 300 });
    const ids = (await b.list({ limit: 1000 })).map((e) => e.request_id);
    assert.deepEqual([...ids].sort(), ['a', 'b'].flatMap((r) => Array.from({ length: 150 }, (_, i) => `${r}-${i}`)).sort());
    for (const replica of ['a', 'b']) {
      const own = ids.filter((id) => id.startsWith(`${replica}-`));
      assert.deepEqual(own, Array.from({ length: 150 }, (_, i) => `${replica}-${i}`), `replica ${replica}'s entries in its order`);
    }
  } finally {
    for (const p of platforms) await p.close();
    await dropSchema(schema);
  }
});

test('on PostgreSQL an over-long refused path is cut to its column, and an entry the database refuses fails alone', async (t: TestContext) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const platform = await testPlatform({ store: uri });
  try {
    const log = auditLog(platform);
    const long = { ...event('long', 0), action: `POST /${'x'.repeat(300)}`, client: 'c'.repeat(100) };
    await log.append(long);
    const [stored] = await log.list();
    assert.equal(stored.action.length, 255);
    assert.ok(stored.action.endsWith('…'));
    assert.equal(stored.client.length, 64);
    // A status outside integer's range stands for any value the database refuses.
    const results = await Promise.allSettled([
      log.append(event('a', 1)),
      ...Array.from({ length: 5 }, (_, i) => log.append(i === 2 ? { ...event('bad', 0), status: 2 ** 40 } : event('b', i))),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(await log.verify(), { ok: true, entries: 6 });
  } finally {
    await platform.close();
    await dropSchema(schema);
  }
});
