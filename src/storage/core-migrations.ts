/** The platform's own tables, owned by no domain. */
import type { Kysely } from 'kysely';
import type { Migrations } from './metadata.js';

export const coreMigrations: Migrations = {
  '0000_core_settings': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mp_settings')
        .ifNotExists()
        .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('mp_settings').execute();
    },
  },
};
