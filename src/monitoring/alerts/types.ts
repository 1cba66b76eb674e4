/** Alerts as the API and in-process subscribers see them. */

export type AlertKind = 'drift' | 'performance' | 'concept_drift' | 'rollout';
export type AlertState = 'firing' | 'resolved';
export type Severity = 'warning' | 'critical';

export interface Alert {
  id: string;
  dedupKey: string;
  monitorId?: string;
  deployment: string;
  kind: AlertKind;
  state: AlertState;
  severity: Severity;
  message: string;
  details: Record<string, unknown>;
  /** The check that raised or last confirmed it (`checkUrl`); drift checks' HTML report is at `reportUrl`. */
  checkId?: string;
  checkUrl?: string;
  reportUrl?: string;
  /** Times the condition was observed while firing (deduplicated into this alert). */
  occurrences: number;
  startedAt: number;
  updatedAt: number;
  resolvedAt?: number;
}

/** Published in-process (service.events) and POSTed to webhooks. */
export interface AlertEvent {
  type: 'alert.firing' | 'alert.resolved';
  alert: Alert;
}

export interface WebhookTarget {
  url: string;
  secret?: string;
}

export interface Delivery {
  id: string;
  alertId: string;
  event: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt?: number;
  responseStatus?: number;
  error?: string;
  createdAt: number;
  updatedAt: number;
}
