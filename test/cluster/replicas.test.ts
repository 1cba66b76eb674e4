/**
 * Two server replicas in this process over one PostgreSQL schema and one Redis prefix, with the
 * store reconcile pushed out to ten minutes: whatever reaches the other replica got there
 * through the bus.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { loadFeatureFile } from '../../src/features/index.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { testConfig } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, freshRedisPrefix, postgresSkip, redisSkip, REDIS_URL, tempDir } from '../helpers/services.js';

const pgOnlySkip = await postgresSkip();
import { FOREST, LOGREG, breastCancerRows, post, register } from '../serving/helpers.js';

const skip = (await postgresSkip()) || (await redisSkip());

/** Polls `probe` until it returns a value (bounded, so a broken propagation fails instead of hanging). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 30_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('replicas as one system', { skip }, () => {
  const { uri, schema } = freshPostgresUri();
  const prefix = freshRedisPrefix();
  const artifacts = tempDir('shared-artifacts');
  let a: RunningServer;
  let b: RunningServer;
  let row: number[];

  before(async () => {
    const config = () => ({ ...testConfig({ store: uri, online: `${REDIS_URL}/?prefix=${encodeURIComponent(prefix)}`, artifacts: `file:${artifacts}` }), reconcileMs: 600_000 });
    a = await startServer(config(), { logger: false });
    b = await startServer(config(), { logger: false });
    const registry = a.platform.services.registry;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await registry.setAlias('m', 'prod', 1);
    row = (await breastCancerRows())[0];
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropSchema(schema);
  });

  const infer = (server: RunningServer, headers: Record<string, string> = {}) =>
    post(`${server.url}/v2/models/d/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: row }] }, headers);

  test('a deployment made on A serves from B; an alias moved on B moves what A serves; each replica reports its state', async () => {
    assert.equal(a.platform.cluster.bus.kind, 'redis');
    const created = await post(`${a.url}/api/v1/deployments`, { name: 'd', model: 'm', alias: 'prod' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const fromB = await until('deployment on B', async () => {
      const res = await infer(b);
      return res.status === 200 ? res.body : undefined;
    });
    assert.equal(fromB.model_version, '1');

    await b.platform.services.registry.setAlias('m', 'prod', 2);
    await until('alias move on A', async () => ((await infer(a)).body.model_version === '2' ? true : undefined));

    const replicas = await until('both replicas ready in the heartbeats', async () => {
      const d = (await (await fetch(`${a.url}/api/v1/deployments/d`)).json()) as { replicas: { replica: string; state: string; variants: { serving_version?: number }[] }[] };
      const ready = d.replicas.filter((r) => r.state === 'ready' && r.variants[0]?.serving_version === 2);
      return ready.length === 2 ? d.replicas : undefined;
    });
    assert.deepEqual(new Set(replicas.map((r) => r.replica)), new Set([a.platform.cluster.replicaId, b.platform.cluster.replicaId]));
    const onA = (await a.platform.services.serving.get('d')).status.variants[0];
    assert.equal(onA.servingVersion, 2);
    assert.ok(onA.servingSinceMs! > 0 && onA.loadMs! >= 0, JSON.stringify(onA));
  });

  test('a shared rate limit holds across both replicas together', async () => {
    const res = await fetch(`${b.url}/api/v1/deployments/d`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rate_limit: { enabled: true, requests_per_second: 0.001, burst: 6, key: 'address', shared: true } }),
    });
    assert.equal(res.status, 200);
    const revision = ((await res.json()) as { revision: number }).revision;
    await until('the limit applied on A', async () => ((await infer(a)).status === 429 || (await a.platform.services.serving.get('d')).revision === revision ? true : undefined));
    // Drain whatever the probe above took, then count from a fresh key.
    await a.platform.cluster.shared!.redis.del(...(await a.platform.cluster.shared!.redis.keys(`${prefix}srv:rate:d:*`)));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await infer(i % 2 === 0 ? a : b)).status);
    assert.equal(statuses.filter((s) => s === 200).length, 6, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    const off = await fetch(`${a.url}/api/v1/deployments/d`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rate_limit: { enabled: false } }) });
    assert.equal(off.status, 200);
  });

  test('a shared response cache: an answer computed on A is a hit on B', async () => {
    const res = await fetch(`${a.url}/api/v1/deployments/d`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cache: { enabled: true, shared: true, max_entries: 100 } }),
    });
    assert.equal(res.status, 200);
    const revision = ((await res.json()) as { revision: number }).revision;
    await until('the cache applied on B', async () => ((await b.platform.services.serving.get('d')).revision === revision && b.platform.services.serving.targetNow('d') ? true : undefined));
    await until('B holds the new revision', async () => {
      const d = (await (await fetch(`${b.url}/api/v1/deployments/d`)).json()) as { replicas: { replica: string; revision?: number }[] };
      return d.replicas.find((r) => r.replica === b.platform.cluster.replicaId)?.revision === revision ? true : undefined;
    });
    const first = await infer(a);
    assert.equal(first.status, 200);
    // The store is asynchronous to the answer: wait for the entry, then ask B.
    await until('the entry stored', async () => ((await a.platform.cluster.shared!.redis.zcard(`${prefix}srv:cache:d:order`)) === 1 ? true : undefined));
    const second = await infer(b);
    assert.deepEqual(second.body.outputs, first.body.outputs);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /modelport_cache_hits_total\{deployment="d"\} 1\b/);
  });

  test('rollout windows are summed over replicas that began them at the same reset', async () => {
    const serving = a.platform.services.serving;
    serving.resetWindows('d');
    const epoch = serving.windows.epoch('d');
    await until('B heard the reset', async () => (b.platform.services.serving.windows.epoch('d') === epoch ? true : undefined));
    for (let i = 0; i < 3; i++) assert.equal((await infer(b, { 'x-user-id': `u${i}` })).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await infer(a, { 'x-user-id': `v${i}` })).status, 200);
    await b.platform.cluster.beat();
    const windows = await serving.clusterWindows('d');
    assert.deepEqual(windows.map((w) => [w.variant, w.requests, w.errors]), [['primary', 5, 0]]);
  });

  test("Triton's load of a deployed model through A re-resolves it on B too", async () => {
    const served = async (server: RunningServer) => (await server.platform.services.serving.get('d')).status.variants[0].servingVersion;
    assert.deepEqual([await served(a), await served(b)], [2, 2]);
    // The alias moves behind the replicas' backs (another tool writing the store): neither hears of it.
    const db = a.platform.metadata.db;
    const model = await db.selectFrom('reg_model').select('id').where('name', '=', 'm').executeTakeFirstOrThrow();
    await db.updateTable('reg_alias').set({ version: 1 }).where('model_id', '=', model.id).where('alias', '=', 'prod').execute();
    const res = await fetch(`${a.url}/v2/repository/models/d/load`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(await served(a), 1, 'the replica that got the call reloaded before answering');
    await until('B reloaded', async () => ((await served(b)) === 1 ? true : undefined));
  });

  test("a feature definition applied on A is what B's online reads resolve, without waiting for B's refresh", async () => {
    const dir = tempDir('features');
    cpSync(fileURLToPath(new URL('../fixtures/features/', import.meta.url)), dir, { recursive: true });
    const spec = await loadFeatureFile(join(dir, 'features.yaml'));
    const first = { ...spec, feature_views: spec.feature_views!.filter((v) => v.name === 'cust'), feature_services: [] };
    await a.platform.services.features.apply(first);
    const read = () => b.platform.services.features.getOnlineFeatures({ features: ['pair:score'], entities: { customer_id: [1], merchant_id: [1] } });
    await assert.rejects(read(), /pair/, 'B has read the first definition, which has no view "pair"');
    await a.platform.services.features.apply(spec);
    const answer = await until('B resolving pair:score', async () => read().catch(() => undefined));
    assert.deepEqual(answer.results.at(-1)!.statuses, ['NOT_FOUND'], 'resolved against the second definition (nothing materialized yet)');
  });

  test('a version registered on A is fetched by B ahead of any alias move', async () => {
    const registry = a.platform.services.registry;
    // No deployment serves the forest, so only the prefetch can put it in B's cache; it may be
    // there before getVersion returns on A, so its absence is not checked first.
    const sha = (await registry.getVersion('m', await register(registry, 'm', FOREST, ['model.onnx']))).sha256!;
    await until("the artifact in B's registry cache", async () => (b.platform.services.registry.cachedCopy(sha) ? true : undefined));
  });
});

describe('replicas on PostgreSQL without Redis', { skip: pgOnlySkip }, () => {
  const { uri, schema } = freshPostgresUri();
  const artifacts = tempDir('shared-artifacts');
  let a: RunningServer;
  let b: RunningServer;
  before(async () => {
    const config = () => ({ ...testConfig({ store: uri, artifacts: `file:${artifacts}` }), reconcileMs: 600_000 });
    a = await startServer(config(), { logger: false });
    b = await startServer(config(), { logger: false });
    await register(a.platform.services.registry, 'm', LOGREG, ['model.onnx']);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropSchema(schema);
  });

  test('a deployment made on A serves from B through LISTEN/NOTIFY', async () => {
    assert.equal(b.platform.cluster.bus.kind, 'postgres');
    assert.equal(b.platform.cluster.shared, undefined);
    const row = (await breastCancerRows())[0];
    assert.equal((await post(`${a.url}/api/v1/deployments`, { name: 'd', model: 'm', version: 1 })).status, 201);
    const body = await until('deployment on B', async () => {
      const res = await post(`${b.url}/v2/models/d/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: row }] });
      return res.status === 200 ? res.body : undefined;
    });
    assert.equal(body.model_version, '1');
  });
});

describe('replicas on SQLite', () => {
  const data = tempDir('sqlite-replicas');
  let a: RunningServer;
  let b: RunningServer;
  before(async () => {
    a = await startServer(testConfig({ data }), { logger: false });
    b = await startServer(testConfig({ data }), { logger: false });
    await register(a.platform.services.registry, 'm', LOGREG, ['model.onnx']);
  });
  after(() => Promise.all([a?.close(), b?.close()]));

  test("two servers over one SQLite file see each other's heartbeats; a heartbeat leaves commits fully synchronous", async () => {
    assert.equal((await post(`${a.url}/api/v1/deployments`, { name: 'd', model: 'm', version: 1 })).status, 201);
    const replicas = await until('both servers ready in the heartbeats', async () => {
      const d = (await (await fetch(`${b.url}/api/v1/deployments/d`)).json()) as { replicas: { replica: string; state: string }[] };
      return d.replicas.filter((r) => r.state === 'ready').length === 2 ? d.replicas : undefined;
    });
    assert.deepEqual(new Set(replicas.map((r) => r.replica)), new Set([a.platform.cluster.replicaId, b.platform.cluster.replicaId]));
    await a.platform.cluster.beat();
    // 2 is FULL: the heartbeat's lowered synchronous ends with it.
    const [{ synchronous }] = (await sql<{ synchronous: number }>`pragma synchronous`.execute(a.platform.metadata.db)).rows;
    assert.equal(synchronous, 2);
  });
});
