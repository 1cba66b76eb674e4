/** The datasets domain's tables (migration range 0300_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export interface DatasetTable {
  name: string;
  description: string;
  /** The editable validation schema (JSON); set from the first version's inference. */
  schema_json: string | null;
  created_ms: number;
  updated_ms: number;
}

export interface DatasetVersionTable {
  name: string;
  version: number;
  /** sha256 of the file, or of the folder's manifest; also the blob holding it. */
  digest: string;
  kind: 'file' | 'folder';
  format: 'csv' | 'jsonl' | 'parquet';
  size_bytes: number;
  row_count: number;
  column_count: number;
  source: string;
  creator: string;
  description: string;
  created_ms: number;
  schema_json: string;
  profile_json: string;
  /** Folder versions: [{path, sha256, size}] of its files. */
  manifest_json: string | null;
}

export interface DatasetRunTable {
  name: string;
  version: number;
  run_id: string;
  context: string;
  created_ms: number;
}

export interface DatasetModelTable {
  name: string;
  version: number;
  model_name: string;
  model_version: string;
  run_id: string;
  created_ms: number;
}

export interface DatasetTables {
  mp_dataset: DatasetTable;
  mp_dataset_version: DatasetVersionTable;
  mp_dataset_run: DatasetRunTable;
  mp_dataset_model: DatasetModelTable;
}

export const datasetMigrations: Migrations = {
  '0300_datasets_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mp_dataset')
        .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('schema_json', 'text')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mp_dataset_version')
        .addColumn('name', 'varchar(255)', (c) => c.notNull().references('mp_dataset.name').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('digest', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('format', 'varchar(16)', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('row_count', 'bigint', (c) => c.notNull())
        .addColumn('column_count', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('creator', 'varchar(255)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('schema_json', 'text', (c) => c.notNull())
        .addColumn('profile_json', 'text', (c) => c.notNull())
        .addColumn('manifest_json', 'text')
        .addPrimaryKeyConstraint('mp_dataset_version_pk', ['name', 'version'])
        .addUniqueConstraint('mp_dataset_version_digest_uq', ['name', 'digest'])
        .execute();
      await db.schema.createIndex('mp_dataset_version_digest_ix').on('mp_dataset_version').column('digest').execute();
      await db.schema
        .createTable('mp_dataset_run')
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('context', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mp_dataset_run_pk', ['name', 'version', 'run_id', 'context'])
        .addForeignKeyConstraint('mp_dataset_run_fk', ['name', 'version'], 'mp_dataset_version', ['name', 'version'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('mp_dataset_run_run_ix').on('mp_dataset_run').column('run_id').execute();
      await db.schema
        .createTable('mp_dataset_model')
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('model_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('model_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mp_dataset_model_pk', ['name', 'version', 'model_name', 'model_version'])
        .addForeignKeyConstraint('mp_dataset_model_fk', ['name', 'version'], 'mp_dataset_version', ['name', 'version'], (c) => c.onDelete('cascade'))
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['mp_dataset_model', 'mp_dataset_run', 'mp_dataset_version', 'mp_dataset']) await db.schema.dropTable(t).execute();
    },
  },
};
