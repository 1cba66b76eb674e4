/**
 * Ground truth for logged predictions, arriving in batches and possibly days late. Each item
 * names a request id (and a row, for multi-row requests). Items that match no logged prediction
 * or are malformed are reported one by one; the rest of the batch is stored.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { invalidArgument } from '../../core/errors.js';
import type { LogRow } from '../log/pack.js';
import { rowsByRequestIds, type SegmentCipher } from '../log/segments.js';
import type { LogTables } from '../log/tables.js';
import type { JoinedRow } from '../performance/extract.js';
import { labelText } from '../performance/extract.js';
import type { FeedbackTables, MonFeedbackTable } from './tables.js';
import { batches } from '../../core/batches.js';

export interface FeedbackItem {
  request_id: string;
  /** Row of a multi-row request (default 0). */
  row?: number;
  /** A class label (classification) ... */
  label?: string | number | boolean;
  /** ... or a numeric target (regression). */
  value?: number;
}

export interface FeedbackProblem {
  /** Position in the submitted items. */
  index: number;
  request_id?: string;
  row?: number;
  reason: string;
}

export interface FeedbackResult {
  /** Items stored (new or replacing earlier feedback for the same row). */
  accepted: number;
  /** Of those, rows that already had feedback (the new one replaces it). */
  replaced: number;
  /** Well-formed items with no logged prediction to join to. */
  unknown: FeedbackProblem[];
  /** Malformed items. */
  invalid: FeedbackProblem[];
}

/** A stored item with what its prediction said, for the concept-drift detectors. */
export interface AcceptedFeedback extends JoinedRow {
  deployment: string;
  /** False when it replaced earlier feedback for the same row. */
  first: boolean;
}

export const MAX_FEEDBACK_ITEMS = 10_000;
/** Rows read from the store for one performance query at most. */
export const MAX_JOINED_ROWS = 500_000;

type Tables = LogTables & FeedbackTables;

const key = (requestId: string, row: number) => `${requestId}\u0000${row}`;

function validate(item: FeedbackItem, index: number): FeedbackProblem | { requestId: string; row: number; label: string | null; value: number | null } {
  const bad = (reason: string): FeedbackProblem => ({ index, request_id: typeof item?.request_id === 'string' ? item.request_id : undefined, reason });
  if (item === null || typeof item !== 'object') return bad('an item must be an object with request_id and label or value');
  if (typeof item.request_id !== 'string' || item.request_id === '') return bad('request_id must be a non-empty string');
  const row = item.row ?? 0;
  if (!Number.isInteger(row) || row < 0) return bad(`row must be a whole number >= 0, got ${JSON.stringify(item.row)}`);
  const hasLabel = item.label !== undefined && item.label !== null;
  const hasValue = item.value !== undefined && item.value !== null;
  if (hasLabel === hasValue) return bad('give exactly one of label (classification) or value (regression)');
  if (hasLabel) {
    const t = typeof item.label;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') return bad(`label must be a string, number or boolean, got ${JSON.stringify(item.label)}`);
    if (t === 'number' && !Number.isFinite(item.label as number)) return bad(`label must be finite, got ${item.label}`);
    return { requestId: item.request_id, row, label: labelText(item.label), value: null };
  }
  if (typeof item.value !== 'number' || !Number.isFinite(item.value)) return bad(`value must be a finite number, got ${JSON.stringify(item.value)}`);
  return { requestId: item.request_id, row, label: null, value: item.value };
}

export class FeedbackStore {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly clock: Clock,
    /** The prediction log's, to read the predictions feedback joins to. */
    private readonly cipher?: SegmentCipher,
  ) {}

  /** Stores a batch; call only after the prediction log has flushed what it holds. */
  async ingest(items: readonly FeedbackItem[]): Promise<{ result: FeedbackResult; accepted: AcceptedFeedback[] }> {
    if (!Array.isArray(items)) throw invalidArgument('items must be an array');
    if (items.length > MAX_FEEDBACK_ITEMS) throw invalidArgument(`items: ${items.length} items in one batch; send at most ${MAX_FEEDBACK_ITEMS}`);
    const result: FeedbackResult = { accepted: 0, replaced: 0, unknown: [], invalid: [] };
    const valid: { index: number; requestId: string; row: number; label: string | null; value: number | null }[] = [];
    items.forEach((item, index) => {
      const v = validate(item, index);
      if ('reason' in v) result.invalid.push(v);
      else valid.push({ index, ...v });
    });

    const ids = [...new Set(valid.map((v) => v.requestId))];
    const predictions = new Map<string, LogRow>();
    const rowsPerRequest = new Map<string, number>();
    for (const [id, rows] of await rowsByRequestIds(this.db, ids, this.cipher)) {
      for (const r of rows) predictions.set(key(id, r.row_index), r);
      rowsPerRequest.set(id, rows.length);
    }
    const existing = new Set<string>();
    for (const batch of batches(ids)) {
      const fb = await this.db.selectFrom('mon_feedback').select(['request_id', 'row_index']).where('request_id', 'in', batch).execute();
      for (const r of fb) existing.add(key(r.request_id, r.row_index));
    }

    const now = this.clock.now();
    const byKey = new Map<string, { row: MonFeedbackTable; accepted: AcceptedFeedback }>();
    for (const v of valid) {
      const p = predictions.get(key(v.requestId, v.row));
      if (!p) {
        const n = rowsPerRequest.get(v.requestId);
        result.unknown.push({
          index: v.index,
          request_id: v.requestId,
          row: v.row,
          reason:
            n === undefined
              ? 'no logged prediction has this request id (not sampled, past retention, or never made)'
              : `request has ${n} logged row(s); row ${v.row} is not one of them`,
        });
        continue;
      }
      const k = key(v.requestId, v.row);
      result.accepted++;
      if (existing.has(k) || byKey.has(k)) result.replaced++;
      // The last item for a row within one batch wins, as a later batch would.
      byKey.set(k, {
        row: { request_id: v.requestId, row_index: v.row, deployment: p.deployment, prediction_time_ms: p.time_ms, label: v.label, value: v.value, received_ms: now, outputs: JSON.stringify(p.outputs) },
        accepted: {
          requestId: v.requestId,
          row: v.row,
          deployment: p.deployment,
          timeMs: p.time_ms,
          outputs: p.outputs,
          label: v.label,
          value: v.value,
          first: !existing.has(k),
        },
      });
    }
    const stored = [...byKey.values()];
    if (stored.length > 0) {
      await this.db.transaction().execute(async (trx) => {
        for (const batch of batches(stored)) {
          await trx
            .insertInto('mon_feedback')
            .values(batch.map((s) => s.row))
            .onConflict((oc) =>
              oc.columns(['request_id', 'row_index']).doUpdateSet((eb) => ({
                label: eb.ref('excluded.label'),
                value: eb.ref('excluded.value'),
                received_ms: eb.ref('excluded.received_ms'),
              })),
            )
            .execute();
        }
      });
    }
    const accepted = stored.map((s) => s.accepted).sort((a, b) => a.timeMs - b.timeMs || a.requestId.localeCompare(b.requestId) || a.row - b.row);
    return { result, accepted };
  }

  /** How many labelled rows a deployment has received (pipelines trigger retraining on it). */
  async count(deployment: string): Promise<number> {
    const row = await this.db.selectFrom('mon_feedback').select((eb) => eb.fn.countAll().as('n')).where('deployment', '=', deployment).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Predictions of a deployment made in [from, to) that have feedback, newest first (at most MAX_JOINED_ROWS). */
  async joined(deployment: string, from: number, to: number): Promise<JoinedRow[]> {
    const rows = await this.db
      .selectFrom('mon_feedback')
      .select(['request_id', 'row_index', 'prediction_time_ms', 'outputs', 'label', 'value'])
      .where('deployment', '=', deployment)
      .where('prediction_time_ms', '>=', from)
      .where('prediction_time_ms', '<', to)
      .orderBy('prediction_time_ms', 'desc')
      .limit(MAX_JOINED_ROWS)
      .execute();
    return rows.map((r) => ({
      requestId: r.request_id,
      row: r.row_index,
      timeMs: r.prediction_time_ms,
      outputs: JSON.parse(r.outputs) as Record<string, unknown>,
      label: r.label,
      value: r.value,
    }));
  }
}
