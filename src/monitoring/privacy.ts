/**
 * Data-subject requests (GDPR access and erasure) over what monitoring keeps about a person:
 * the logged predictions routed by their key (the user id a request carried) or carrying the
 * keyed hash of their value in a `pii: hash` input, and the feedback given for those requests.
 */
import type { Kysely } from 'kysely';
import { piiHash } from '../serving/pii.js';
import type { FeedbackTables } from './feedback/tables.js';
import type { PredictionLog, Subject } from './log/prediction-log.js';
import type { LoggedPrediction } from './log/types.js';
import { batches } from '../core/batches.js';

export interface SubjectFeedback {
  requestId: string;
  row: number;
  deployment: string;
  label: string | null;
  value: number | null;
  receivedMs: number;
}

export interface SubjectExport {
  subjectKey: string;
  predictions: LoggedPrediction[];
  feedback: SubjectFeedback[];
}

export interface SubjectErasure {
  subjectKey: string;
  /** Logged requests deleted, their rows, and feedback rows deleted. */
  requests: number;
  rows: number;
  feedback: number;
}

/**
 * The subject as the log may hold it. A hashed column's value is hashed as text, or (an int64
 * column) as its JSON string, so both hashes of the key are looked for.
 */
export function subjectOf(key: string, hashKey: Buffer | undefined): Subject {
  if (!hashKey) return { key };
  return { key, hashed: [piiHash(hashKey, key), piiHash(hashKey, JSON.stringify(key))] };
}

export async function exportSubject(log: PredictionLog, db: Kysely<FeedbackTables>, subject: Subject): Promise<SubjectExport> {
  const predictions = await log.subjectRows(subject);
  const ids = [...new Set(predictions.map((p) => p.requestId))];
  const feedback: SubjectFeedback[] = [];
  for (const batch of batches(ids)) {
    const rows = await db.selectFrom('mon_feedback').selectAll().where('request_id', 'in', batch).execute();
    for (const r of rows) {
      feedback.push({ requestId: r.request_id, row: r.row_index, deployment: r.deployment, label: r.label, value: r.value, receivedMs: Number(r.received_ms) });
    }
  }
  return { subjectKey: subject.key, predictions, feedback };
}

export async function eraseSubject(log: PredictionLog, subject: Subject): Promise<SubjectErasure> {
  return { subjectKey: subject.key, ...(await log.eraseSubject(subject)) };
}
