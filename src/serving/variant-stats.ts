/**
 * What each variant of a deployment did since its window was last reset: requests answered,
 * requests failed by the variant (its model threw or timed out), and the latest latencies for a
 * p99. The rollouts controller resets a deployment's window when a step begins and compares
 * canary with primary over it. Counted on the request path, so a few numbers per request only.
 */
const LATENCIES = 4096;

export class VariantWindow {
  requests = 0;
  errors = 0;
  private readonly latencies = new Float64Array(LATENCIES);
  private filled = 0;
  private next = 0;

  answered(ms: number): void {
    this.requests++;
    this.latencies[this.next] = ms;
    this.next = (this.next + 1) % LATENCIES;
    if (this.filled < LATENCIES) this.filled++;
  }

  failed(): void {
    this.requests++;
    this.errors++;
  }

  /** The 99th percentile of the latest answered requests' latencies (ms); undefined before any. */
  p99(): number | undefined {
    if (this.filled === 0) return undefined;
    const sorted = this.latencies.slice(0, this.filled).sort();
    return sorted[Math.min(this.filled - 1, Math.ceil(0.99 * this.filled) - 1)];
  }
}

export interface VariantWindowView {
  variant: string;
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms?: number;
}

/**
 * The windows of every deployment on this replica. A reset starts a new epoch, named by whoever
 * reset it, so that windows reported by several replicas are summed only when they began at the
 * same reset.
 */
export class VariantStats {
  private readonly windows = new Map<string, Map<string, VariantWindow>>();
  private readonly epochs = new Map<string, string>();

  of(deployment: string, variant: string): VariantWindow {
    let byVariant = this.windows.get(deployment);
    if (!byVariant) this.windows.set(deployment, (byVariant = new Map()));
    let w = byVariant.get(variant);
    if (!w) byVariant.set(variant, (w = new VariantWindow()));
    return w;
  }

  reset(deployment: string, epoch = ''): void {
    this.windows.delete(deployment);
    this.epochs.set(deployment, epoch);
  }

  epoch(deployment: string): string {
    return this.epochs.get(deployment) ?? '';
  }

  /** Every deployment's windows with their epochs (what a replica's heartbeat carries). */
  report(): Record<string, { epoch: string; windows: VariantWindowView[] }> {
    return Object.fromEntries([...this.windows.keys()].map((d) => [d, { epoch: this.epoch(d), windows: this.view(d) }]));
  }

  view(deployment: string): VariantWindowView[] {
    return [...(this.windows.get(deployment) ?? new Map<string, VariantWindow>())].map(([variant, w]) => ({
      variant,
      requests: w.requests,
      errors: w.errors,
      errorRate: w.requests > 0 ? w.errors / w.requests : 0,
      p99Ms: w.p99(),
    }));
  }
}

/**
 * Windows of several replicas as one: counts add up; the p99 is the largest replica's p99
 * (percentiles do not add, and the worst replica is what a gate must not miss).
 */
export function sumWindows(parts: readonly VariantWindowView[][]): VariantWindowView[] {
  const out = new Map<string, VariantWindowView>();
  for (const w of parts.flat()) {
    const o = out.get(w.variant) ?? { variant: w.variant, requests: 0, errors: 0, errorRate: 0 };
    o.requests += w.requests;
    o.errors += w.errors;
    o.errorRate = o.requests > 0 ? o.errors / o.requests : 0;
    if (w.p99Ms !== undefined) o.p99Ms = Math.max(o.p99Ms ?? 0, w.p99Ms);
    out.set(w.variant, o);
  }
  return [...out.values()];
}
