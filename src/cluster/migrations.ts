/** The cluster's schema (migration range 1100_...): leases and replica heartbeats. */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export const clusterMigrations: Migrations = {
  '1100_cluster_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('cl_lease')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('holder', 'varchar(256)', (c) => c.notNull())
        // Moves by one whenever the lease changes hands: the fencing token.
        .addColumn('token', 'bigint', (c) => c.notNull())
        .addColumn('until_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cl_replica')
        .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('host', 'varchar(256)', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_ms', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_ms', 'bigint', (c) => c.notNull())
        .addColumn('report', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('cl_replica').ifExists().execute();
      await db.schema.dropTable('cl_lease').ifExists().execute();
    },
  },
};
