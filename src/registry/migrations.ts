/** The registry's schema (migration range 0200_...). Plain types only, so both engines agree. */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export const registryMigrations: Migrations = {
  '0200_registry_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('reg_model')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(256)', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('user_id', 'varchar(256)')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('next_version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('reg_model_tag')
        .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('reg_model.id').onDelete('cascade'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('reg_model_tag_pk', ['model_id', 'key'])
        .execute();
      await db.schema
        .createTable('reg_version')
        .addColumn('model_id', 'varchar(36)', (c) => c.notNull().references('reg_model.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('user_id', 'varchar(256)')
        .addColumn('stage', 'varchar(20)', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('run_id', 'varchar(256)')
        .addColumn('run_link', 'text')
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('flavor', 'varchar(64)')
        .addColumn('sha256', 'varchar(64)')
        .addColumn('size', 'bigint')
        .addColumn('manifest', 'text')
        .addColumn('signature', 'text')
        .addColumn('input_example', 'text')
        .addColumn('model_uuid', 'varchar(64)')
        .addColumn('parents', 'text')
        .addPrimaryKeyConstraint('reg_version_pk', ['model_id', 'version'])
        .execute();
      await db.schema.createIndex('reg_version_run').on('reg_version').column('run_id').execute();
      await db.schema
        .createTable('reg_version_tag')
        .addColumn('model_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('reg_version_tag_pk', ['model_id', 'version', 'key'])
        .addForeignKeyConstraint('reg_version_tag_fk', ['model_id', 'version'], 'reg_version', ['model_id', 'version'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema
        .createTable('reg_alias')
        .addColumn('model_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('alias', 'varchar(255)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'varchar(256)')
        .addPrimaryKeyConstraint('reg_alias_pk', ['model_id', 'alias'])
        .addForeignKeyConstraint('reg_alias_fk', ['model_id', 'version'], 'reg_version', ['model_id', 'version'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema
        .createTable('reg_policy')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('model_name', 'varchar(256)', (c) => c.unique())
        .addColumn('protected_aliases', 'text', (c) => c.notNull())
        .addColumn('protected_stages', 'text', (c) => c.notNull())
        .addColumn('approver_roles', 'text', (c) => c.notNull())
        .addColumn('approvers', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('reg_approval')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('model_name', 'varchar(256)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('target', 'varchar(255)', (c) => c.notNull())
        .addColumn('archive_existing', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('requested_by', 'varchar(256)', (c) => c.notNull())
        .addColumn('requested_ms', 'bigint', (c) => c.notNull())
        .addColumn('request_comment', 'text')
        .addColumn('decided_by', 'varchar(256)')
        .addColumn('decided_ms', 'bigint')
        .addColumn('decision_comment', 'text')
        .execute();
      await db.schema.createIndex('reg_approval_model').on('reg_approval').columns(['model_name', 'status']).execute();
      await db.schema
        .createTable('reg_webhook')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text')
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('model_name', 'varchar(256)')
        .addColumn('description', 'text')
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('reg_delivery')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('webhook_id', 'varchar(36)', (c) => c.notNull().references('reg_webhook.id').onDelete('cascade'))
        .addColumn('event', 'varchar(64)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('error', 'text')
        .addColumn('next_attempt_ms', 'bigint')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reg_delivery_hook').on('reg_delivery').columns(['webhook_id', 'created_ms']).execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['reg_delivery', 'reg_webhook', 'reg_approval', 'reg_policy', 'reg_alias', 'reg_version_tag', 'reg_version', 'reg_model_tag', 'reg_model']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  },
};
