/**
 * What prediction taps (the prediction log, explanation logging) may see of a request: columns
 * a model's signature marks as personal data are replaced by a keyed hash or left out. The key
 * is the installation's, so the same person hashes alike across deployments and restarts (and
 * `privacy export|erase` can find them), but a copy of the log alone reveals nothing.
 */
import { createHmac } from 'node:crypto';
import { Batch, cellValue, type Column } from '../models/batch.js';
import type { Signature } from '../models/signature.js';

export type Redactor = (batch: Batch) => Batch;

/** The keyed hash a PII value is logged as: HMAC-SHA256 of its text form, hex. */
export function piiHash(key: Buffer, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return createHmac('sha256', key).update(text).digest('hex');
}

/** The redaction a signature asks for, or undefined when it marks no column (the common case costs nothing). */
export function redactorFor(signature: Signature, key: Buffer): Redactor | undefined {
  const marked = signature.inputs.filter((s) => s.pii !== undefined);
  if (marked.length === 0) return undefined;
  return (batch) => {
    const columns = new Map<string, Column>();
    for (const [name, col] of batch.columns) {
      const how = marked.find((s) => s.name === name)?.pii;
      if (how === 'drop') continue;
      if (how === 'hash') {
        const data = Array.from({ length: batch.rows }, (_, i) => piiHash(key, cellValue(col, i)));
        columns.set(name, { dtype: 'string', shape: [], data });
      } else columns.set(name, col);
    }
    return Batch.from(columns, batch.rows);
  };
}
