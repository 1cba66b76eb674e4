/** Alerts and their webhook deliveries. */
import { sql, type Kysely } from 'kysely';
import type { Migrations } from '../../storage/metadata.js';

export interface MonAlertTable {
  id: string;
  /** One firing alert per key at a time (e.g. "monitor:<id>" or "concept_drift:<deployment>"). */
  dedup_key: string;
  monitor_id: string | null;
  deployment: string;
  kind: string;
  state: string;
  severity: string;
  message: string;
  /** JSON: the numbers behind the alert. */
  details: string;
  /** The check whose report explains the alert, if any. */
  check_id: string | null;
  /** The HTML report explaining it (drift checks). */
  report_url: string | null;
  occurrences: number;
  started_ms: number;
  updated_ms: number;
  resolved_ms: number | null;
}

export interface MonDeliveryTable {
  id: string;
  alert_id: string;
  event: string;
  url: string;
  /** HMAC key; kept with the delivery so retries sign the same way after the monitor changes. */
  secret: string | null;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_ms: number | null;
  response_status: number | null;
  error: string | null;
  created_ms: number;
  updated_ms: number;
}

export interface AlertTables {
  mon_alert: MonAlertTable;
  mon_delivery: MonDeliveryTable;
}

export const alertMigrations: Migrations = {
  '0530_monitoring_alerts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mon_alert')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('dedup_key', 'varchar(512)', (c) => c.notNull())
        .addColumn('monitor_id', 'varchar(36)')
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('severity', 'varchar(16)', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('check_id', 'varchar(36)')
        .addColumn('report_url', 'text')
        .addColumn('occurrences', 'integer', (c) => c.notNull())
        .addColumn('started_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('resolved_ms', 'bigint')
        .execute();
      // Replicas racing to open the same alert: the second insert fails and joins the first.
      await db.schema.createIndex('mon_alert_one_firing').on('mon_alert').column('dedup_key').unique().where(sql.ref('state'), '=', 'firing').execute();
      await db.schema.createIndex('mon_alert_deployment').on('mon_alert').columns(['deployment', 'started_ms']).execute();
      await db.schema
        .createTable('mon_delivery')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('alert_id', 'varchar(36)', (c) => c.notNull().references('mon_alert.id').onDelete('cascade'))
        .addColumn('event', 'varchar(64)', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_ms', 'bigint')
        .addColumn('response_status', 'integer')
        .addColumn('error', 'text')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mon_delivery_due').on('mon_delivery').columns(['status', 'next_attempt_ms']).execute();
      await db.schema.createIndex('mon_delivery_alert').on('mon_delivery').column('alert_id').execute();
    },
  },
};
