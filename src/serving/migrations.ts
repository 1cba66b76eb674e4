/** Serving's schema (migration range 0400_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export const servingMigrations: Migrations = {
  '0400_serving_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('srv_deployment')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .execute();
      // One row whose counter moves on every deployment change: a replica polls this single
      // value and reads the deployments only when it moved.
      await db.schema
        .createTable('srv_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('srv_generation').values({ id: 1, value: 0 }).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('srv_generation').ifExists().execute();
      await db.schema.dropTable('srv_deployment').ifExists().execute();
    },
  },
  '0401_serving_status': {
    async up(db: Kysely<any>) {
      // The last load outcome a replica reported, so that a process which serves nothing
      // (the CLI, another replica starting) can show what the servers are doing.
      await db.schema.alterTable('srv_deployment').addColumn('status', 'text').execute();
      await db.schema.alterTable('srv_deployment').addColumn('status_ms', 'bigint').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('srv_deployment').dropColumn('status_ms').execute();
      await db.schema.alterTable('srv_deployment').dropColumn('status').execute();
    },
  },
  '0410_serving_revisions': {
    async up(db: Kysely<any>) {
      // Every change of a deployment as it was after the change, with who made it and why:
      // what `rollback` restores.
      await db.schema
        .createTable('srv_revision')
        .addColumn('deployment', 'varchar(128)', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('actor', 'varchar(256)', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('srv_revision_pk', ['deployment', 'revision'])
        .execute();
      const rows = await db.selectFrom('srv_deployment').select(['name', 'spec', 'revision', 'updated_ms']).execute();
      for (const r of rows) {
        await db
          .insertInto('srv_revision')
          .values({ deployment: r.name, revision: r.revision, spec: r.spec, actor: 'unknown', reason: 'recorded when revisions were introduced', created_ms: r.updated_ms })
          .execute();
      }
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('srv_revision').ifExists().execute();
    },
  },
  '0411_serving_rollouts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('srv_rollout')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('deployment', 'varchar(128)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('active_key', 'varchar(64)', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .execute();
      // At most one running or paused rollout per deployment, even with two replicas starting one at once.
      await db.schema.createIndex('srv_rollout_active').on('srv_rollout').columns(['deployment', 'active_key']).unique().execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('srv_rollout').ifExists().execute();
    },
  },
};
