/** Feedback (ground truth) joined to logged predictions by request id and row. */
import { sql, type Kysely } from 'kysely';
import type { Migrations } from '../../storage/metadata.js';

export interface MonFeedbackTable {
  request_id: string;
  row_index: number;
  deployment: string;
  /** When the prediction was made (copied so windows need no join to find it). */
  prediction_time_ms: number;
  /** Class label as text, or null for a regression value. */
  label: string | null;
  value: number | null;
  received_ms: number;
  /** The labelled row's outputs as JSON object text (copied so performance needs no join). */
  outputs: string;
}

export interface FeedbackTables {
  mon_feedback: MonFeedbackTable;
}

export const feedbackMigrations: Migrations = {
  '0510_monitoring_feedback': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mon_feedback')
        .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('row_index', 'integer', (c) => c.notNull())
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('prediction_time_ms', 'bigint', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('value', 'double precision')
        .addColumn('received_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('mon_feedback_pk', ['request_id', 'row_index'])
        .execute();
      await db.schema.createIndex('mon_feedback_deployment_time').on('mon_feedback').columns(['deployment', 'prediction_time_ms']).execute();
    },
  },
  // Runs before the prediction log moves to segments (0540), while rows can still be joined.
  '0535_monitoring_feedback_outputs': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('mon_feedback').addColumn('outputs', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await sql`update mon_feedback set outputs = (select p.outputs from mon_prediction p where p.request_id = mon_feedback.request_id and p.row_index = mon_feedback.row_index)
        where exists (select 1 from mon_prediction p where p.request_id = mon_feedback.request_id and p.row_index = mon_feedback.row_index)`.execute(db);
    },
  },
};
