/**
 * The audit log: append-only, one entry per mutating or denied call, each entry carrying the
 * hash of the one before it, so that an edited, deleted or reordered entry breaks the chain at
 * that point. Entries are numbered without gaps; appends are serialised in this process and a
 * second replica's concurrent append loses the race on the number's primary key and retries.
 *
 * The chain alone cannot show that its newest entries were deleted: what is left is still a
 * chain. So each append also records, in the same transaction, the newest entry's number and
 * hash in `sec_audit_head` under an HMAC with the server secret (kept outside the database);
 * verify checks that the chain reaches that entry. Rewriting the head needs the secret.
 */
import { createHash, createHmac } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { isUniqueViolation } from '../storage/metadata.js';
import type { AuditHeadTable, AuditTable, SecurityTables } from './migrations.js';

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
  /** Entries waiting for the next write, with the callers to tell once it commits. */
  private queued: { event: AuditEvent; timeMs: number; done: (err?: unknown) => void }[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<SecurityTables>,
    private readonly clock: Clock,
    private readonly secret: string,
  ) {}

  private headMac(seq: number, hash: string): string {
    return createHmac('sha256', this.secret).update(`modelport audit head v1:${seq}:${hash}`).digest('hex');
  }

  /**
   * Queues an entry; the promise settles once it is stored (or failed to be, which is logged by
   * the caller). Entries queued while a write is under way go in the next one together: one
   * transaction and one head update for all of them, not one per mutating call.
   */
  append(event: AuditEvent): Promise<void> {
    // Fields a caller controls (a refused request's path) are cut to their columns' widths, so
    // PostgreSQL's "value too long" cannot refuse the entry.
    const fitted = { ...event, actor: clip(event.actor, 255), action: clip(event.action, 255), client: clip(event.client, 64), request_id: clip(event.request_id, 128) };
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ event: fitted, timeMs: this.clock.now(), done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.writing ??= this.drain();
    });
  }

  /** Waits for every queued entry, so a read sees the calls made before it. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, 500);
      try {
        await this.write(batch);
        for (const q of batch) q.done();
      } catch (err) {
        if (batch.length === 1) batch[0].done(err);
        // One entry the database refuses must not take the others down with it.
        else for (const q of batch) await this.write([q]).then(() => q.done(), (e: unknown) => q.done(e));
      }
    }
    this.writing = undefined;
  }

  /**
   * The newest entry and the head record, read in one statement: read apart, another replica's
   * append committing between the two reads gave an entry the head's number but the previous
   * entry's hash, and broke the chain.
   */
  private async ends(): Promise<{ last?: { seq: number; hash: string }; recorded?: AuditHeadTable }> {
    const { rows } = await sql<{ last_seq: number | string | null; last_hash: string | null; seq: number | string | null; hash: string | null; mac: string | null }>`
      select (select seq from sec_audit order by seq desc limit 1) as last_seq,
             (select hash from sec_audit order by seq desc limit 1) as last_hash,
             h.seq, h.hash, h.mac
      from (select 1 as one) x left join sec_audit_head h on h.id = 1`.execute(this.db);
    const r = rows[0];
    return {
      last: r.last_seq === null ? undefined : { seq: Number(r.last_seq), hash: r.last_hash! },
      recorded: r.seq === null ? undefined : { id: 1, seq: Number(r.seq), hash: r.hash!, mac: r.mac! },
    };
  }

  private async write(entries: { event: AuditEvent; timeMs: number }[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { last, recorded } = await this.ends();
      // Numbering continues after the head, so entries deleted from the end stay a visible gap
      // after the next append; a head with a wrong MAC is left as it is, as evidence.
      let seq = Math.max(last ? Number(last.seq) : 0, recorded ? Number(recorded.seq) : 0);
      let prev = last?.hash ?? GENESIS;
      const rows = entries.map(({ event, timeMs }) => {
        const partial = { ...event, seq: ++seq, time_ms: timeMs, prev_hash: prev };
        prev = entryHash(partial);
        return { ...partial, hash: prev };
      });
      const head = { seq, hash: prev, mac: this.headMac(seq, prev) };
      const headIntact = !recorded || recorded.mac === this.headMac(Number(recorded.seq), recorded.hash);
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx.insertInto('sec_audit').values(rows).execute();
          if (!recorded) await trx.insertInto('sec_audit_head').values({ id: 1, ...head }).execute();
          else if (headIntact) await trx.updateTable('sec_audit_head').set(head).where('id', '=', 1).execute();
        });
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

  /** Walks the whole chain in order and names the first entry that does not fit it, then checks it reaches the recorded head. */
  async verify(): Promise<AuditVerdict> {
    await this.flush();
    const verdict = await this.verifyChain();
    if (!verdict.ok) return verdict;
    const head = await this.db.selectFrom('sec_audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!head) return verdict.entries === 0 ? verdict : { ok: false, entries: verdict.entries, brokenAt: verdict.entries, reason: 'the head record of the newest entry is missing' };
    const seq = Number(head.seq);
    if (head.mac !== this.headMac(seq, head.hash)) return { ok: false, entries: verdict.entries, brokenAt: seq, reason: 'the head record was altered (its MAC does not match)' };
    if (seq > verdict.entries) {
      return { ok: false, entries: verdict.entries, brokenAt: verdict.entries + 1, reason: `entries ${verdict.entries + 1} to ${seq} are missing (the log was truncated)` };
    }
    const at = await this.db.selectFrom('sec_audit').select('hash').where('seq', '=', seq).executeTakeFirst();
    if (at?.hash !== head.hash) return { ok: false, entries: verdict.entries, brokenAt: seq, reason: `entry ${seq} is not the one the head record names (entries were replaced)` };
    return verdict;
  }

  private async verifyChain(): Promise<AuditVerdict> {
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

/** `text` cut to at most `max` characters, marked with an ellipsis where it was cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
