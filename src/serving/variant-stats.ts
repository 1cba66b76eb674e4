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

/** The windows of every deployment on this replica. */
export class VariantStats {
  private readonly windows = new Map<string, Map<string, VariantWindow>>();

  of(deployment: string, variant: string): VariantWindow {
    let byVariant = this.windows.get(deployment);
    if (!byVariant) this.windows.set(deployment, (byVariant = new Map()));
    let w = byVariant.get(variant);
    if (!w) byVariant.set(variant, (w = new VariantWindow()));
    return w;
  }

  reset(deployment: string): void {
    this.windows.delete(deployment);
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
