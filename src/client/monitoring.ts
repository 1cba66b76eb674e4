/**
 * Typed SDK for monitoring: feedback, logged predictions, performance over time, monitors and
 * their checks and reports, alerts and their webhook deliveries.
 */
import type { Alert, Delivery } from '../monitoring/alerts/types.js';
import type { FeedbackItem, FeedbackResult } from '../monitoring/feedback/feedback.js';
import type { LoggedPrediction, PredictionLogStats } from '../monitoring/log/types.js';
import type { Check, Monitor, MonitorInput, MonitorKind, MonitorPatch } from '../monitoring/monitors/schema.js';
import type { SubjectErasure, SubjectExport } from '../monitoring/privacy.js';
import type { ModelportClient } from './client.js';

export type { Alert, Delivery, FeedbackItem, FeedbackResult, LoggedPrediction, Check, Monitor, MonitorInput, MonitorPatch, MonitorKind };

export type MetricJson = { name: string; computed: true; value: number } | { name: string; computed: false; reason: string };

export interface PerformanceWindowJson {
  start: number;
  end: number;
  task?: 'classification' | 'regression';
  rows: number;
  metrics: MetricJson[];
}

export interface PerformanceOptions {
  /** ISO time or epoch ms. */
  from?: string | number;
  to?: string | number;
  windowSeconds?: number;
  task?: 'classification' | 'regression';
  predictionColumn?: string;
  scoreColumn?: string;
  positiveLabel?: string;
  negativeLabel?: string;
  threshold?: number;
  classes?: string[];
}

export interface AlertFilter {
  state?: 'firing' | 'resolved';
  deployment?: string;
  monitor?: string;
  kind?: 'drift' | 'performance' | 'concept_drift';
  limit?: number;
}

const enc = encodeURIComponent;

export class MonitoringClient {
  constructor(private readonly client: ModelportClient) {}

  /** Sends labels or values for logged predictions; unknown ids and malformed items come back in the result. */
  feedback(items: FeedbackItem[]): Promise<FeedbackResult & { detections: number }> {
    return this.client.request({ method: 'POST', path: '/api/v1/feedback', body: { items } });
  }

  predictions(query: { deployment?: string; from?: string | number; to?: string | number; limit?: number; live?: boolean } = {}): Promise<LoggedPrediction[]> {
    return this.client
      .request<{ predictions: LoggedPrediction[] }>({ method: 'GET', path: '/api/v1/predictions', query: query as Record<string, string | number | boolean | undefined> })
      .then((r) => r.predictions);
  }

  prediction(requestId: string): Promise<LoggedPrediction[]> {
    return this.client.request<{ predictions: LoggedPrediction[] }>({ method: 'GET', path: `/api/v1/predictions/${enc(requestId)}` }).then((r) => r.predictions);
  }

  logging(): Promise<{ sampleRate: number; deployments: Record<string, number>; stats: PredictionLogStats }> {
    return this.client.request({ method: 'GET', path: '/api/v1/monitoring/logging' });
  }

  setSampleRate(deployment: string, sampleRate: number): Promise<{ deployment: string; sampleRate: number }> {
    return this.client.request({ method: 'PUT', path: `/api/v1/monitoring/logging/${enc(deployment)}`, body: { sampleRate } });
  }

  /** Days a deployment's logged predictions and feedback are kept (0: forever; 'default': the server's default). */
  setRetention(deployment: string, retentionDays: number | 'default'): Promise<{ deployment: string; retentionDays: number | 'default' }> {
    return this.client.request({ method: 'PUT', path: `/api/v1/monitoring/logging/${enc(deployment)}`, body: { retentionDays } });
  }

  retention(): Promise<{ defaultDays: number; deployments: Record<string, number> }> {
    return this.client.request({ method: 'GET', path: '/api/v1/monitoring/retention' });
  }

  /** Everything logged about one person (audited on the server). */
  exportSubject(subjectKey: string): Promise<SubjectExport> {
    return this.client.request({ method: 'POST', path: '/api/v1/privacy/export', body: { subjectKey } });
  }

  /** Deletes everything logged about one person (audited on the server). */
  eraseSubject(subjectKey: string): Promise<SubjectErasure> {
    return this.client.request({ method: 'POST', path: '/api/v1/privacy/erase', body: { subjectKey } });
  }

  performance(deployment: string, options: PerformanceOptions = {}): Promise<PerformanceWindowJson[]> {
    const { classes, ...rest } = options;
    return this.client
      .request<{ windows: PerformanceWindowJson[] }>({ method: 'GET', path: '/api/v1/performance', query: { deployment, ...rest, classes: classes?.join(',') } })
      .then((r) => r.windows);
  }

  monitors(filter: { deployment?: string; kind?: MonitorKind } = {}): Promise<Monitor[]> {
    return this.client.request<{ monitors: Monitor[] }>({ method: 'GET', path: '/api/v1/monitors', query: filter }).then((r) => r.monitors);
  }

  createMonitor(input: MonitorInput): Promise<Monitor> {
    return this.client.request({ method: 'POST', path: '/api/v1/monitors', body: input });
  }

  monitor(idOrName: string): Promise<Monitor> {
    return this.client.request({ method: 'GET', path: `/api/v1/monitors/${enc(idOrName)}` });
  }

  updateMonitor(idOrName: string, patch: MonitorPatch): Promise<Monitor> {
    return this.client.request({ method: 'PATCH', path: `/api/v1/monitors/${enc(idOrName)}`, body: patch });
  }

  async deleteMonitor(idOrName: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/api/v1/monitors/${enc(idOrName)}` });
  }

  runMonitor(idOrName: string): Promise<Check> {
    return this.client.request({ method: 'POST', path: `/api/v1/monitors/${enc(idOrName)}/run` });
  }

  checks(idOrName: string, limit?: number): Promise<Check[]> {
    return this.client.request<{ checks: Check[] }>({ method: 'GET', path: `/api/v1/monitors/${enc(idOrName)}/checks`, query: { limit } }).then((r) => r.checks);
  }

  check(id: string): Promise<Check> {
    return this.client.request({ method: 'GET', path: `/api/v1/monitoring/checks/${enc(id)}` });
  }

  /** A drift check's HTML report. */
  report(checkId: string): Promise<string> {
    return this.client.request<string>({ method: 'GET', path: `/api/v1/monitoring/checks/${enc(checkId)}/report` });
  }

  alerts(filter: AlertFilter = {}): Promise<Alert[]> {
    return this.client.request<{ alerts: Alert[] }>({ method: 'GET', path: '/api/v1/alerts', query: { ...filter } }).then((r) => r.alerts);
  }

  alert(id: string): Promise<Alert> {
    return this.client.request({ method: 'GET', path: `/api/v1/alerts/${enc(id)}` });
  }

  resolveAlert(id: string): Promise<Alert> {
    return this.client.request({ method: 'POST', path: `/api/v1/alerts/${enc(id)}/resolve` });
  }

  deliveries(alertId: string): Promise<Delivery[]> {
    return this.client.request<{ deliveries: Delivery[] }>({ method: 'GET', path: `/api/v1/alerts/${enc(alertId)}/deliveries` }).then((r) => r.deliveries);
  }
}
