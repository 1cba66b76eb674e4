/** modelport's deployments API and the Prometheus exposition at /metrics. */
import { fetchRaw, getJson, sendJson } from './http';
// The server's own types: src/server/rollout-views.ts holds only TypeBox schemas.
import type { AbJson, RolloutJson } from '../../../src/server/rollout-views';

export interface Variant {
  name: string;
  model: string;
  version?: number;
  alias?: string;
  weight: number;
  shadow?: boolean;
  state: string;
  serving_version?: number;
  runs_on?: string;
  message?: string;
}
export interface Deployment {
  name: string;
  state: string;
  message?: string;
  variants: Variant[];
  batching: { max_batch_size: number; max_queue_delay_us: number; max_queue_size: number; timeout_ms: number };
  revision: number;
  executor: string;
  created_ms: number;
  updated_ms: number;
}

export const listDeployments = async () => (await getJson<{ deployments: Deployment[] }>('/api/v1/deployments')).deployments;
export const getDeployment = (name: string) => getJson<Deployment>(`/api/v1/deployments/${encodeURIComponent(name)}`);

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text exposition format (the samples; comments and blank lines skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(label)) labels[l[1]] = l[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

export async function scrapeMetrics(): Promise<Sample[]> {
  return parseExposition(await (await fetchRaw('/metrics')).text());
}

export interface Revision {
  revision: number;
  actor: string;
  reason: string;
  created_ms: number;
  variants: { name: string; model: string; version?: number; alias?: string; weight: number; shadow?: boolean }[];
}
export const listRevisions = async (name: string) => (await getJson<{ revisions: Revision[] }>(`/api/v1/deployments/${encodeURIComponent(name)}/revisions`, { limit: 50 })).revisions;
export const rollback = (name: string, to: number) => sendJson<Deployment>('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollback`, { to, reason: `rolled back to revision ${to} from the web UI` });

export type Rollout = RolloutJson;
export type RolloutSide = NonNullable<Rollout['last']>['canary'];
export const getRollout = async (name: string) => (await getJson<{ rollout: Rollout | null }>(`/api/v1/deployments/${encodeURIComponent(name)}/rollout`)).rollout;
export const rolloutAction = (name: string, action: 'pause' | 'resume' | 'abort' | 'promote') => sendJson<Rollout>('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/${action}`);

export type AbAnalysis = AbJson;
export const abAnalysis = (name: string, alpha: number) => getJson<AbAnalysis>(`/api/v1/deployments/${encodeURIComponent(name)}/ab`, { alpha });
