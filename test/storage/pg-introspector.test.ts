import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Kysely, PostgresIntrospector, sql } from 'kysely';
import { openMetadataStore, migrate, type Migrations } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { parseStoreUri } from '../../src/config.js';
import { postgresSkip, freshPostgresUri, dropSchema, POSTGRES_URL } from '../helpers/services.js';

const gadgets: Migrations = {
  '0901_test_gadgets': {
    async up(db) {
      await db.schema
        .createTable('gadget')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('name', 'varchar(40)', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.defaultTo(3))
        .execute();
      await sql`create view gadget_names as select name from gadget`.execute(db);
    },
  },
};

test('the catalog reader lists what Kysely lists for the installation schema, without other schemas', async (t) => {
  const reason = await postgresSkip();
  if (reason) return t.skip(reason);
  const own = freshPostgresUri();
  const other = freshPostgresUri();
  const a = await openMetadataStore(parseStoreUri(own.uri));
  const b = await openMetadataStore(parseStoreUri(other.uri));
  try {
    await migrate(a, { ...coreMigrations, ...gadgets });
    await migrate(b, coreMigrations);
    const ours = await a.db.introspection.getTables({ withInternalKyselyTables: true });
    const kysely = (await new PostgresIntrospector(a.db).getTables({ withInternalKyselyTables: true })).filter((x) => x.schema === own.schema);
    assert.deepEqual(ours.map((x) => x.schema), ours.map(() => own.schema), 'only the installation schema is read');
    assert.deepEqual(ours, kysely);
    const gadget = ours.find((x) => x.name === 'gadget')!;
    assert.deepEqual(
      gadget.columns.map((c) => [c.name, c.dataType, c.isNullable, c.hasDefaultValue, c.isAutoIncrementing]),
      [['id', 'int4', false, true, true], ['name', 'varchar', false, false, false], ['size', 'int4', true, true, false]],
    );
    assert.equal(ours.find((x) => x.name === 'gadget_names')?.isView, true);
    assert.ok((await a.db.introspection.getSchemas()).some((s) => s.name === other.schema));
  } finally {
    await a.close();
    await b.close();
    await dropSchema(own.schema);
    await dropSchema(other.schema);
  }
});

test('migrations start while other sessions add and drop columns and schemas in the same database', async (t) => {
  const reason = await postgresSkip();
  if (reason) return t.skip(reason);
  // Stands in for other installations and a second replica: DDL in a tight loop, each statement
  // its own transaction, in a neighbouring schema and in the schema being migrated.
  const churn = new pg.Client({ connectionString: POSTGRES_URL });
  await churn.connect();
  const neighbour = freshPostgresUri().schema;
  const stores: string[] = [];
  let stop = false;
  let churned = 0;
  const loop = (async () => {
    while (!stop) {
      await churn.query(`create schema if not exists "${neighbour}"`);
      await churn.query(`create table "${neighbour}".t (id serial primary key)`);
      await churn.query(`alter table "${neighbour}".t add column extra integer`);
      await churn.query(`drop schema "${neighbour}" cascade`);
      churned++;
    }
  })();
  try {
    for (let i = 0; i < 12; i++) {
      const { uri, schema } = freshPostgresUri();
      stores.push(schema);
      const store = await openMetadataStore(parseStoreUri(uri));
      try {
        assert.equal(await migrate(store, { ...coreMigrations, ...gadgets }), '0901_test_gadgets');
        // Once more, with its own table changing under it as another replica's migration would.
        const alter = churn.query(`alter table "${schema}".gadget add column late integer`);
        assert.equal(await migrate(store, { ...coreMigrations, ...gadgets }), '0901_test_gadgets');
        await alter;
      } finally {
        await store.close();
      }
    }
  } finally {
    stop = true;
    await loop;
    await churn.query(`drop schema if exists "${neighbour}" cascade`);
    await churn.end();
    for (const schema of stores) await dropSchema(schema);
  }
  assert.ok(churned > 0, 'the other session changed the catalog meanwhile');
});
