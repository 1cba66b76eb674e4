/** Deployments in the metadata store: the same behaviour on SQLite and PostgreSQL. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStoreUri } from '../../src/config.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { migrate, openMetadataStore, type MetadataStore } from '../../src/storage/metadata.js';
import { servingMigrations, DEFAULT_CONFIG, type DeploymentSpec } from '../../src/serving/index.js';
import { DeploymentStore } from '../../src/serving/store.js';
import { createPlatform } from '../../src/platform.js';
import { testConfig } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip, tempDir } from '../helpers/services.js';
import { FOREST, LOGREG, register } from './helpers.js';

const spec = (name: string, version: number): DeploymentSpec => ({
  name,
  variants: [{ name: 'primary', model: 'm', version, weight: 100 }],
  ...DEFAULT_CONFIG,
});

function contract(engine: 'sqlite' | 'postgres', open: () => Promise<{ store: MetadataStore; uri: string; cleanup(): Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`deployment store on ${engine}`, () => {
    test('create, update, report, delete; the generation moves on every change but reports', async (t) => {
      const reason = await skip();
      if (reason) return t.skip(reason);
      const { store: metadata, cleanup } = await open();
      try {
        await migrate(metadata, { ...coreMigrations, ...servingMigrations });
        const store = new DeploymentStore(metadata);
        assert.equal(await store.generation(), 0);
        const a = await store.create(spec('a', 1), 1000, { actor: 'ann', reason: 'first' });
        assert.deepEqual({ ...a, reported: undefined }, { ...spec('a', 1), createdMs: 1000, updatedMs: 1000, revision: 1, reported: undefined });
        await store.create(spec('b', 2), 1001, { actor: 'ann', reason: 'first' });
        assert.equal(await store.generation(), 2);
        await assert.rejects(store.create(spec('a', 3), 1002, { actor: 'ann', reason: 'again' }), (err: Error & { code?: string }) => err.code === 'AlreadyExists');
        const moved = (await store.update(spec('a', 3), 2000, { actor: 'bob', reason: 'to 3' }))!;
        assert.equal(moved.revision, 2);
        // A change conditional on a revision that has moved on is not made.
        assert.equal(await store.update(spec('a', 4), 2100, { actor: 'bot', reason: 'stale' }, 1), undefined);
        assert.deepEqual(
          (await store.revisions('a')).map((r) => [r.revision, r.actor, r.reason, r.createdMs, r.spec.variants[0].version]),
          [[2, 'bob', 'to 3', 2000, 3], [1, 'ann', 'first', 1000, 1]],
        );
        assert.equal((await store.revision('a', 1))?.spec.name, 'a');
        assert.equal(moved.updatedMs, 2000);
        assert.equal(moved.variants[0].version, 3);
        await store.report('a', { state: 'failed', message: 'boom', variants: [] }, 2500);
        assert.equal(await store.generation(), 3);
        assert.deepEqual((await store.get('a'))?.reported, { state: 'failed', message: 'boom', variants: [] });
        assert.deepEqual((await store.list()).map((d) => d.name), ['a', 'b']);
        await store.delete('b');
        assert.equal(await store.generation(), 4);
        await assert.rejects(store.delete('b'), (err: Error & { code?: string }) => err.code === 'NotFound');
        await assert.rejects(store.update(spec('b', 1), 3000, { actor: 'ann', reason: 'gone' }), (err: Error & { code?: string }) => err.code === 'NotFound');
        assert.equal(await store.get('b'), undefined);
      } finally {
        await metadata.close();
        await cleanup();
      }
    });

    test('a replica on the same store follows a deployment moved on another', async (t) => {
      const reason = await skip();
      if (reason) return t.skip(reason);
      const { store: probe, uri, cleanup } = await open();
      await probe.close();
      const data = tempDir('replicas');
      const a = await createPlatform(testConfig({ data, store: uri }));
      const b = await createPlatform(testConfig({ data, store: uri }));
      try {
        await register(a.services.registry, 'm', LOGREG, ['model.onnx']);
        await register(a.services.registry, 'm', FOREST, ['model.onnx']);
        await a.services.serving.create({ model: 'm', version: 1 });
        await b.services.serving.refresh();
        assert.equal((await b.services.serving.target('m')).version.version, 1);
        await a.services.serving.update('m', { version: 2 });
        await b.services.serving.refresh();
        assert.equal((await b.services.serving.target('m')).version.version, 2);
        assert.equal((await b.services.serving.get('m')).status.variants[0].servingVersion, 2);
      } finally {
        await a.close();
        await b.close();
        await cleanup();
      }
    });
  });
}

contract(
  'sqlite',
  async () => {
    const uri = `sqlite:${tempDir('srvstore')}/m.db`;
    return { store: await openMetadataStore(parseStoreUri(uri)), uri, cleanup: async () => undefined };
  },
  async () => false,
);

contract(
  'postgres',
  async () => {
    const { uri, schema } = freshPostgresUri();
    return { store: await openMetadataStore(parseStoreUri(uri)), uri, cleanup: () => dropSchema(schema) };
  },
  postgresSkip,
);
