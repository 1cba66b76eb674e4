/**
 * Tracking tables. Runs get an integer surrogate key (`run_pk`) so the metric history, the
 * largest table by far, stores a small integer per point instead of a 32-character run id.
 * `tracking_latest_metric` keeps one row per (run, key), as MLflow does, so searching and sorting
 * runs by a metric never touches the history. Booleans are small integers on both engines.
 */
import { sql, type Generated, type Kysely } from 'kysely';
import { isPostgres, type Migrations } from '../storage/metadata.js';

export interface ExperimentTable {
  experiment_id: Generated<number>;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface ExperimentTagTable {
  experiment_id: number;
  key: string;
  value: string;
}

export interface RunTable {
  run_pk: Generated<number>;
  run_id: string;
  experiment_id: number;
  run_name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
  deleted_time: number | null;
}

export interface KeyValueTable {
  run_pk: number;
  key: string;
  value: string;
}

export interface MetricTable {
  run_pk: number;
  key: string;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
}

/**
 * Metric history in blocks: the points one request logged for one key, packed as three
 * little-endian float64 columns (steps, timestamps, values; NaN kept as NaN). A 100,000-step
 * history is ~100 rows to read instead of 100,000, and logging 1000 points writes a handful of
 * rows instead of 1000.
 */
export interface MetricBlockTable {
  block_id: Generated<number>;
  run_pk: number;
  key: string;
  count: number;
  min_step: number;
  max_step: number;
  data: Buffer;
}

export interface DatasetTable {
  dataset_uuid: string;
  experiment_id: number;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface RunInputTable {
  run_pk: number;
  dataset_uuid: string;
  /** JSON array of {key, value}. */
  tags: string;
  /** The `mlflow.data.context` input tag (training, eval, ...), kept as a column for search. */
  context: string | null;
}

export interface ArtifactTable {
  /** Path under the artifact proxy root, e.g. `1/<run_id>/artifacts/model/MLmodel`. */
  path: string;
  /** Parent folder of `path` ('' at the root), so listing a folder is one indexed lookup. */
  dir: string;
  sha256: string;
  size: number;
  updated_ms: number;
}

export interface LoggedModelTable {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  status: string;
  status_message: string | null;
  model_type: string | null;
  source_run_id: string | null;
  creation_ms: number;
  updated_ms: number;
  lifecycle_stage: string;
}

/**
 * A metric point logged for an MLflow 3 logged model (log-metric / log-batch with `model_id`),
 * with the run that logged it and the dataset it was measured on. The value is stored as
 * MLflow's store keeps it: NaN as 0, ±Infinity as ±max double.
 */
export interface LoggedModelMetricTable {
  model_id: string;
  key: string;
  timestamp: number;
  step: number;
  value: number;
  run_id: string;
  dataset_name: string | null;
  dataset_digest: string | null;
}

export interface LoggedModelKeyValueTable {
  model_id: string;
  key: string;
  value: string;
}

/** MLflow 3's model inputs and outputs of a run (log-inputs `models`, runs/outputs). */
export interface RunModelTable {
  run_pk: number;
  model_id: string;
  direction: 'input' | 'output';
  /** The step an output was produced at; 0 for inputs, which carry none. */
  step: number;
}

export interface TrackingTables {
  tracking_experiment: ExperimentTable;
  tracking_experiment_tag: ExperimentTagTable;
  tracking_run: RunTable;
  tracking_param: KeyValueTable;
  tracking_tag: KeyValueTable;
  tracking_metric_block: MetricBlockTable;
  tracking_latest_metric: MetricTable;
  tracking_dataset: DatasetTable;
  tracking_run_input: RunInputTable;
  tracking_artifact: ArtifactTable;
  tracking_logged_model: LoggedModelTable;
  tracking_logged_model_param: LoggedModelKeyValueTable;
  tracking_logged_model_tag: LoggedModelKeyValueTable;
  tracking_run_model: RunModelTable;
  tracking_logged_model_metric: LoggedModelMetricTable;
}

export const trackingMigrations: Migrations = {
  '0100_tracking_init': {
    async up(db: Kysely<any>) {
      const pg = isPostgres(db);
      await db.schema
        .createTable('tracking_experiment')
        .addColumn('experiment_id', pg ? 'bigint' : 'integer', (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('name', 'varchar(500)', (c) => c.notNull().unique())
        .addColumn('artifact_location', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull())
        .addColumn('creation_time', 'bigint', (c) => c.notNull())
        .addColumn('last_update_time', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tracking_experiment_tag')
        .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('tracking_experiment.experiment_id'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tracking_experiment_tag_pk', ['experiment_id', 'key'])
        .execute();
      await db.schema
        .createTable('tracking_run')
        .addColumn('run_pk', pg ? 'bigint' : 'integer', (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('run_id', 'varchar(32)', (c) => c.notNull().unique())
        .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('tracking_experiment.experiment_id'))
        .addColumn('run_name', 'varchar(250)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(256)', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('start_time', 'bigint', (c) => c.notNull())
        .addColumn('end_time', 'bigint')
        .addColumn('artifact_uri', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull())
        .addColumn('deleted_time', 'bigint')
        .execute();
      await db.schema
        .createIndex('tracking_run_experiment_idx')
        .on('tracking_run')
        .columns(['experiment_id', 'lifecycle_stage', 'start_time'])
        .execute();
      for (const table of ['tracking_param', 'tracking_tag']) {
        await db.schema
          .createTable(table)
          .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
          .addColumn('key', 'varchar(250)', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['run_pk', 'key'])
          .execute();
        await db.schema.createIndex(`${table}_key_idx`).on(table).columns(['key', 'value']).execute();
      }
      // The history's primary key is also its only index: (run, key, step) ranges serve
      // get-history, and identical points collapse as MLflow's own primary key makes them.
      let metric = db.schema
        .createTable('tracking_metric')
        .addColumn('run_pk', 'bigint', (c) => c.notNull())
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('is_nan', 'smallint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tracking_metric_pk', ['run_pk', 'key', 'step', 'timestamp', 'value', 'is_nan']);
      // SQLite: the table is its primary-key B-tree, so a point is written once instead of twice.
      if (!pg) metric = metric.modifyEnd(sql`without rowid`);
      await metric.execute();
      await db.schema
        .createTable('tracking_latest_metric')
        .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('is_nan', 'smallint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tracking_latest_metric_pk', ['run_pk', 'key'])
        .execute();
      await db.schema.createIndex('tracking_latest_metric_key_idx').on('tracking_latest_metric').columns(['key', 'value']).execute();
      await db.schema
        .createTable('tracking_dataset')
        .addColumn('dataset_uuid', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('tracking_experiment.experiment_id'))
        .addColumn('name', 'varchar(500)', (c) => c.notNull())
        .addColumn('digest', 'varchar(36)', (c) => c.notNull())
        .addColumn('source_type', 'varchar(36)', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('schema', 'text')
        .addColumn('profile', 'text')
        .addUniqueConstraint('tracking_dataset_name_digest', ['experiment_id', 'name', 'digest'])
        .execute();
      await db.schema
        .createTable('tracking_run_input')
        .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
        .addColumn('dataset_uuid', 'varchar(32)', (c) => c.notNull().references('tracking_dataset.dataset_uuid'))
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('context', 'varchar(500)')
        .addPrimaryKeyConstraint('tracking_run_input_pk', ['run_pk', 'dataset_uuid'])
        .execute();
      await db.schema
        .createTable('tracking_artifact')
        .addColumn('path', 'varchar(1024)', (c) => c.primaryKey())
        .addColumn('dir', 'varchar(1024)', (c) => c.notNull())
        .addColumn('sha256', 'char(64)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tracking_artifact_dir_idx').on('tracking_artifact').columns(['dir', 'path']).execute();
    },
    async down(db: Kysely<any>) {
      for (const t of [
        'tracking_artifact',
        'tracking_run_input',
        'tracking_dataset',
        'tracking_latest_metric',
        'tracking_metric',
        'tracking_tag',
        'tracking_param',
        'tracking_run',
        'tracking_experiment_tag',
        'tracking_experiment',
      ]) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  },
  '0101_tracking_metric_blocks': {
    async up(db: Kysely<any>) {
      const pg = isPostgres(db);
      await db.schema.dropTable('tracking_metric').ifExists().execute();
      await db.schema
        .createTable('tracking_metric_block')
        .addColumn('block_id', pg ? 'bigint' : 'integer', (c) =>
          pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('min_step', 'bigint', (c) => c.notNull())
        .addColumn('max_step', 'bigint', (c) => c.notNull())
        .addColumn('data', pg ? 'bytea' : 'blob', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tracking_metric_block_key_idx').on('tracking_metric_block').columns(['run_pk', 'key', 'min_step']).execute();
      if (pg) return;
      // SQLite: keyed tables become their primary-key B-trees, so a search probe or a join on
      // (run, key) is one lookup instead of an index lookup plus a row fetch.
      for (const table of ['tracking_latest_metric', 'tracking_param', 'tracking_tag']) {
        const latest = table === 'tracking_latest_metric';
        await sql`alter table ${sql.table(table)} rename to ${sql.table(`${table}_old`)}`.execute(db);
        await sql`drop index if exists ${sql.ref(latest ? 'tracking_latest_metric_key_idx' : `${table}_key_idx`)}`.execute(db);
        let create = db.schema
          .createTable(table)
          .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
          .addColumn('key', 'varchar(250)', (c) => c.notNull());
        create = latest
          ? create
              .addColumn('step', 'bigint', (c) => c.notNull())
              .addColumn('timestamp', 'bigint', (c) => c.notNull())
              .addColumn('value', 'double precision', (c) => c.notNull())
              .addColumn('is_nan', 'smallint', (c) => c.notNull())
          : create.addColumn('value', 'text', (c) => c.notNull());
        await create.addPrimaryKeyConstraint(`${table}_pk`, ['run_pk', 'key']).modifyEnd(sql`without rowid`).execute();
        await sql`insert into ${sql.table(table)} select * from ${sql.table(`${table}_old`)}`.execute(db);
        await db.schema.dropTable(`${table}_old`).execute();
        await db.schema.createIndex(latest ? 'tracking_latest_metric_key_idx' : `${table}_key_idx`).on(table).columns(['key', 'value']).execute();
      }
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('tracking_metric_block').ifExists().execute();
    },
  },
  '0102_tracking_latest_metric_covering_index': {
    // Search filters and orders on (key, value) and needs run_pk and is_nan with them: with all
    // four in the index, neither engine visits the table for those rows.
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('tracking_latest_metric_key_idx').ifExists().execute();
      await db.schema
        .createIndex('tracking_latest_metric_search_idx')
        .on('tracking_latest_metric')
        .columns(['key', 'value', 'is_nan', 'run_pk'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('tracking_latest_metric_search_idx').ifExists().execute();
    },
  },
  '0140_tracking_logged_models': {
    // MLflow 3's logged models (src/tracking/logged-models.ts).
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tracking_logged_model')
        .addColumn('model_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('experiment_id', 'bigint', (c) => c.notNull().references('tracking_experiment.experiment_id'))
        .addColumn('name', 'varchar(500)', (c) => c.notNull())
        .addColumn('artifact_location', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(40)', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('model_type', 'varchar(500)')
        .addColumn('source_run_id', 'varchar(32)')
        .addColumn('creation_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tracking_logged_model_experiment_idx').on('tracking_logged_model').columns(['experiment_id', 'lifecycle_stage']).execute();
      for (const table of ['tracking_logged_model_param', 'tracking_logged_model_tag']) {
        await db.schema
          .createTable(table)
          .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('tracking_logged_model.model_id'))
          .addColumn('key', 'varchar(250)', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['model_id', 'key'])
          .execute();
      }
    },
    async down(db: Kysely<any>) {
      for (const t of ['tracking_logged_model_tag', 'tracking_logged_model_param', 'tracking_logged_model']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0141_tracking_run_models': {
    // MLflow 3 links logged models to runs as inputs and outputs; runs/get answers them.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tracking_run_model')
        .addColumn('run_pk', 'bigint', (c) => c.notNull().references('tracking_run.run_pk'))
        .addColumn('model_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('direction', 'varchar(8)', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tracking_run_model_pk', ['run_pk', 'direction', 'model_id', 'step'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('tracking_run_model').ifExists().execute();
    },
  },
  '0142_tracking_logged_model_metrics': {
    // MLflow 3's logged-model metrics; the key is MLflow's (model, name, timestamp, step, run).
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tracking_logged_model_metric')
        .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('tracking_logged_model.model_id'))
        .addColumn('key', 'varchar(250)', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('run_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('dataset_name', 'varchar(500)')
        .addColumn('dataset_digest', 'varchar(64)')
        .addPrimaryKeyConstraint('tracking_logged_model_metric_pk', ['model_id', 'key', 'timestamp', 'step', 'run_id'])
        .execute();
      // Retention deletes a run's points by run.
      await db.schema.createIndex('tracking_logged_model_metric_run_idx').on('tracking_logged_model_metric').column('run_id').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('tracking_logged_model_metric').ifExists().execute();
    },
  },
};
