/**
 * Serving's Prometheus metrics, in a registry of their own per service (so two platforms in one
 * process, as in tests, do not collide). Names follow Prometheus conventions: base units
 * (seconds, bytes), `_total` counters.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HotHistogram, type HistogramChild } from './hot-histogram.js';
import { InferenceStats, type Counters } from './inference-stats.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Requests answered under one label set: `pending` of them not yet added to the counter by a scrape. */
interface Answered {
  labels: Record<'deployment' | 'version' | 'variant' | 'protocol' | 'code', string>;
  code: number;
  pending: number;
  time: HistogramChild;
  /** The Triton statistics of a known deployment and version; undefined when either label is empty. */
  stats: Counters | undefined;
}

export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'deployment' | 'version' | 'variant' | 'protocol' | 'code'>;
  readonly duration: HotHistogram<'deployment' | 'variant' | 'protocol'>;
  readonly queueWait: HotHistogram<'deployment'>;
  readonly batchSize: HotHistogram<'deployment'>;
  readonly inFlight: Gauge<'deployment'>;
  readonly loadSeconds: Gauge<'deployment' | 'model' | 'version'>;
  readonly cacheHits: Counter<'deployment'>;
  readonly cacheMisses: Counter<'deployment'>;
  readonly rateLimited: Counter<'deployment'>;
  readonly loadFailures: Counter<'deployment'>;
  readonly shadowRequests: Counter<'deployment' | 'variant' | 'outcome'>;
  readonly fallbacks: Counter<'deployment' | 'variant' | 'fallback'>;
  readonly timeouts: Counter<'deployment' | 'variant'>;
  readonly breakerState: Gauge<'deployment' | 'variant'>;
  /** Set by the service: each variant's circuit-breaker state, read at scrape time. */
  breakerStates: () => { deployment: string; variant: string; state: string }[] = () => [];

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: 'modelport_' });
      // prom-client names these gauges `_total`, which promtool rejects for non-counters.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(`modelport_${name}`);
      }
    }
    const answered = this.answered;
    this.requests = new Counter({
      name: 'modelport_requests_total',
      help: 'Prediction requests answered, by deployment, model version, variant, protocol and HTTP status code.',
      labelNames: ['deployment', 'version', 'variant', 'protocol', 'code'],
      registers,
      // Requests are counted in plain numbers on the hot path and added here, at scrape time.
      collect() {
        for (const a of answered.values()) {
          if (a.pending === 0) continue;
          this.inc(a.labels, a.pending);
          a.pending = 0;
        }
      },
    });
    this.duration = new HotHistogram({
      name: 'modelport_request_duration_seconds',
      help: 'Time from a prediction request decoded to its answer encoded.',
      labelNames: ['deployment', 'variant', 'protocol'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.queueWait = new HotHistogram({
      name: 'modelport_queue_wait_seconds',
      help: 'Time a request waited in the dynamic batcher before its model call started.',
      labelNames: ['deployment'],
      buckets: [0.00005, 0.0001, 0.00025, ...LATENCY_BUCKETS],
      registers,
    });
    this.batchSize = new HotHistogram({
      name: 'modelport_batch_size_rows',
      help: 'Rows in each model call.',
      labelNames: ['deployment'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    const inFlight = this.inFlightCounts;
    this.inFlight = new Gauge({
      name: 'modelport_requests_in_flight',
      help: 'Prediction requests being decoded, queued, computed or encoded.',
      labelNames: ['deployment'],
      registers,
      collect() {
        for (const [deployment, g] of inFlight) this.set({ deployment }, g.value);
      },
    });
    this.loadSeconds = new Gauge({
      name: 'modelport_model_load_seconds',
      help: 'Seconds the last load (fetch, load and warm-up) of a model version took.',
      labelNames: ['deployment', 'model', 'version'],
      registers,
    });
    this.loadFailures = new Counter({
      name: 'modelport_model_load_failures_total',
      help: 'Model versions that failed to load; the previous version kept serving.',
      labelNames: ['deployment'],
      registers,
    });
    this.shadowRequests = new Counter({
      name: 'modelport_shadow_requests_total',
      help: 'Copies of requests answered by shadow variants, by outcome (ok, error); never seen by callers.',
      labelNames: ['deployment', 'variant', 'outcome'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'modelport_fallback_requests_total',
      help: "Requests answered by the fallback variant while the chosen variant's circuit breaker was open or after it exceeded its timeout.",
      labelNames: ['deployment', 'variant', 'fallback'],
      registers,
    });
    this.timeouts = new Counter({
      name: 'modelport_variant_timeouts_total',
      help: "Requests a variant did not answer within its timeout (routing.timeouts_ms); each counts as a failure for the variant's circuit breaker.",
      labelNames: ['deployment', 'variant'],
      registers,
    });
    const states = () => this.breakerStates();
    this.breakerState = new Gauge({
      name: 'modelport_circuit_breaker_state',
      help: "Each variant's circuit breaker on this replica: 0 closed, 1 open, 2 half-open.",
      labelNames: ['deployment', 'variant'],
      registers,
      collect() {
        this.reset();
        for (const s of states()) this.set({ deployment: s.deployment, variant: s.variant }, s.state === 'closed' ? 0 : s.state === 'open' ? 1 : 2);
      },
    });
    this.cacheHits = new Counter({ name: 'modelport_cache_hits_total', help: 'Response cache hits.', labelNames: ['deployment'], registers });
    this.cacheMisses = new Counter({ name: 'modelport_cache_misses_total', help: 'Response cache misses.', labelNames: ['deployment'], registers });
    this.rateLimited = new Counter({
      name: 'modelport_rate_limited_total',
      help: 'Requests refused by a deployment rate limit.',
      labelNames: ['deployment'],
      registers,
    });
  }

  private readonly answered = new Map<string, Answered>();
  /** The label set counted last: most answers repeat it, and comparing it costs less than joining and hashing a key. */
  private lastAnswered: Answered | undefined;

  /** One answered prediction request; a label set is hashed once, so the hot path joins one string. */
  countRequest(deployment: string, version: string, variant: string, protocol: string, code: number, seconds: number): void {
    let a = this.lastAnswered;
    if (a === undefined || a.code !== code || a.labels.deployment !== deployment || a.labels.version !== version || a.labels.variant !== variant || a.labels.protocol !== protocol) {
      const key = `${deployment}\0${version}\0${variant}\0${protocol}\0${code}`;
      a = this.answered.get(key);
      if (!a) {
        const stats = deployment !== '' && version !== '' ? this.inference.touch(deployment, version) : undefined;
        a = { labels: { deployment, version, variant, protocol, code: String(code) }, code, pending: 0, time: this.duration.labels({ deployment, variant, protocol }), stats };
        this.answered.set(key, a);
      }
      this.lastAnswered = a;
    }
    a.pending++;
    a.time.observe(seconds);
    if (a.stats) this.inference.answered(a.stats, code < 400, seconds);
  }

  /** Triton-style statistics (the V2 statistics extension). */
  readonly inference = new InferenceStats();

  private readonly inFlightCounts = new Map<string, { value: number; inc(): void; dec(): void }>();

  /** The in-flight gauge of one deployment. */
  inFlightOf(deployment: string): { inc(): void; dec(): void } {
    let g = this.inFlightCounts.get(deployment);
    if (!g) {
      g = {
        value: 0,
        inc() {
          this.value++;
        },
        dec() {
          this.value--;
        },
      };
      this.inFlightCounts.set(deployment, g);
    }
    return g;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
