/**
 * Webhooks on registry events: HMAC-SHA256 signed JSON, retried with exponential backoff (the
 * waits come from the injected Clock), one delivery row per event and hook as the hook's log.
 * Targets on loopback, private, link-local or otherwise internal addresses are refused unless
 * allowed, checked both when the hook is saved and on every connection (so a DNS answer that
 * changes after the check cannot redirect a delivery inside the network).
 */
import type { SecretBox } from '../core/secret-box.js';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { invalidArgument, notFound } from '../core/errors.js';
import { checkWebhookUrl, postWebhook, signWebhookPayload } from '../core/webhook-security.js';
import { REGISTRY_EVENTS, type RegistryEvent } from './events.js';
import type { RegistryTables, RegDeliveryTable, RegWebhookTable } from './tables.js';
import type { Webhook, WebhookDelivery } from './types.js';

export interface WebhookOptions {
  /** Allow targets on loopback/private addresses (tests, single-host installs). Default false. */
  allowPrivateTargets?: boolean;
  /** Attempts per delivery, the first included. Default 5. */
  maxAttempts?: number;
  /** Wait before the first retry; doubles each time. Default 1000 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout (wall time). Default 10 s. */
  timeoutMs?: number;
  /** Seals secrets before they are stored. */
  secrets?: SecretBox;
}

export const WEBHOOK_TEST_EVENT = 'webhook.test';


function toWebhook(row: RegWebhookTable): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    model: row.model_name ?? undefined,
    description: row.description ?? undefined,
    status: row.status as Webhook['status'],
    hasSecret: !!row.secret,
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
  };
}

function toDelivery(row: RegDeliveryTable): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    event: row.event,
    payload: row.payload,
    status: row.status as WebhookDelivery['status'],
    attempts: row.attempts,
    responseStatus: row.response_status ?? undefined,
    error: row.error ?? undefined,
    nextAttemptAt: row.next_attempt_ms ?? undefined,
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
  };
}

export interface WebhookInput {
  url: string;
  events: string[];
  secret?: string;
  model?: string;
  description?: string;
  status?: 'ACTIVE' | 'DISABLED';
}

export class Webhooks {
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly db: Kysely<RegistryTables>,
    private readonly clock: Clock,
    private readonly options: WebhookOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private seal(secret: string): string {
    return this.options.secrets?.seal(secret) ?? secret;
  }

  private checkTarget(text: string): Promise<string> {
    return checkWebhookUrl(text, 'url', !!this.options.allowPrivateTargets);
  }

  private checkEvents(events: string[]): string[] {
    if (events.length === 0) throw invalidArgument('webhook events: give at least one event (or "*")', { field: 'events' });
    for (const e of events) {
      if (e !== '*' && !(REGISTRY_EVENTS as readonly string[]).includes(e)) {
        throw invalidArgument(`webhook events: unknown event "${e}"; known: ${REGISTRY_EVENTS.join(', ')}`, { field: 'events' });
      }
    }
    return [...new Set(events)];
  }

  async create(input: WebhookInput): Promise<Webhook> {
    const now = this.clock.now();
    const events = JSON.stringify(this.checkEvents(input.events));
    const row: RegWebhookTable = {
      id: randomUUID(),
      url: await this.checkTarget(input.url),
      secret: input.secret ? this.seal(input.secret) : null,
      events,
      model_name: input.model ?? null,
      description: input.description ?? null,
      status: input.status ?? 'ACTIVE',
      created_ms: now,
      updated_ms: now,
    };
    await this.db.insertInto('reg_webhook').values(row).execute();
    return toWebhook(row);
  }

  private async row(id: string): Promise<RegWebhookTable> {
    const row = await this.db.selectFrom('reg_webhook').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`webhook ${id} does not exist`);
    return row;
  }

  async get(id: string): Promise<Webhook> {
    return toWebhook(await this.row(id));
  }

  async list(): Promise<Webhook[]> {
    return (await this.db.selectFrom('reg_webhook').selectAll().orderBy('created_ms').orderBy('id').execute()).map(toWebhook);
  }

  async update(id: string, patch: Partial<WebhookInput>): Promise<Webhook> {
    const current = await this.row(id);
    const next: Partial<RegWebhookTable> = { updated_ms: this.clock.now() };
    if (patch.url !== undefined) next.url = await this.checkTarget(patch.url);
    if (patch.events !== undefined) next.events = JSON.stringify(this.checkEvents(patch.events));
    if (patch.secret !== undefined) next.secret = patch.secret ? this.seal(patch.secret) : null;
    if (patch.model !== undefined) next.model_name = patch.model || null;
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.status !== undefined) next.status = patch.status;
    await this.db.updateTable('reg_webhook').set(next).where('id', '=', id).execute();
    return toWebhook({ ...current, ...next });
  }

  async delete(id: string): Promise<void> {
    await this.row(id);
    await this.db.deleteFrom('reg_webhook').where('id', '=', id).execute();
  }

  async deliveries(id: string, limit = 100): Promise<WebhookDelivery[]> {
    await this.row(id);
    const rows = await this.db.selectFrom('reg_delivery').selectAll().where('webhook_id', '=', id).orderBy('created_ms', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toDelivery);
  }

  /** Sends a test event to one hook (one attempt, no retries) and returns the delivery record. */
  async test(id: string): Promise<WebhookDelivery> {
    const hook = await this.row(id);
    const deliveryId = await this.enqueue(hook, { type: WEBHOOK_TEST_EVENT, at: this.clock.now(), data: { webhook_id: id } });
    await this.deliver(deliveryId, 1);
    return toDelivery((await this.db.selectFrom('reg_delivery').selectAll().where('id', '=', deliveryId).executeTakeFirstOrThrow()));
  }

  /** Fans an event out to every active hook that wants it; deliveries proceed in the background. */
  dispatch(event: RegistryEvent): Promise<void> {
    const work = this.fanOut(event);
    this.track(work);
    return work;
  }

  private async fanOut(event: RegistryEvent): Promise<void> {
    if (this.closed) return;
    const hooks = await this.db.selectFrom('reg_webhook').selectAll().where('status', '=', 'ACTIVE').execute();
    const name = (event.data as { name?: string }).name;
    for (const hook of hooks) {
      const events = JSON.parse(hook.events) as string[];
      if (!events.includes('*') && !events.includes(event.type)) continue;
      if (hook.model_name && hook.model_name !== name) continue;
      const deliveryId = await this.enqueue(hook, event);
      this.track(this.deliver(deliveryId, this.maxAttempts));
    }
  }

  private track(work: Promise<void>): void {
    const p = work.catch(() => undefined).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async enqueue(hook: RegWebhookTable, event: { type: string; at: number; data: unknown }): Promise<string> {
    const id = randomUUID();
    const now = this.clock.now();
    const payload = JSON.stringify({ id, event: event.type, timestamp: event.at, webhook_id: hook.id, data: event.data });
    await this.db
      .insertInto('reg_delivery')
      .values({ id, webhook_id: hook.id, event: event.type, payload, status: 'PENDING', attempts: 0, response_status: null, error: null, next_attempt_ms: now, created_ms: now, updated_ms: now })
      .execute();
    return id;
  }

  /**
   * Attempts a delivery until it succeeds or runs out of attempts. Each attempt is first claimed
   * by bumping `attempts` from the count this loop expects, so when several processes hold the
   * same pending delivery (a resumed one after a restart, another replica) exactly one sends it.
   */
  private async deliver(deliveryId: string, maxAttempts: number, done = 0): Promise<void> {
    for (let attempt = done + 1; ; attempt++) {
      const claimed = await this.db
        .updateTable('reg_delivery')
        .set({ attempts: attempt, updated_ms: this.clock.now() })
        .where('id', '=', deliveryId)
        .where('status', '=', 'PENDING')
        .where('attempts', '=', attempt - 1)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return;
      const delivery = await this.db.selectFrom('reg_delivery').selectAll().where('id', '=', deliveryId).executeTakeFirst();
      const hook = delivery && (await this.db.selectFrom('reg_webhook').selectAll().where('id', '=', delivery.webhook_id).executeTakeFirst());
      if (!delivery || !hook) return;
      const result = await this.send(hook, delivery);
      const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
      const last = ok || attempt >= maxAttempts || this.closed;
      const delay = Math.min(this.baseDelayMs * 2 ** (attempt - 1), this.maxDelayMs);
      const now = this.clock.now();
      await this.db
        .updateTable('reg_delivery')
        .set({
          status: ok ? 'SUCCEEDED' : last ? 'FAILED' : 'PENDING',
          response_status: result.status ?? null,
          error: ok ? null : (result.error ?? `HTTP ${result.status}`),
          next_attempt_ms: last ? null : now + delay,
          updated_ms: now,
        })
        .where('id', '=', deliveryId)
        .execute();
      if (last) return;
      await this.clock.sleep(delay);
      if (this.closed) return;
    }
  }

  /** Picks up deliveries left pending by an earlier process (a restart between retries). */
  async resume(): Promise<void> {
    const pending = await this.db.selectFrom('reg_delivery').select(['id', 'attempts', 'next_attempt_ms']).where('status', '=', 'PENDING').execute();
    for (const row of pending) {
      this.track(
        (async () => {
          const wait = (row.next_attempt_ms ?? 0) - this.clock.now();
          if (wait > 0) await this.clock.sleep(wait);
          if (!this.closed) await this.deliver(row.id, this.maxAttempts, row.attempts);
        })(),
      );
    }
  }

  private send(hook: RegWebhookTable, delivery: RegDeliveryTable): Promise<{ status?: number; error?: string }> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'modelport-webhooks/1',
      'x-modelport-event': delivery.event,
      'x-modelport-delivery': delivery.id,
    };
    if (hook.secret) headers['x-modelport-signature'] = signWebhookPayload(this.options.secrets?.open(hook.secret) ?? hook.secret, delivery.payload);
    return postWebhook(hook.url, delivery.payload, headers, { allowPrivate: !!this.options.allowPrivateTargets, timeoutMs: this.timeoutMs });
  }

  /** Resolves once no delivery is in flight (retries included). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  close(): void {
    this.closed = true;
  }
}
