/** Batch jobs' schema (serving's sub-range 0440_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../../storage/metadata.js';

export const jobMigrations: Migrations = {
  '0440_serving_jobs': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('srv_job')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('deployment', 'varchar(128)', (c) => c.notNull())
        // What to read and how: {sha256 | dataset, format, keep, chunk_rows, output_format}.
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('rows_total', 'bigint')
        .addColumn('rows_done', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('output_sha256', 'varchar(64)')
        .addColumn('output_bytes', 'bigint')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('started_ms', 'bigint')
        .addColumn('finished_ms', 'bigint')
        .execute();
      await db.schema.createIndex('srv_job_state').on('srv_job').columns(['state', 'created_ms']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('srv_job').ifExists().execute();
    },
  },
  // Chunks a running job committed, copied to the artifact store, so a replica taking the job over resumes from them.
  '0441_serving_job_parts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('srv_job_part')
        .addColumn('job_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('chunk', 'integer', (c) => c.notNull())
        // The scorer's identity: a part counts only for a run on the same model version.
        .addColumn('model', 'varchar(512)', (c) => c.notNull())
        .addColumn('layout', 'text', (c) => c.notNull())
        .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('srv_job_part_pk', ['job_id', 'chunk', 'model'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('srv_job_part').ifExists().execute();
    },
  },
  // Which replica holds a queued or running job, until when: another takes it over once the lease runs out.
  '1110_serving_job_leases': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('srv_job').addColumn('owner', 'varchar(256)').execute();
      await db.schema.alterTable('srv_job').addColumn('lease_until_ms', 'bigint').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('srv_job').dropColumn('lease_until_ms').execute();
      await db.schema.alterTable('srv_job').dropColumn('owner').execute();
    },
  },
};
