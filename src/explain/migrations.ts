/** Explanations' schema (migration range 0900_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export const explainMigrations: Migrations = {
  '0900_explain_init': {
    async up(db: Kysely<any>) {
      // The background summary a model version's kernel and LIME explanations use, kept so
      // every explanation of that version starts from the same reference.
      await db.schema
        .createTable('exp_background')
        .addColumn('model', 'varchar(256)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('exp_background_pk', ['model', 'version'])
        .execute();
      // Global importance per model version and kind ('shap': mean |SHAP|; 'permutation').
      await db.schema
        .createTable('exp_importance')
        .addColumn('model', 'varchar(256)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('exp_importance_pk', ['model', 'version', 'kind'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('exp_importance').ifExists().execute();
      await db.schema.dropTable('exp_background').ifExists().execute();
    },
  },
  '0901_explain_sampled_log': {
    async up(db: Kysely<any>) {
      // Which share of each deployment's requests is explained as it is served.
      await db.schema
        .createTable('exp_logging')
        .addColumn('deployment', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('rate', 'double precision', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('exp_logged')
        .addColumn('request_id', 'varchar(1024)', (c) => c.primaryKey())
        .addColumn('deployment', 'varchar(128)', (c) => c.notNull())
        .addColumn('model', 'varchar(256)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('time_ms', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('exp_logged_time').on('exp_logged').column('time_ms').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('exp_logged').ifExists().execute();
      await db.schema.dropTable('exp_logging').ifExists().execute();
    },
  },
};

export interface ExplainTables {
  exp_background: { model: string; version: number; source: string; body: string; created_ms: number };
  exp_importance: { model: string; version: number; kind: string; body: string; created_ms: number };
  exp_logging: { deployment: string; rate: number; updated_ms: number };
  exp_logged: { request_id: string; deployment: string; model: string; version: number; time_ms: number; body: string };
}
