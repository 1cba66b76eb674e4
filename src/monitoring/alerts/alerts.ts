/**
 * The alert state machine. A condition observed by a check raises an alert under a dedup key:
 * ok → firing opens a new alert and notifies; firing again only counts the occurrence; the
 * condition cleared (or a user) moves firing → resolved and notifies. Notifications go to the
 * in-process emitter and to webhooks.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { failedPrecondition, notFound } from '../../core/errors.js';
import { isUniqueViolation } from '../../storage/metadata.js';
import type { AlertTables, MonAlertTable } from './tables.js';
import type { Alert, AlertEvent, AlertKind, AlertState, Severity, WebhookTarget } from './types.js';
import type { AlertWebhooks } from './webhooks.js';

export interface MonitoringEvents {
  alert: [AlertEvent];
}

export interface RaiseInput {
  dedupKey: string;
  monitorId?: string;
  deployment: string;
  kind: AlertKind;
  severity?: Severity;
  message: string;
  details?: Record<string, unknown>;
  checkId?: string;
  reportUrl?: string;
}

export interface AlertQuery {
  state?: AlertState;
  deployment?: string;
  monitorId?: string;
  kind?: AlertKind;
  limit?: number;
}

export function checkUrl(checkId: string): string {
  return `/api/v1/monitoring/checks/${encodeURIComponent(checkId)}`;
}

export function reportUrl(checkId: string): string {
  return `${checkUrl(checkId)}/report`;
}

function toAlert(row: MonAlertTable): Alert {
  return {
    id: row.id,
    dedupKey: row.dedup_key,
    monitorId: row.monitor_id ?? undefined,
    deployment: row.deployment,
    kind: row.kind as AlertKind,
    state: row.state as AlertState,
    severity: row.severity as Severity,
    message: row.message,
    details: JSON.parse(row.details) as Record<string, unknown>,
    checkId: row.check_id ?? undefined,
    checkUrl: row.check_id ? checkUrl(row.check_id) : undefined,
    reportUrl: row.report_url ?? undefined,
    occurrences: row.occurrences,
    startedAt: row.started_ms,
    updatedAt: row.updated_ms,
    resolvedAt: row.resolved_ms ?? undefined,
  };
}

export class Alerts {
  constructor(
    private readonly db: Kysely<AlertTables>,
    private readonly clock: Clock,
    private readonly webhooks: AlertWebhooks,
    private readonly events: EventEmitter<MonitoringEvents>,
  ) {}

  private firing(dedupKey: string): Promise<MonAlertTable | undefined> {
    return this.db.selectFrom('mon_alert').selectAll().where('dedup_key', '=', dedupKey).where('state', '=', 'firing').executeTakeFirst();
  }

  private async publish(event: AlertEvent, targets: readonly WebhookTarget[]): Promise<void> {
    try {
      this.events.emit('alert', event);
    } catch {
      // A subscriber's failure is its own; the alert is recorded and delivered regardless.
    }
    await this.webhooks.enqueue(event, targets);
  }

  /** Opens an alert (and notifies) or, when one is already firing under the key, counts the occurrence. */
  async raise(input: RaiseInput, targets: readonly WebhookTarget[] = []): Promise<{ alert: Alert; opened: boolean }> {
    const now = this.clock.now();
    const current = await this.firing(input.dedupKey);
    if (current) return { alert: await this.touch(current, input, now), opened: false };
    const row: MonAlertTable = {
      id: randomUUID(),
      dedup_key: input.dedupKey,
      monitor_id: input.monitorId ?? null,
      deployment: input.deployment,
      kind: input.kind,
      state: 'firing',
      severity: input.severity ?? 'warning',
      message: input.message,
      details: JSON.stringify(input.details ?? {}),
      check_id: input.checkId ?? null,
      report_url: input.reportUrl ?? null,
      occurrences: 1,
      started_ms: now,
      updated_ms: now,
      resolved_ms: null,
    };
    try {
      await this.db.insertInto('mon_alert').values(row).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const winner = await this.firing(input.dedupKey);
      if (!winner) throw err;
      return { alert: await this.touch(winner, input, now), opened: false };
    }
    const alert = toAlert(row);
    await this.publish({ type: 'alert.firing', alert }, targets);
    return { alert, opened: true };
  }

  private async touch(current: MonAlertTable, input: RaiseInput, now: number): Promise<Alert> {
    const next = {
      occurrences: current.occurrences + 1,
      message: input.message,
      details: JSON.stringify(input.details ?? {}),
      check_id: input.checkId ?? current.check_id,
      report_url: input.reportUrl ?? current.report_url,
      updated_ms: now,
    };
    await this.db.updateTable('mon_alert').set(next).where('id', '=', current.id).execute();
    return toAlert({ ...current, ...next });
  }

  /** Moves the alert firing under the key to resolved (and notifies); undefined when none fires. */
  async resolveKey(dedupKey: string, message: string, targets: readonly WebhookTarget[] = []): Promise<Alert | undefined> {
    const current = await this.firing(dedupKey);
    if (!current) return undefined;
    return this.close(current, message, targets);
  }

  async resolve(id: string, message: string, targets: readonly WebhookTarget[] = []): Promise<Alert> {
    const current = await this.db.selectFrom('mon_alert').selectAll().where('id', '=', id).executeTakeFirst();
    if (!current) throw notFound(`alert ${id} does not exist`);
    if (current.state !== 'firing') throw failedPrecondition(`alert ${id} is already resolved`);
    return this.close(current, message, targets);
  }

  /** The check and report links stay those of the last firing observation. */
  private async close(current: MonAlertTable, message: string, targets: readonly WebhookTarget[]): Promise<Alert> {
    const now = this.clock.now();
    const next = { state: 'resolved', resolved_ms: now, updated_ms: now, message };
    const done = await this.db.updateTable('mon_alert').set(next).where('id', '=', current.id).where('state', '=', 'firing').executeTakeFirst();
    const alert = toAlert({ ...current, ...next });
    // Another replica resolved it first and has notified.
    if (Number(done.numUpdatedRows) === 0) return alert;
    await this.publish({ type: 'alert.resolved', alert }, targets);
    return alert;
  }

  async get(id: string): Promise<Alert> {
    const row = await this.db.selectFrom('mon_alert').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`alert ${id} does not exist`);
    return toAlert(row);
  }

  /** Newest first. */
  async list(query: AlertQuery = {}): Promise<Alert[]> {
    let q = this.db.selectFrom('mon_alert').selectAll();
    if (query.state) q = q.where('state', '=', query.state);
    if (query.deployment) q = q.where('deployment', '=', query.deployment);
    if (query.monitorId) q = q.where('monitor_id', '=', query.monitorId);
    if (query.kind) q = q.where('kind', '=', query.kind);
    const rows = await q.orderBy('started_ms', 'desc').orderBy('id').limit(query.limit ?? 100).execute();
    return rows.map(toAlert);
  }

  /** Firing alerts per deployment and kind, for the metrics. */
  async firingCounts(): Promise<{ deployment: string; kind: string; n: number }[]> {
    const rows = await this.db
      .selectFrom('mon_alert')
      .select(['deployment', 'kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'firing')
      .groupBy(['deployment', 'kind'])
      .execute();
    return rows.map((r) => ({ deployment: r.deployment, kind: r.kind, n: Number(r.n) }));
  }
}
