/**
 * The audit log: append-only, one entry per mutating or denied call, each entry carrying the
 * hash of the one before it, so that an edited, deleted or reordered entry breaks the chain at
 * that point. Entries are numbered without gaps; appends are serialised in this process and a
 * second replica's concurrent append loses the race on the number's primary key and retries.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { isUniqueViolation } from '../storage/metadata.js';
import type { AuditTable, SecurityTables } from './migrations.js';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  status: number;
  client: string;
  request_id: string;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  time_ms: number;
  prev_hash: string;
  hash: string;
}

export interface AuditQuery {
  sinceMs?: number;
  actor?: string;
  limit?: number;
}

export type AuditVerdict = { ok: true; entries: number } | { ok: false; entries: number; brokenAt: number; reason: string };

const GENESIS = '0'.repeat(64);

/** The hash an entry must carry: over the previous hash and every field but its own hash. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const fields = [e.seq, e.time_ms, e.actor, e.action, e.target, e.outcome, e.status, e.client, e.request_id, e.prev_hash];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

function toEntry(r: AuditTable): AuditEntry {
  return { ...r, outcome: r.outcome as AuditOutcome, seq: Number(r.seq), time_ms: Number(r.time_ms), status: Number(r.status) };
}

export class AuditLog {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<SecurityTables>,
    private readonly clock: Clock,
  ) {}

  /** Queues an entry; the promise settles once it is stored (or failed to be, which is logged by the caller). */
  append(event: AuditEvent): Promise<void> {
    const next = this.tail.then(() => this.write(event));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Waits for every queued entry, so a read sees the calls made before it. */
  flush(): Promise<void> {
    return this.tail;
  }

  private async write(event: AuditEvent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const last = await this.db.selectFrom('sec_audit').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const partial = { ...event, seq: last ? Number(last.seq) + 1 : 1, time_ms: this.clock.now(), prev_hash: last?.hash ?? GENESIS };
      try {
        await this.db.insertInto('sec_audit').values({ ...partial, hash: entryHash(partial) }).execute();
        return;
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 20) throw err;
      }
    }
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    await this.flush();
    let q = this.db.selectFrom('sec_audit').selectAll();
    if (query.sinceMs !== undefined) q = q.where('time_ms', '>=', query.sinceMs);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    const rows = await q.orderBy('seq', 'desc').limit(query.limit ?? 1000).execute();
    return rows.map(toEntry).reverse();
  }

  /** Walks the whole chain in order and names the first entry that does not fit it. */
  async verify(): Promise<AuditVerdict> {
    await this.flush();
    let prev = GENESIS;
    let expected = 1;
    let count = 0;
    const PAGE = 5000;
    for (let after = 0; ; ) {
      const rows = (await this.db.selectFrom('sec_audit').selectAll().where('seq', '>', after).orderBy('seq').limit(PAGE).execute()).map(toEntry);
      for (const e of rows) {
        count++;
        if (e.seq !== expected) return { ok: false, entries: count, brokenAt: e.seq, reason: `entry ${expected} is missing (the next is ${e.seq})` };
        if (e.prev_hash !== prev) return { ok: false, entries: count, brokenAt: e.seq, reason: `entry ${e.seq} does not follow entry ${e.seq - 1} (previous hash differs)` };
        if (entryHash(e) !== e.hash) return { ok: false, entries: count, brokenAt: e.seq, reason: `entry ${e.seq} was altered (its hash does not match its content)` };
        prev = e.hash;
        expected++;
      }
      if (rows.length < PAGE) return { ok: true, entries: count };
      after = rows[rows.length - 1].seq;
    }
  }
}
