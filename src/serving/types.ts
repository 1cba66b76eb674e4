/**
 * What a deployment is: a name that clients call, one or more variants (a registered model
 * followed by version or by alias), and the knobs of its request path (dynamic batching,
 * response cache, rate limit). Live variants share traffic by weight (traffic.ts); a shadow
 * variant gets copies of requests off the request path.
 */
import type { Batch } from '../models/index.js';
import type { OnnxEngine } from '../models/predictor.js';

export interface VariantSpec {
  /** Unique within the deployment; "primary" when not given. */
  name: string;
  /** Registered model name. */
  model: string;
  /** Pinned version (static) ... */
  version?: number;
  /** ... or an alias to follow (dynamic: the variant moves when the alias moves). */
  alias?: string;
  /** Share of traffic, 0..100 (whole numbers; the live variants' weights sum to 100). */
  weight: number;
  /** A shadow answers copies of requests, compared with the variant that answered; never the caller. */
  shadow?: boolean;
  /** A shadow's share of requests copied to it, 1..100. */
  mirror?: number;
}

/** Which key a request's variant is chosen by: the input field when it has one, else the header, else the request id. */
export interface RoutingConfig {
  /** Request header holding a user id (lower case). */
  header: string;
  /** Input column whose first row's value is the key. */
  inputField?: string;
  /** The variant that answers while the chosen one's circuit breaker is open (default: the first other live variant). */
  fallback?: string;
  /** Consecutive failures that open a variant's circuit breaker (with another variant to fall back to). */
  breakerFailures: number;
  /** How long an open breaker waits before a trial request (ms). */
  breakerCooldownMs: number;
  /**
   * Per variant name: how long it may take to answer (ms). Beyond that the request counts as
   * its failure and the fallback answers. Names need not exist yet ("canary" before a rollout).
   */
  timeoutsMs?: Record<string, number>;
}

export interface BatchingConfig {
  /** Rows merged into one model call at most; 1 turns batching off. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others to join, in microseconds. */
  maxQueueDelayUs: number;
  /** Requests waiting at most; beyond that a request is refused with 429 and Retry-After. */
  maxQueueSize: number;
  /** A request not answered within this many milliseconds fails with 503 (0 = no limit). */
  timeoutMs: number;
}

export interface CacheConfig {
  enabled: boolean;
  maxEntries: number;
  maxBytes: number;
  /** Entries older than this are misses (0 = no expiry). */
  ttlMs: number;
  /** Kept in Redis for every replica (when the cluster has a Redis), not in this process. */
  shared?: boolean;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Tokens added per second to each client's bucket. */
  requestsPerSecond: number;
  /** Bucket capacity: the burst a quiet client may send at once. */
  burst: number;
  /** Whose bucket a request draws from: the bearer token when there is one, else the address. */
  key: 'token' | 'address';
  /** Buckets kept in Redis, so the limit holds across every replica together. */
  shared?: boolean;
}

export interface DeploymentConfig {
  batching: BatchingConfig;
  cache: CacheConfig;
  rateLimit: RateLimitConfig;
  routing: RoutingConfig;
  /**
   * onnxruntime intra-op threads per model session. Single rows gain nothing from more than
   * one; the default keeps the second core for HTTP and JSON.
   */
  threads: number;
  /**
   * Where onnx and js models compute: 'worker' (a worker thread per loaded version, so the
   * event loop never waits on model math), 'event-loop' (no hand-over cost; for models whose
   * call takes microseconds) or 'auto' (decided per version from its measured one-row call).
   * Tree models always use their own worker pool.
   */
  executor: Executor;
  /**
   * ONNX models: 'auto' (the default) runs small dense graphs in JavaScript when they agree with
   * onnxruntime (models/onnx/engine.ts), 'onnxruntime' always runs onnxruntime.
   */
  onnxEngine?: OnnxEngine;
  /** A Redis stream the servers score into another while the deployment exists (stream/supervisor.ts). */
  stream?: StreamConfig;
}

/** A server-side stream consumer declared on a deployment; every replica joins its consumer group. */
export interface StreamConfig {
  /** redis://HOST:PORT/STREAM to read events from. */
  from: string;
  /** redis://HOST:PORT/STREAM to write predictions to. */
  to: string;
  /** Consumer group (default modelport:DEPLOYMENT). */
  group?: string;
  /** Stream for malformed events, on the input Redis (default FROM-STREAM:dead). */
  deadLetter?: string;
  /** Events per micro-batch (default 256). */
  batchSize?: number;
}

/** 'auto' measures a one-row call at load and keeps only micro-models on the event loop. */
export type Executor = 'auto' | 'worker' | 'event-loop';

export interface DeploymentSpec extends DeploymentConfig {
  name: string;
  variants: VariantSpec[];
}

export interface DeploymentRecord extends DeploymentSpec {
  createdMs: number;
  updatedMs: number;
  /** Bumped on every change; replicas compare it to what they run. */
  revision: number;
  /** The last load outcome any replica reported. */
  reported?: DeploymentStatus;
}

export type DeploymentState = 'pending' | 'loading' | 'ready' | 'failed';

/** What this replica serves for one variant. */
export interface VariantStatus {
  name: string;
  model: string;
  /** The version answering requests, if any. */
  servingVersion?: number;
  /** Where the serving version computes: a worker thread, the event loop, the tree worker pool. */
  runsOn?: 'worker' | 'event-loop' | 'tree-pool';
  /** An ONNX serving version's engine: 'js' (small batches in JavaScript) or 'onnxruntime'. */
  engine?: string;
  /** When the serving version began to answer here (ms since the epoch). */
  servingSinceMs?: number;
  /** How long this replica took to resolve, fetch, load and warm the serving version once it acted on the change (ms). */
  loadMs?: number;
  /** The version being loaded (hot swap in progress). */
  loadingVersion?: number;
  state: DeploymentState;
  /** Why the last load failed (the previous version keeps serving). */
  message?: string;
}

export interface DeploymentStatus {
  state: DeploymentState;
  message?: string;
  variants: VariantStatus[];
}

export interface Deployment extends DeploymentRecord {
  status: DeploymentStatus;
}

export const DEFAULT_CONFIG: DeploymentConfig = {
  // Batching on with no added delay: the requests of one event-loop turn share a model call, so a
  // lone request waits for nothing and concurrent ones cost far less CPU each.
  batching: { maxBatchSize: 64, maxQueueDelayUs: 0, maxQueueSize: 1024, timeoutMs: 30_000 },
  cache: { enabled: false, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 0 },
  rateLimit: { enabled: false, requestsPerSecond: 100, burst: 200, key: 'token' },
  routing: { header: 'x-user-id', breakerFailures: 5, breakerCooldownMs: 30_000 },
  threads: 1,
  executor: 'auto',
};

/** What serving hands to monitoring for every answered prediction request. */
export interface PredictionRecord {
  /** The request id (x-request-id); feedback refers to predictions by it. */
  requestId: string;
  deployment: string;
  /** Registered model name and version that answered. */
  model: string;
  version: number;
  /** Deployment variant (e.g. "primary", "canary"). */
  variant: string;
  /** The key the variant was chosen by (user id, input field value or request id). */
  key?: string;
  /** The decoded request; one logged row per batch row. */
  inputs: Batch;
  /** The model's answer, same row count as `inputs`. */
  outputs: Batch;
  /** Time from request decoded to answer ready. */
  latencyMs: number;
  /** When the request arrived, epoch milliseconds. */
  timeMs: number;
}

/**
 * Where answered predictions go (the monitoring prediction log implements it). `record` runs on
 * the request path: it must be synchronous, cheap and never throw.
 */
export interface PredictionTap {
  record(entry: PredictionRecord): void;
  /**
   * `record` in two steps, for a tap that samples: whether it keeps the next entry of
   * `deployment`, decided (and a random share drawn) exactly as `record` would; then `keep`, for
   * an entry it said yes to, without deciding again. Serving then builds no entry every tap
   * would drop. Both or neither; the same rules as `record`.
   */
  sample?(deployment: string): boolean;
  keep?(entry: PredictionRecord): void;
}

/** A partial configuration as given by a user; missing fields keep their current or default value. */
export interface DeploymentConfigPatch {
  batching?: Partial<BatchingConfig>;
  cache?: Partial<CacheConfig>;
  rateLimit?: Partial<RateLimitConfig>;
  routing?: Partial<RoutingConfig>;
  threads?: number;
  executor?: Executor;
  onnxEngine?: OnnxEngine;
  /** null removes the consumer. */
  stream?: StreamConfig | null;
}
