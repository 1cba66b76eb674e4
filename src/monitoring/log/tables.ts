/** The prediction log's tables (migration range 0500_...). */
import { sql, type Generated, type Kysely } from 'kysely';
import { groupBy } from '../../core/group.js';
import { isPostgres, type Migrations } from '../../storage/metadata.js';
import { packJsonRows, type LegacyRow } from './pack.js';
import { insertSegment } from './segments.js';

/**
 * One flushed batch of one deployment's logged requests (see pack.ts for the payload). Rows are
 * stored by the batch so that logging costs one insert per batch instead of one per row.
 */
export interface MonLogSegmentTable {
  segment_id: Generated<number>;
  deployment: string;
  /** Earliest and latest request time in the segment, epoch ms. */
  first_ms: number;
  last_ms: number;
  entries: number;
  rows: number;
  payload: Uint8Array;
  /** Range of the times carried by the ids found without a key row (see segments.ts); null when none. */
  key_lo: number | null;
  key_hi: number | null;
}

/** Which segment entry holds a request id: how feedback finds the prediction it labels. */
export interface MonLogKeyTable {
  request_id: string;
  segment_id: number;
  entry: number;
}

export interface MonLogSettingTable {
  deployment: string;
  sample_rate: number;
  updated_ms: number;
  /** How long this deployment's rows are kept, ms (0: forever); null: the log's default. */
  retention_ms: number | null;
}

export interface LogTables {
  mon_log_segment: MonLogSegmentTable;
  mon_log_key: MonLogKeyTable;
  mon_log_setting: MonLogSettingTable;
}

/** Legacy rows moved per statement when upgrading. */
const MOVE_ROWS = 5000;

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
  // Row-per-row logging cost a random-key B-tree insert and a JSON text per logged row; segments
  // cost one insert per flushed batch plus a small key row per request. Logged rows move over.
  '0540_monitoring_log_segments': {
    async up(db: Kysely<any>) {
      const pg = isPostgres(db);
      await db.schema
        .createTable('mon_log_segment')
        .addColumn('segment_id', pg ? 'bigint' : 'integer', (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
        .addColumn('deployment', 'varchar(256)', (c) => c.notNull())
        .addColumn('first_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_ms', 'bigint', (c) => c.notNull())
        .addColumn('entries', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('payload', pg ? 'bytea' : 'blob', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mon_log_segment_deployment_time').on('mon_log_segment').columns(['deployment', 'last_ms']).execute();
      // Listing across deployments and the retention sweep go by time alone.
      await db.schema.createIndex('mon_log_segment_time').on('mon_log_segment').column('last_ms').execute();
      const keys = db.schema
        .createTable('mon_log_key')
        .addColumn('request_id', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('segment_id', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'integer', (c) => c.notNull());
      // SQLite: the table is its key's B-tree, one insert per request instead of two.
      await (pg ? keys : keys.modifyEnd(sql`without rowid`)).execute();
      await db.schema.createIndex('mon_log_key_segment').on('mon_log_key').column('segment_id').execute();

      for (let after = ''; ; ) {
        const rows = (await db
          .selectFrom('mon_prediction')
          .selectAll()
          .where('request_id', '>', after)
          .orderBy('request_id')
          .orderBy('row_index')
          .limit(MOVE_ROWS)
          .execute()) as LegacyRow[];
        if (rows.length === 0) break;
        // A request's rows never straddle two statements.
        const last = rows[rows.length - 1].request_id;
        const whole = rows.length < MOVE_ROWS ? rows : rows.filter((r) => r.request_id !== last);
        const batch = whole.length > 0 ? whole : rows;
        after = batch[batch.length - 1].request_id;
        for (const group of groupBy(batch, (r) => r.deployment).values()) {
          await insertSegment(db, pg ? 'postgres' : 'sqlite', packJsonRows(group), { keyRange: false });
        }
      }
      await db.schema.dropTable('mon_prediction').execute();
    },
  },
  // Key rows for the ids modelport makes cost the log more than its segments did: those ids
  // carry their time, and a segment's range of them finds them instead (segments.ts).
  '0560_monitoring_log_key_ranges': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('mon_log_segment').addColumn('key_lo', 'bigint').execute();
      await db.schema.alterTable('mon_log_segment').addColumn('key_hi', 'bigint').execute();
      await db.schema.createIndex('mon_log_segment_key_time').on('mon_log_segment').column('key_lo').execute();
    },
  },  // Retention per deployment (privacy): how long its logged predictions and feedback are kept.
  '1020_monitoring_log_retention': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('mon_log_setting').addColumn('retention_ms', 'bigint').execute();
    },
  },
};
