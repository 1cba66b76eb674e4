/** The prediction log's tables (migration range 0500_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../../storage/metadata.js';

export interface MonPredictionTable {
  request_id: string;
  row_index: number;
  deployment: string;
  model: string;
  version: number;
  variant: string;
  time_ms: number;
  latency_ms: number;
  /** The row's inputs as a JSON object. */
  inputs: string;
  outputs: string;
}

export interface MonLogSettingTable {
  deployment: string;
  sample_rate: number;
  updated_ms: number;
}

export interface LogTables {
  mon_prediction: MonPredictionTable;
  mon_log_setting: MonLogSettingTable;
}

export const logMigrations: Migrations = {
  '0500_monitoring_prediction_log': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mon_prediction')
        .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('row_index', 'integer', (c) => c.notNull())
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('model', 'varchar(256)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('variant', 'varchar(128)', (c) => c.notNull())
        .addColumn('time_ms', 'bigint', (c) => c.notNull())
        .addColumn('latency_ms', 'double precision', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('mon_prediction_pk', ['request_id', 'row_index'])
        .execute();
      await db.schema.createIndex('mon_prediction_deployment_time').on('mon_prediction').columns(['deployment', 'time_ms']).execute();
      await db.schema
        .createTable('mon_log_setting')
        .addColumn('deployment', 'varchar(256)', (c) => c.primaryKey())
        .addColumn('sample_rate', 'double precision', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
