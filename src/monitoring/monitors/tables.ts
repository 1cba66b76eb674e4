/** Monitors and the results of their checks. */
import type { Kysely } from 'kysely';
import type { Migrations } from '../../storage/metadata.js';

export interface MonMonitorTable {
  id: string;
  name: string;
  deployment: string;
  kind: string;
  /** 1 or 0 (both engines read it back as a number). */
  enabled: number;
  interval_ms: number;
  window_ms: number;
  delay_ms: number;
  /** JSON: the kind's settings (drift / performance / concept_drift) as given. */
  config: string;
  /** JSON: [{url, secret?}]. */
  webhooks: string;
  /** Drift reference copied into the blob store when it came from a file or inline rows. */
  reference_sha256: string | null;
  state: string;
  last_check_id: string | null;
  next_run_ms: number | null;
  created_ms: number;
  updated_ms: number;
}

export interface MonCheckTable {
  id: string;
  monitor_id: string;
  deployment: string;
  kind: string;
  status: string;
  message: string;
  window_from_ms: number;
  window_to_ms: number;
  /** JSON: the numbers the verdict rests on. */
  summary: string;
  /** HTML drift report in the blob store. */
  report_sha256: string | null;
  alert_id: string | null;
  started_ms: number;
  finished_ms: number;
}

/** One deployment's concept-drift stream: its detector's state between feedback batches. */
export interface MonConceptStreamTable {
  deployment: string;
  /** The detector settings (JSON) the state belongs to; other settings start a fresh stream. */
  settings_key: string;
  observations: number;
  /** JSON: the latest errors, newest last (for the alert's recent error). */
  recent: string;
  /** The detector's saved state (detectors/types.ts stateToJson). */
  state: string;
  updated_ms: number;
}

export interface MonitorTables {
  mon_monitor: MonMonitorTable;
  mon_check: MonCheckTable;
  mon_concept_stream: MonConceptStreamTable;
}

export const monitorMigrations: Migrations = {
  '0520_monitoring_monitors': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mon_monitor')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(256)', (c) => c.notNull().unique())
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('interval_ms', 'bigint', (c) => c.notNull())
        .addColumn('window_ms', 'bigint', (c) => c.notNull())
        .addColumn('delay_ms', 'bigint', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('webhooks', 'text', (c) => c.notNull())
        .addColumn('reference_sha256', 'varchar(64)')
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_check_id', 'varchar(36)')
        .addColumn('next_run_ms', 'bigint')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mon_monitor_due').on('mon_monitor').columns(['enabled', 'next_run_ms']).execute();
      await db.schema.createIndex('mon_monitor_deployment').on('mon_monitor').column('deployment').execute();
      await db.schema
        .createTable('mon_check')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('monitor_id', 'varchar(36)', (c) => c.notNull().references('mon_monitor.id').onDelete('cascade'))
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('window_from_ms', 'bigint', (c) => c.notNull())
        .addColumn('window_to_ms', 'bigint', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('report_sha256', 'varchar(64)')
        .addColumn('alert_id', 'varchar(36)')
        .addColumn('started_ms', 'bigint', (c) => c.notNull())
        .addColumn('finished_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mon_check_monitor').on('mon_check').columns(['monitor_id', 'started_ms']).execute();
    },
  },
  '0550_monitoring_concept_streams': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mon_concept_stream')
        .addColumn('deployment', 'varchar(256)', (c) => c.primaryKey())
        .addColumn('settings_key', 'text', (c) => c.notNull())
        .addColumn('observations', 'bigint', (c) => c.notNull())
        .addColumn('recent', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
