/**
 * Per deployment and version counters in the shape of Triton's statistics extension
 * (`GET /v2/models/stats`): successes and failures with their total time, queue waits, model
 * calls by batch size. Plain numbers on this replica, kept beside the Prometheus metrics
 * because Triton users script against these field names.
 */

interface Duration {
  count: number;
  ns: number;
}

export interface VersionStats {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', Duration>;
  batch_stats: { batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[];
  memory_usage: unknown[];
}

const zero = (): Duration => ({ count: 0, ns: 0 });

/** One version's counters: callers on the hot path keep theirs (from `touch`) instead of looking it up per request. */
export class Counters {
  lastInference = 0;
  inferences = 0;
  executions = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly infer = zero();
  readonly bySize = new Map<number, Duration>();
}

export class InferenceStats {
  private readonly versions = new Map<string, Map<string, Counters>>();

  /** The counters of a version, made (at zero) on first use. */
  touch(deployment: string, version: string): Counters {
    let byVersion = this.versions.get(deployment);
    if (!byVersion) this.versions.set(deployment, (byVersion = new Map()));
    let c = byVersion.get(version);
    if (!c) byVersion.set(version, (c = new Counters()));
    return c;
  }

  /** One answered request of a known deployment and version (`c` from `touch`). */
  answered(c: Counters, ok: boolean, seconds: number, now = Date.now()): void {
    const d = ok ? c.success : c.fail;
    d.count++;
    d.ns += Math.round(seconds * 1e9);
    if (ok) c.lastInference = now;
  }

  queued(c: Counters, seconds: number): void {
    const q = c.queue;
    q.count++;
    q.ns += Math.round(seconds * 1e9);
  }

  /** One model call of `rows` rows that took `ms`. */
  executed(c: Counters, rows: number, ms: number): void {
    const ns = Math.round(ms * 1e6);
    c.executions++;
    c.inferences += rows;
    c.infer.count += rows;
    c.infer.ns += ns;
    let size = c.bySize.get(rows);
    if (!size) c.bySize.set(rows, (size = zero()));
    size.count++;
    size.ns += ns;
  }

  /** Triton's `model_stats` entries: every deployment, or one, or one version of one. */
  report(deployment?: string, version?: string): VersionStats[] {
    const out: VersionStats[] = [];
    for (const [name, byVersion] of this.versions) {
      if (deployment !== undefined && name !== deployment) continue;
      for (const [v, c] of byVersion) {
        if (version !== undefined && v !== version) continue;
        out.push({
          name,
          version: v,
          last_inference: c.lastInference,
          inference_count: c.inferences,
          execution_count: c.executions,
          inference_stats: { success: { ...c.success }, fail: { ...c.fail }, queue: { ...c.queue }, compute_input: zero(), compute_infer: { ...c.infer }, compute_output: zero(), cache_hit: zero(), cache_miss: zero() },
          batch_stats: [...c.bySize].sort((a, b) => a[0] - b[0]).map(([size, d]) => ({ batch_size: size, compute_input: { count: d.count, ns: 0 }, compute_infer: { ...d }, compute_output: { count: d.count, ns: 0 } })),
          memory_usage: [],
        });
      }
    }
    return out;
  }
}
