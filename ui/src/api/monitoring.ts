/** modelport's monitoring API (/api/v1/monitors, checks, alerts, performance, predictions). */
import { fetchRaw, getJson } from './http';
// The server's own types: these two modules hold only TypeBox schemas and plain types.
import type { Check as CheckJson, Monitor } from '../../../src/monitoring/monitors/schema';
import type { Alert } from '../../../src/monitoring/alerts/types';

export interface DriftColumn {
  column: string;
  computed: boolean;
  method?: string;
  score?: number;
  threshold?: number;
  drift?: boolean;
  reason?: string;
}
/** A check; a drift check's summary lists its columns. */
export type Check = Omit<CheckJson, 'summary'> & { summary: CheckJson['summary'] & { columns?: DriftColumn[] } };
export type { Alert, Monitor };
export interface PerformanceWindow {
  start: number;
  end: number;
  rows: number;
  metrics: { name: string; computed: boolean; value?: number; reason?: string }[];
}
export interface Prediction {
  requestId: string;
  deployment: string;
  model: string;
  version: number;
  variant: string;
  timeMs: number;
  latencyMs: number;
}

const enc = encodeURIComponent;

export const listMonitors = async (deployment?: string) => (await getJson<{ monitors: Monitor[] }>('/api/v1/monitors', { deployment })).monitors;
export const getMonitor = (id: string) => getJson<Monitor>(`/api/v1/monitors/${enc(id)}`);
export const checks = async (id: string, limit = 50) => (await getJson<{ checks: Check[] }>(`/api/v1/monitors/${enc(id)}/checks`, { limit })).checks;
export const getCheck = (id: string) => getJson<Check>(`/api/v1/monitoring/checks/${enc(id)}`);
export const alerts = async (q: { deployment?: string; monitor?: string; state?: string; limit?: number } = {}) => (await getJson<{ alerts: Alert[] }>('/api/v1/alerts', q)).alerts;

export async function performance(q: { deployment: string; from?: number; to?: number; windowSeconds?: number; positiveLabel?: string; negativeLabel?: string; threshold?: number; task?: string }) {
  return (await getJson<{ windows: PerformanceWindow[] }>('/api/v1/performance', q)).windows;
}

export async function recentPredictions(deployment: string, limit = 2000): Promise<Prediction[]> {
  return (await getJson<{ predictions: Prediction[] }>('/api/v1/predictions', { deployment, limit })).predictions;
}

/** A drift check's HTML report (its per-column reference/current histograms are inline SVG). */
export async function driftReport(checkId: string): Promise<string> {
  return (await fetchRaw(`/api/v1/monitoring/checks/${enc(checkId)}/report`)).text();
}
