/**
 * Alert notifications: one delivery row per alert event and target, POSTed as JSON signed with
 * HMAC-SHA256 (`x-modelport-signature: sha256=<hex>` over the exact body, as registry webhooks
 * sign). A failed attempt is retried with exponential backoff; the next attempt time lives in
 * the row and due retries are sent by the service's tick, so waits follow the Clock and survive
 * restarts.
 */
import type { SecretBox } from '../../core/secret-box.js';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { postWebhook, signWebhookPayload } from '../../core/webhook-security.js';
import type { AlertTables, MonDeliveryTable } from './tables.js';
import type { AlertEvent, Delivery, WebhookTarget } from './types.js';

export interface WebhookOptions {
  /** Attempts per delivery, the first included (default 5). */
  maxAttempts?: number;
  /** Wait before the first retry, doubled each time (default 1000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout, wall time (default 10 s). */
  timeoutMs?: number;
  /** Deliver to loopback and private addresses too (checked on every connection otherwise). */
  allowPrivateTargets?: boolean;
  /** Seals signing secrets in stored deliveries and opens them to sign. */
  secrets?: SecretBox;
}

function toDelivery(row: MonDeliveryTable): Delivery {
  return {
    id: row.id,
    alertId: row.alert_id,
    event: row.event,
    url: row.url,
    status: row.status as Delivery['status'],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_ms ?? undefined,
    responseStatus: row.response_status ?? undefined,
    error: row.error ?? undefined,
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
  };
}

export class AlertWebhooks {
  private readonly inflight = new Set<Promise<void>>();
  private readonly sending = new Set<string>();
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly allowPrivate: boolean;
  private readonly secrets: SecretBox | undefined;

  constructor(
    private readonly db: Kysely<AlertTables>,
    private readonly clock: Clock,
    options: WebhookOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.allowPrivate = options.allowPrivateTargets ?? false;
    this.secrets = options.secrets;
  }

  /** Records one delivery per target and starts the first attempts without waiting for them. */
  async enqueue(event: AlertEvent, targets: readonly WebhookTarget[]): Promise<void> {
    if (targets.length === 0) return;
    const now = this.clock.now();
    const payload = JSON.stringify(event);
    const rows: MonDeliveryTable[] = targets.map((t) => ({
      id: randomUUID(),
      alert_id: event.alert.id,
      event: event.type,
      url: t.url,
      secret: t.secret === undefined ? null : (this.secrets?.sealOnce(t.secret) ?? t.secret),
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_ms: now,
      response_status: null,
      error: null,
      created_ms: now,
      updated_ms: now,
    }));
    await this.db.insertInto('mon_delivery').values(rows).execute();
    for (const row of rows) this.track(this.attempt(row));
  }

  /** Sends every pending delivery whose next attempt is due by the clock. */
  async deliverDue(): Promise<void> {
    const due = await this.db
      .selectFrom('mon_delivery')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_ms', '<=', this.clock.now())
      .orderBy('next_attempt_ms')
      .limit(100)
      .execute();
    await Promise.all(due.map((row) => this.attempt(row)));
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch(() => undefined).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Resolves when the attempts started so far have finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
  }

  private async attempt(row: MonDeliveryTable): Promise<void> {
    if (this.sending.has(row.id)) return;
    this.sending.add(row.id);
    try {
      // Claim the attempt, so another replica's tick does not send the same one meanwhile.
      const claimed = await this.db
        .updateTable('mon_delivery')
        .set({ next_attempt_ms: this.clock.now() + this.timeoutMs + 1000 })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', row.attempts)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'modelport-monitoring',
        'x-modelport-event': row.event,
        'x-modelport-delivery': row.id,
      };
      if (row.secret) headers['x-modelport-signature'] = signWebhookPayload(this.secrets?.open(row.secret) ?? row.secret, row.payload);
      const sent = await postWebhook(row.url, row.payload, headers, { allowPrivate: this.allowPrivate, timeoutMs: this.timeoutMs });
      const status = sent.status ?? null;
      const error = sent.error ?? (status !== null && (status < 200 || status >= 300) ? `HTTP ${status}` : null);
      const attempts = row.attempts + 1;
      const now = this.clock.now();
      const delivered = error === null;
      const exhausted = !delivered && attempts >= this.maxAttempts;
      await this.db
        .updateTable('mon_delivery')
        .set({
          attempts,
          status: delivered ? 'delivered' : exhausted ? 'failed' : 'pending',
          next_attempt_ms: delivered || exhausted ? null : now + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1)),
          response_status: status,
          error,
          updated_ms: now,
        })
        .where('id', '=', row.id)
        .execute();
    } finally {
      this.sending.delete(row.id);
    }
  }

  async list(alertId: string): Promise<Delivery[]> {
    const rows = await this.db.selectFrom('mon_delivery').selectAll().where('alert_id', '=', alertId).orderBy('created_ms').orderBy('id').execute();
    return rows.map(toDelivery);
  }
}
