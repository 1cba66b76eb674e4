/** modelport's deployments API and the Prometheus exposition at /metrics. */
import { fetchRaw, getJson, sendJson } from './http';

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

export interface RolloutSide {
  requests: number;
  errors: number;
  error_rate: number;
  p99_ms?: number;
  metric?: number;
  feedback?: number;
}
export interface Rollout {
  id: string;
  state: string;
  canary: { model: string; version?: number; alias?: string };
  primary: { name: string; model: string; version?: number; alias?: string };
  steps: number[];
  step: number;
  weight: number;
  step_started_ms: number;
  min_step_seconds: number;
  min_requests: number;
  gates: { max_error_rate_increase: number; max_p99_ratio: number; p99_slack_ms: number; metric?: string; max_metric_drop: number; min_feedback: number };
  reason?: string;
  last?: { at_ms: number; step: number; canary: RolloutSide; primary: RolloutSide; gates: { gate: string; passed: boolean; detail: string }[]; waiting?: string };
  events: { at_ms: number; what: string }[];
}
export const getRollout = async (name: string) => (await getJson<{ rollout: Rollout | null }>(`/api/v1/deployments/${encodeURIComponent(name)}/rollout`)).rollout;
export const rolloutAction = (name: string, action: 'pause' | 'resume' | 'abort' | 'promote') => sendJson<Rollout>('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/${action}`);

export interface AbComparison {
  variant: string;
  control: string;
  test: string;
  diff: number;
  relative?: number;
  p_value: number;
  ci: [number, number];
  sequential_p_value: number;
  significant: boolean;
}
export interface AbAnalysis {
  kind: string;
  alpha: number;
  from_ms: number;
  to_ms: number;
  sample_size?: { mde: number; per_arm: number };
  arms: { variant: string; n: number; mean: number; variance: number }[];
  comparisons: AbComparison[];
}
export const abAnalysis = (name: string, alpha: number) => getJson<AbAnalysis>(`/api/v1/deployments/${encodeURIComponent(name)}/ab`, { alpha });
