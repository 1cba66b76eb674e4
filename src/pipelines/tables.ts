/** The pipelines domain's tables (migration range 0700_...). */
import type { Kysely } from 'kysely';
import type { Migrations } from '../storage/metadata.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'retrying' | 'succeeded' | 'cached' | 'failed' | 'cancelled' | 'upstream_failed';

export interface PlPipelineTable {
  name: string;
  /** The normalised definition (JSON). */
  definition_json: string;
  created_ms: number;
  updated_ms: number;
}

export interface PlRunTable {
  id: string;
  pipeline: string;
  definition_json: string;
  params_json: string;
  status: RunStatus;
  /** manual, api, cron:<id>, dataset:<id>, alert:<id>, feedback:<id>. */
  trigger: string;
  /** `local`, or the redis:// URI of the queue its steps go to. */
  queue: string;
  parallelism: number;
  tracking_run_id: string | null;
  /** host:pid:nonce of the process driving the run, and until when it holds it. */
  driver: string | null;
  lease_until_ms: number | null;
  cancel_requested: number;
  error: string | null;
  created_ms: number;
  started_ms: number | null;
  ended_ms: number | null;
}

export interface PlStepTable {
  run_id: string;
  name: string;
  status: StepStatus;
  attempts: number;
  cache_key: string | null;
  outputs_sha: string | null;
  stdout_sha: string | null;
  stderr_sha: string | null;
  metrics_json: string | null;
  error: string | null;
  tracking_run_id: string | null;
  /** Process group of a running command step in the driver's process (killed on resume). */
  pgid: number | null;
  ran_on: string | null;
  started_ms: number | null;
  ended_ms: number | null;
}

export interface PlCacheTable {
  cache_key: string;
  outputs_sha: string;
  metrics_json: string;
  run_id: string;
  step: string;
  created_ms: number;
}

export interface PlScheduleTable {
  id: string;
  pipeline: string;
  cron: string;
  timezone: string;
  params_json: string;
  /** The next time it fires; firing moves it forward with a compare-and-set. */
  next_ms: number;
  created_ms: number;
}

export interface PlTriggerTable {
  id: string;
  pipeline: string;
  kind: 'dataset' | 'alert' | 'feedback';
  config_json: string;
  params_json: string;
  /** What the trigger has already seen (a dataset version, an alert time, a feedback count). */
  cursor: number;
  created_ms: number;
}

export interface PlLeaseTable {
  name: string;
  holder: string;
  until_ms: number;
}

export interface PipelineTables {
  pl_pipeline: PlPipelineTable;
  pl_run: PlRunTable;
  pl_step: PlStepTable;
  pl_cache: PlCacheTable;
  pl_schedule: PlScheduleTable;
  pl_trigger: PlTriggerTable;
  pl_lease: PlLeaseTable;
}

export const pipelineMigrations: Migrations = {
  '0700_pipelines_init': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('pl_pipeline')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('definition_json', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pl_run')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('pipeline', 'varchar(128)', (c) => c.notNull())
        .addColumn('definition_json', 'text', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('trigger', 'varchar(128)', (c) => c.notNull())
        .addColumn('queue', 'text', (c) => c.notNull())
        .addColumn('parallelism', 'integer', (c) => c.notNull())
        .addColumn('tracking_run_id', 'varchar(64)')
        .addColumn('driver', 'varchar(256)')
        .addColumn('lease_until_ms', 'bigint')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('started_ms', 'bigint')
        .addColumn('ended_ms', 'bigint')
        .execute();
      await db.schema.createIndex('pl_run_pipeline').on('pl_run').columns(['pipeline', 'created_ms']).execute();
      await db.schema.createIndex('pl_run_status').on('pl_run').columns(['status']).execute();
      await db.schema
        .createTable('pl_step')
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull().references('pl_run.id').onDelete('cascade'))
        .addColumn('name', 'varchar(128)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('cache_key', 'varchar(64)')
        .addColumn('outputs_sha', 'varchar(64)')
        .addColumn('stdout_sha', 'varchar(64)')
        .addColumn('stderr_sha', 'varchar(64)')
        .addColumn('metrics_json', 'text')
        .addColumn('error', 'text')
        .addColumn('tracking_run_id', 'varchar(64)')
        .addColumn('pgid', 'integer')
        .addColumn('ran_on', 'varchar(256)')
        .addColumn('started_ms', 'bigint')
        .addColumn('ended_ms', 'bigint')
        .addPrimaryKeyConstraint('pl_step_pk', ['run_id', 'name'])
        .execute();
      await db.schema
        .createTable('pl_cache')
        .addColumn('cache_key', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('outputs_sha', 'varchar(64)', (c) => c.notNull())
        .addColumn('metrics_json', 'text', (c) => c.notNull())
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('step', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pl_schedule')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('pipeline', 'varchar(128)', (c) => c.notNull().references('pl_pipeline.name').onDelete('cascade'))
        .addColumn('cron', 'varchar(128)', (c) => c.notNull())
        .addColumn('timezone', 'varchar(64)', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('next_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pl_trigger')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('pipeline', 'varchar(128)', (c) => c.notNull().references('pl_pipeline.name').onDelete('cascade'))
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('config_json', 'text', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('cursor', 'bigint', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pl_lease')
        .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('holder', 'varchar(256)', (c) => c.notNull())
        .addColumn('until_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
