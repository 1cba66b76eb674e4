/** modelport's deployments API and the Prometheus exposition at /metrics. */
import { fetchRaw, getJson } from './http';

export interface Variant {
  name: string;
  model: string;
  version?: number;
  alias?: string;
  weight: number;
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
