/**
 * Live serving numbers from successive scrapes of /metrics: requests and errors per second and
 * latency percentiles over the interval between two scrapes (as Prometheus' rate() and
 * histogram_quantile() compute them).
 */
import type { Sample } from './api/serving';

export interface Scrape {
  at: number;
  samples: Sample[];
}

/** Traffic over one interval between scrapes, for a deployment or one of its variants. */
export interface Rates {
  requestsPerSecond: number;
  errorsPerSecond: number;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
}

export interface LiveNumbers extends Rates {
  at: number;
  byVariant: Record<string, Rates>;
}

const sum = (samples: Sample[], name: string, where: (l: Record<string, string>) => boolean) =>
  samples.filter((s) => s.name === name && where(s.labels)).reduce((n, s) => n + s.value, 0);

/** The q-quantile of the observations between two cumulative bucket sets, interpolated in its bucket. */
export function quantile(q: number, buckets: { le: number; count: number }[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

type Where = (l: Record<string, string>) => boolean;

export function liveNumbers(deployment: string, before: Scrape, after: Scrape): LiveNumbers {
  const seconds = Math.max(1e-3, (after.at - before.at) / 1000);
  const mine: Where = (l) => l.deployment === deployment;
  const delta = (name: string, where: Where) => Math.max(0, sum(after.samples, name, where) - sum(before.samples, name, where));
  const rates = (where: Where): Rates => {
    const les = new Set(after.samples.filter((s) => s.name === 'modelport_request_duration_seconds_bucket' && where(s.labels)).map((s) => s.labels.le));
    const buckets = [...les].map((le) => ({
      le: le === '+Inf' ? Infinity : Number(le),
      count: delta('modelport_request_duration_seconds_bucket', (l) => where(l) && l.le === le),
    }));
    const ms = (q: number) => {
      const v = quantile(q, buckets);
      return v === undefined ? undefined : v * 1000;
    };
    return {
      requestsPerSecond: delta('modelport_requests_total', where) / seconds,
      errorsPerSecond: delta('modelport_requests_total', (l) => where(l) && Number(l.code) >= 400) / seconds,
      p50Ms: ms(0.5),
      p95Ms: ms(0.95),
      p99Ms: ms(0.99),
    };
  };
  const variants = new Set(after.samples.filter((s) => s.name === 'modelport_requests_total' && mine(s.labels) && s.labels.variant).map((s) => s.labels.variant));
  return {
    at: after.at,
    ...rates(mine),
    byVariant: Object.fromEntries([...variants].map((v) => [v, rates((l) => mine(l) && l.variant === v)])),
  };
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
