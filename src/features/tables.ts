/** The feature store's tables (migration range 0600_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export interface FeatureRegistryTable {
  version: number;
  /** sha256 of spec_json: an apply that changes nothing makes no version. */
  digest: string;
  spec_json: string;
  creator: string;
  created_ms: number;
}

/** What one online store holds of a view: how far materialization got and the newest row it wrote. */
export interface FeatureOnlineStateTable {
  view: string;
  /** Which online store (its kind and location), so two stores keep separate progress. */
  store: string;
  /** Event time (ms) up to which the source has been materialized, inclusive. */
  materialized_to_ms: number;
  /** Newest event time (ms) written by materialize or push. */
  newest_event_ms: number;
  rows_written: number;
  updated_ms: number;
}

/** A deployment whose requests carry entity keys: its model's inputs come from a feature service. */
export interface FeatureDeploymentTable {
  deployment: string;
  feature_service: string;
  /** Join key → model dtype a request sends it as (from the source column's type). */
  keys_json: string;
  updated_ms: number;
}

export interface FeatureTables {
  mp_feature_deployment: FeatureDeploymentTable;
  mp_feature_registry: FeatureRegistryTable;
  mp_feature_online_state: FeatureOnlineStateTable;
}

export const featureMigrations: Migrations = {
  '0600_features_init': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mp_feature_registry')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('digest', 'varchar(64)', (c) => c.notNull())
        .addColumn('spec_json', 'text', (c) => c.notNull())
        .addColumn('creator', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mp_feature_online_state')
        .addColumn('view', 'varchar(128)', (c) => c.notNull())
        .addColumn('store', 'varchar(512)', (c) => c.notNull())
        .addColumn('materialized_to_ms', 'bigint', (c) => c.notNull())
        .addColumn('newest_event_ms', 'bigint', (c) => c.notNull())
        .addColumn('rows_written', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mp_feature_online_state_pk', ['view', 'store'])
        .execute();
      await db.schema
        .createTable('mp_feature_deployment')
        .addColumn('deployment', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('feature_service', 'varchar(128)', (c) => c.notNull())
        .addColumn('keys_json', 'text', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>) {
      await db.schema.dropTable('mp_feature_deployment').execute();
      await db.schema.dropTable('mp_feature_online_state').execute();
      await db.schema.dropTable('mp_feature_registry').execute();
    },
  },
};
