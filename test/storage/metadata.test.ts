/** One contract, run against SQLite and against PostgreSQL. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sql } from 'kysely';
import Database from 'better-sqlite3';
import { openMetadataStore, migrate, isUniqueViolation, withDefaultUser, type MetadataStore, type Migrations } from '../../src/storage/metadata.js';
import { userInfo } from 'node:os';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { parseStoreUri } from '../../src/config.js';
import { tempDir, postgresSkip, freshPostgresUri, dropSchema } from '../helpers/services.js';

const widgets: Migrations = {
  '0900_test_widgets': {
    async up(db) {
      await db.schema
        .createTable('widget')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

function contract(name: string, open: () => Promise<{ store: MetadataStore; cleanup(): Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`metadata store contract: ${name}`, async () => {
    const reason = await skip();
    let store: MetadataStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      if (reason) return;
      ({ store, cleanup } = await open());
    });
    after(async () => {
      if (reason) return;
      await store.close();
      await cleanup();
    });

    test('runs the migration history once and records its version', { skip: reason }, async () => {
      assert.equal(await migrate(store, coreMigrations), '0000_core_settings');
      assert.equal(await migrate(store, coreMigrations), '0000_core_settings', 'a second run applies nothing and reports the same version');
      assert.equal(await migrate(store, { ...coreMigrations, ...widgets }), '0900_test_widgets');
      const rows = await store.db.selectFrom('mp_migration').select('name').orderBy('name').execute();
      assert.deepEqual(rows.map((r) => r.name), ['0000_core_settings', '0900_test_widgets']);
    });

    test('a failed transaction leaves nothing behind', { skip: reason }, async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('widget').values({ id: 1, name: 'a', created_ms: 1 }).execute();
          throw new Error('abort');
        }),
        /abort/,
      );
      const count = await store.db.selectFrom('widget').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 0);
    });

    test('unique violations are recognised on this engine', { skip: reason }, async () => {
      await store.db.insertInto('widget').values({ id: 1, name: 'dup', created_ms: 1 }).execute();
      const err = await store.db
        .insertInto('widget')
        .values({ id: 2, name: 'dup', created_ms: 2 })
        .execute()
        .then(() => undefined, (e: unknown) => e);
      assert.ok(err, 'the duplicate insert must fail');
      assert.equal(isUniqueViolation(err), true);
      assert.equal(isUniqueViolation(new Error('other')), false);
    });

    test('concurrent writers all land and big integers come back as numbers', { skip: reason }, async () => {
      const ms = 1_795_000_000_123;
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.db.insertInto('widget').values({ id: 100 + i, name: `w${i}`, created_ms: ms + i }).execute(),
        ),
      );
      const rows = await store.db.selectFrom('widget').selectAll().where('id', '>=', 100).orderBy('id').execute();
      assert.equal(rows.length, 50);
      assert.equal(rows[49].created_ms, ms + 49);
      assert.equal(typeof rows[0].created_ms, 'number');
    });

    test('ping answers', { skip: reason }, async () => {
      await store.ping();
      const r = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      assert.equal(Number(r.rows[0].one), 1);
    });
  });
}

contract(
  'sqlite',
  async () => ({ store: await openMetadataStore(parseStoreUri(`sqlite:${join(tempDir(), 'm.db')}`)), cleanup: async () => {} }),
  async () => false,
);

contract(
  'postgres',
  async () => {
    const { uri, schema } = freshPostgresUri();
    return { store: await openMetadataStore(parseStoreUri(uri)), cleanup: () => dropSchema(schema) };
  },
  postgresSkip,
);

test('a PostgreSQL URL without a user connects as the OS user, as libpq does; a named user or PGUSER stays', () => {
  const saved = process.env.PGUSER;
  delete process.env.PGUSER;
  try {
    assert.equal(withDefaultUser('postgres://127.0.0.1:5432/test'), `postgres://${userInfo().username}@127.0.0.1:5432/test`);
    assert.equal(withDefaultUser('postgres://ann@127.0.0.1:5432/test'), 'postgres://ann@127.0.0.1:5432/test');
    process.env.PGUSER = 'bob';
    assert.equal(withDefaultUser('postgres://127.0.0.1:5432/test'), 'postgres://127.0.0.1:5432/test');
  } finally {
    if (saved === undefined) delete process.env.PGUSER;
    else process.env.PGUSER = saved;
  }
});

test('an unreachable PostgreSQL is a one-line Unavailable error', async () => {
  await assert.rejects(openMetadataStore(parseStoreUri('postgres://postgres@127.0.0.1:1/test')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'Unavailable');
    assert.match(err.message, /cannot reach PostgreSQL at 127\.0\.0\.1:1\/test: connection refused/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('installations in separate PostgreSQL schemas of one database migrate independently', async (t) => {
  const reason = await postgresSkip();
  if (reason) return t.skip(reason);
  const first = freshPostgresUri();
  const second = freshPostgresUri();
  const a = await openMetadataStore(parseStoreUri(first.uri));
  const b = await openMetadataStore(parseStoreUri(second.uri));
  try {
    assert.equal(await migrate(a, coreMigrations), '0000_core_settings');
    // The first schema now holds migration tables; the second must still find and create its own.
    assert.equal(await migrate(b, { ...coreMigrations, ...widgets }), '0900_test_widgets');
    const names = await b.db.selectFrom('mp_migration').select('name').execute();
    assert.equal(names.length, 2);
    assert.equal((await a.db.selectFrom('mp_migration').select('name').execute()).length, 1);
  } finally {
    await a.close();
    await b.close();
    await dropSchema(first.schema);
    await dropSchema(second.schema);
  }
});

test('replicas that start together on a new PostgreSQL schema all open it and migrate it once', async (t) => {
  const reason = await postgresSkip();
  if (reason) return t.skip(reason);
  // Concurrent `create schema if not exists` of one name can fail on the catalog's unique index;
  // a replica that lost that race exited at start-up.
  for (let round = 0; round < 5; round++) {
    const fresh = freshPostgresUri();
    const stores = await Promise.all(Array.from({ length: 6 }, () => openMetadataStore(parseStoreUri(fresh.uri))));
    try {
      const heads = await Promise.all(stores.map((s) => migrate(s, coreMigrations)));
      assert.deepEqual(heads, Array(6).fill('0000_core_settings'));
      assert.equal((await stores[0].db.selectFrom('mp_migration').select('name').execute()).length, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(fresh.schema);
    }
  }
});

test('SQLite: a transaction that reads, then writes, is not failed by another connection committing meanwhile', async () => {
  const path = join(tempDir('mpmeta'), 'm.db');
  const store = await openMetadataStore(parseStoreUri(`sqlite:${path}`, process.cwd()));
  // A second connection to the same file, as the prediction log's writer thread holds.
  const other = new Database(path);
  try {
    await sql`create table counter (id integer primary key, n integer not null)`.execute(store.db);
    await sql`insert into counter values (1, 0)`.execute(store.db);
    let otherError: string | undefined;
    await store.db.transaction().execute(async (trx) => {
      const { n } = await trx.selectFrom('counter').select('n').where('id', '=', 1).executeTakeFirstOrThrow();
      // The other connection tries to write in between. A deferred transaction would let it and
      // then fail its own write with SQLITE_BUSY; the store's transactions hold the write lock
      // from their start, so the other writer waits (here: gives up at once, busy_timeout 0).
      try {
        other.prepare('update counter set n = n + 100 where id = 1').run();
      } catch (err) {
        otherError = (err as { code?: string }).code;
      }
      await trx.updateTable('counter').set({ n: n + 1 }).where('id', '=', 1).execute();
    });
    assert.equal(otherError, 'SQLITE_BUSY');
    assert.equal((await store.db.selectFrom('counter').select('n').executeTakeFirstOrThrow()).n, 1);
  } finally {
    other.close();
    await store.close();
  }
});
