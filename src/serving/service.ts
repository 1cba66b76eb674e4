/**
 * The serving service: deployments persisted in the metadata store, and on each replica the
 * loaded model versions that answer for them. A replica follows the store (a generation
 * counter it polls) and the registry (alias moves), and swaps versions without dropping a
 * request: the new version is loaded and warmed, traffic moves, the old one drains, then it is
 * unloaded. A failed load leaves the old version serving and says why in the status.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument, isModelportError, ModelportError, notFound, unavailable } from '../core/errors.js';
import type { Batch } from '../models/index.js';
import type { InputHook } from './input-hook.js';
import type { MetadataStore } from '../storage/metadata.js';
import { cacheKey, ResponseCache } from './cache.js';
import { ServingMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { LoadedVersion, loadSettings, loadVersion } from './runtime.js';
import { prepareSpareWorker } from './worker-predictor.js';
import { describeRef, type ModelSource } from './source.js';
import { DeploymentStore, type Change, type Revision } from './store.js';
import { sumWindows, VariantStats, type VariantWindowView } from './variant-stats.js';
import type { Cluster, ClusterMessage } from '../cluster/index.js';
import { SharedRateLimiter, SharedResponseCache } from './shared-state.js';
import { timeOrderedId } from '../core/ids.js';
import { CircuitBreaker } from './breaker.js';
import { ShadowComparison, type ShadowView } from './shadow.js';
import { redactorFor, type Redactor } from './pii.js';
import { checkStreamConfig } from './stream/config.js';
import { assign, bucketOf, BUCKETS, checkVariants, splitOf, VARIANT_NAME, type Split } from './traffic.js';
import {
  DEFAULT_CONFIG,
  type Deployment,
  type DeploymentConfig,
  type DeploymentConfigPatch,
  type DeploymentRecord,
  type DeploymentSpec,
  type DeploymentStatus,
  type PredictionTap,
  type RoutingConfig,
  type StreamConfig,
  type VariantSpec,
  type VariantStatus,
} from './types.js';

/** A variant as a user gives it (checked and resolved before it is stored). */
export type VariantInput = VariantSpec;

export interface DeployInput {
  /** Deployment name; defaults to the model name. */
  name?: string;
  /** One variant taking all traffic ... */
  model?: string;
  version?: number;
  alias?: string;
  /** ... or several sharing it by weight. */
  variants?: VariantInput[];
  config?: DeploymentConfigPatch;
}

/** Who changes a deployment and why, recorded with the revision the change makes. */
export interface ChangeInput {
  actor?: string;
  reason?: string;
}

export interface UpdateInput {
  model?: string;
  version?: number;
  alias?: string;
  /** Replaces every variant. */
  variants?: VariantInput[];
  config?: DeploymentConfigPatch;
}

/** One replica's state of one deployment, as its heartbeat reported it. */
export interface ReplicaDeploymentState {
  replica: string;
  host: string;
  heartbeatMs: number;
  /** pending | loading | ready | failed, or absent when the replica does not hold the deployment. */
  state: string;
  revision?: number;
  message?: string;
  variants: { name: string; state: string; servingVersion?: number; servingSinceMs?: number; loadMs?: number; loadingVersion?: number }[];
}

interface ReplicaServingReport {
  deployments: Record<string, { revision: number; state: string; message?: string; variants: VariantStatus[]; windows?: { epoch: string; windows: VariantWindowView[] } }>;
}

export interface ServingOptions {
  /** How often a replica checks the store for changes made elsewhere (ms). */
  pollMs?: number;
  /** Add Node process metrics (CPU, memory, event-loop lag) to /metrics. */
  processMetrics?: boolean;
  /**
   * The key PII columns are hashed under before prediction taps see them (see pii.ts); without
   * one a random key per process is used, so hashes do not match across restarts.
   */
  piiKey?: Buffer;
}

/** What one prediction request runs against. */
export interface Target {
  deployment: string;
  variant: string;
  version: LoadedVersion;
  /** The version the client asked for, if it named one. */
  requested?: number;
  /** The key the variant was chosen by. */
  key?: string;
}

class VariantRuntime {
  current: LoadedVersion | undefined;
  servingSinceMs: number | undefined;
  loadMs: number | undefined;
  loadingVersion: number | undefined;
  failure: string | undefined;
  breaker: CircuitBreaker;

  constructor(
    public spec: VariantSpec,
    routing: RoutingConfig,
    clock: Clock,
  ) {
    this.breaker = new CircuitBreaker({ failures: routing.breakerFailures, cooldownMs: routing.breakerCooldownMs }, clock);
  }

  status(): VariantStatus {
    const state = this.current ? 'ready' : this.loadingVersion !== undefined ? 'loading' : this.failure ? 'failed' : 'pending';
    return {
      name: this.spec.name,
      model: this.spec.model,
      servingVersion: this.current?.version,
      servingSinceMs: this.current ? this.servingSinceMs : undefined,
      loadMs: this.current ? this.loadMs : undefined,
      runsOn: this.current?.runsOn,
      engine: this.current?.predictor.metadata.engine as string | undefined,
      loadingVersion: this.loadingVersion,
      state,
      message: this.failure,
    };
  }
}

class DeploymentRuntime {
  variants = new Map<string, VariantRuntime>();
  cache: ResponseCache | SharedResponseCache | undefined;
  limiter: RateLimiter | SharedRateLimiter | undefined;
  split: Split;
  /** Per shadow variant: how its answers compare with the answering variant's. */
  shadows = new Map<string, ShadowComparison>();
  /** Changes to one deployment apply one at a time, in order. */
  chain: Promise<void> = Promise.resolve();

  constructor(public record: DeploymentRecord) {
    this.split = splitOf(record.variants);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `work`'s result, or undefined when it takes longer than `ms` (real time: a request's latency, not the clock port's). */
function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function configOf(spec: DeploymentConfig): DeploymentConfig {
  return {
    batching: spec.batching,
    cache: spec.cache,
    rateLimit: spec.rateLimit,
    routing: spec.routing ?? DEFAULT_CONFIG.routing,
    threads: spec.threads,
    executor: spec.executor ?? DEFAULT_CONFIG.executor,
    ...(spec.onnxEngine ? { onnxEngine: spec.onnxEngine } : {}),
    ...(spec.stream ? { stream: spec.stream } : {}),
  };
}

/** Applies a user's partial configuration over `base`, checking every number. */
export function mergeConfig(base: DeploymentConfig, patch: DeploymentConfigPatch = {}): DeploymentConfig {
  const out: DeploymentConfig = {
    batching: { ...base.batching, ...patch.batching },
    cache: { ...base.cache, ...patch.cache },
    rateLimit: { ...base.rateLimit, ...patch.rateLimit },
    routing: { ...DEFAULT_CONFIG.routing, ...base.routing, ...patch.routing },
    threads: patch.threads ?? base.threads,
    executor: patch.executor ?? base.executor,
  };
  const onnxEngine = patch.onnxEngine ?? base.onnxEngine;
  if (onnxEngine) out.onnxEngine = onnxEngine;
  const stream = patch.stream === null ? undefined : (patch.stream ?? base.stream);
  if (stream) out.stream = checkStreamConfig(stream);
  const int = (v: number, field: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw invalidArgument(`${field}: ${v} must be a whole number in ${min}..${max}`);
  };
  int(out.batching.maxBatchSize, 'batching.max_batch_size', 1, 65_536);
  int(out.batching.maxQueueDelayUs, 'batching.max_queue_delay_us', 0, 10_000_000);
  int(out.batching.maxQueueSize, 'batching.max_queue_size', 1, 1_000_000);
  int(out.batching.timeoutMs, 'batching.timeout_ms', 0, 3_600_000);
  int(out.cache.maxEntries, 'cache.max_entries', 1, 10_000_000);
  int(out.cache.maxBytes, 'cache.max_bytes', 1024, 2 ** 40);
  int(out.cache.ttlMs, 'cache.ttl_ms', 0, 365 * 86_400_000);
  int(out.threads, 'threads', 1, 256);
  if (!['auto', 'worker', 'event-loop'].includes(out.executor)) throw invalidArgument(`executor: "${out.executor}" must be auto, worker or event-loop`);
  if (onnxEngine && !['auto', 'onnxruntime'].includes(onnxEngine)) throw invalidArgument(`onnx_engine: "${onnxEngine}" must be auto or onnxruntime`);
  if (!(out.rateLimit.requestsPerSecond > 0)) throw invalidArgument(`rate_limit.requests_per_second: ${out.rateLimit.requestsPerSecond} must be positive`);
  int(out.rateLimit.burst, 'rate_limit.burst', 1, 1_000_000);
  if (out.rateLimit.key !== 'token' && out.rateLimit.key !== 'address') throw invalidArgument(`rate_limit.key: "${out.rateLimit.key}" must be "token" or "address"`);
  out.routing.header = out.routing.header.toLowerCase();
  if (!/^[a-z0-9-]{1,64}$/.test(out.routing.header)) throw invalidArgument(`routing.header: "${out.routing.header}" is not an HTTP header name`);
  if (out.routing.inputField !== undefined && !/^.{1,256}$/.test(out.routing.inputField)) throw invalidArgument('routing.input_field: must be 1-256 characters');
  int(out.routing.breakerFailures, 'routing.breaker_failures', 1, 1_000_000);
  int(out.routing.breakerCooldownMs, 'routing.breaker_cooldown_ms', 0, 86_400_000);
  for (const [variant, ms] of Object.entries(out.routing.timeoutsMs ?? {})) {
    if (!VARIANT_NAME.test(variant)) throw invalidArgument(`routing.timeouts_ms: "${variant}" is not a variant name`);
    int(ms, `routing.timeouts_ms.${variant}`, 1, 3_600_000);
  }
  return out;
}

function variantFrom(input: { model?: string; version?: number; alias?: string }, at = ''): VariantSpec {
  if (!input.model) throw invalidArgument(`${at}model: a registered model name is required`);
  if (input.version !== undefined && input.alias !== undefined) throw invalidArgument(`${at}version, ${at}alias: give one of them, not both`);
  if (input.version === undefined && input.alias === undefined) throw invalidArgument(`${at}version, ${at}alias: give the version to pin or the alias to follow`);
  if (input.version !== undefined && (!Number.isInteger(input.version) || input.version < 1)) {
    throw invalidArgument(`${at}version: ${input.version} is not a model version (whole number from 1)`);
  }
  if (input.alias !== undefined && !/^[A-Za-z0-9_-]{1,255}$/.test(input.alias)) throw invalidArgument(`${at}alias: "${input.alias}" is not a valid alias`);
  return { name: 'primary', model: input.model, version: input.version, alias: input.alias, weight: 100 };
}

/** A user's variant list, checked: each variant well-formed, names unique, live weights summing to 100. */
function variantsFrom(inputs: readonly VariantInput[]): VariantSpec[] {
  const specs = inputs.map((v, i) => {
    const base = variantFrom(v, `variants[${i}].`);
    const spec: VariantSpec = { ...base, name: v.name, weight: v.weight };
    if (v.shadow) Object.assign(spec, { shadow: true, mirror: v.mirror, weight: 0 });
    return spec;
  });
  checkVariants(specs);
  return specs;
}

function checkFallback(spec: DeploymentSpec): void {
  const fallback = spec.routing.fallback;
  if (fallback !== undefined && !spec.variants.some((v) => v.name === fallback && !v.shadow)) {
    throw invalidArgument(`routing.fallback: "${fallback}" is not a variant taking traffic (there are ${spec.variants.filter((v) => !v.shadow).map((v) => v.name).join(', ')})`);
  }
}

function changeOf(change: ChangeInput, what: string): Change {
  const reason = change.reason?.trim();
  return { actor: change.actor?.trim() || 'anonymous', reason: reason ? (what.startsWith('rollback') ? `${what}: ${reason}` : reason) : what };
}

export class ServingService {
  readonly metrics: ServingMetrics;
  /** Rewrites requests of deployments that look their inputs up (the feature store sets it). */
  inputHook: InputHook | undefined;
  /** Per-variant requests, failures and latencies since a deployment's window was reset (rollout gates). */
  readonly windows = new VariantStats();
  private readonly store: DeploymentStore;
  private readonly runtimes = new Map<string, DeploymentRuntime>();
  private generation = -1;
  private pollTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private unsubscribe: () => void;
  private readonly taps: PredictionTap[] = [];
  /** Which taps keep the entry being offered: reused, not an array per request. */
  private readonly tapKeeps: boolean[] = [];
  private cluster: Cluster | undefined;
  /** A change was announced during a refresh: another pass follows it. */
  private stale = false;
  /** Counts reads of the store; `fresh` holds, per deployment, the count when this replica last applied or deleted it outside a refresh. */
  private reads = 0;
  private readonly fresh = new Map<string, number>();
  /** A pass over the store has finished (until then a started replica does not know what is deployed). */
  private passed = false;

  private readonly redactors = new WeakMap<LoadedVersion, Redactor | null>();
  private readonly piiKey: Buffer;

  constructor(
    metadata: MetadataStore,
    private readonly source: ModelSource,
    private readonly clock: Clock,
    private readonly options: ServingOptions = {},
  ) {
    this.piiKey = options.piiKey ?? randomBytes(32);
    this.store = new DeploymentStore(metadata);
    this.metrics = new ServingMetrics({ processMetrics: options.processMetrics });
    this.metrics.breakerStates = () => this.breakerStates();
    const offAlias = source.onAliasMoved((move) => {
      this.followAlias(move.model, move.alias);
      this.announce({ type: 'alias', model: move.model, alias: move.alias });
    });
    const offVersion = source.onVersionReady((model, version) => {
      this.prefetch(model, version);
      this.announce({ type: 'version', model, version });
    });
    this.unsubscribe = () => {
      offAlias();
      offVersion();
    };
    source.addDeletionGuard(async (model, version) => this.deletionRefusal(model, version));
  }

  private followAlias(model: string, alias: string): void {
    for (const rt of this.runtimes.values()) {
      for (const v of rt.variants.values()) {
        if (v.spec.model === model && v.spec.alias === alias) this.enqueue(rt, () => this.syncVariant(rt, v));
      }
    }
  }

  /**
   * Fetches a new version's files when a deployment here follows an alias of its model, so a
   * move of that alias waits only for the load, not the download.
   */
  private prefetch(model: string, version: number): void {
    const following = [...this.runtimes.values()].some((rt) => [...rt.variants.values()].some((v) => v.spec.model === model && v.spec.alias !== undefined));
    if (following) void this.source.prefetch(model, version).catch(() => undefined);
  }

  /**
   * Joins the cluster: changes made here are announced on its bus, changes announced by other
   * replicas are applied within milliseconds (the store poll stays as the safety net for
   * messages missed while disconnected), every heartbeat carries this replica's deployments,
   * and deployments that ask for it share their cache and rate-limit buckets through Redis.
   */
  attachCluster(cluster: Cluster): void {
    this.cluster = cluster;
    const off = cluster.bus.subscribe((m) => this.hear(m));
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = () => {
      off();
      unsubscribe();
    };
    cluster.addReporter('serving', () => this.replicaReport());
  }

  private hear(m: ClusterMessage): void {
    if (this.closed || m.origin === this.cluster?.replicaId) return;
    if (m.type === 'deployment' && this.pollTimer) {
      if (this.refreshing) this.stale = true;
      else void this.refresh().catch(() => undefined);
    }
    else if (m.type === 'reload' && this.pollTimer) void this.resync(m.deployment).catch(() => undefined);
    else if (m.type === 'alias') this.followAlias(m.model, m.alias);
    else if (m.type === 'version') this.prefetch(m.model, m.version);
    else if (m.type === 'windows.reset' && this.windows.epoch(m.deployment) !== m.epoch) this.windows.reset(m.deployment, m.epoch);
  }

  private announce(message: ClusterMessage): void {
    if (this.cluster) void this.cluster.bus.publish({ ...message, origin: this.cluster.replicaId }).catch(() => undefined);
  }

  /** What this replica serves, per deployment, with its request windows (its heartbeat's `serving` part). */
  private replicaReport(): ReplicaServingReport {
    const windows = this.windows.report();
    return {
      deployments: Object.fromEntries(
        [...this.runtimes].map(([name, rt]) => {
          const status = this.status(name);
          return [name, { revision: rt.record.revision, state: status.state, message: status.message, variants: status.variants, windows: windows[name] }];
        }),
      ),
    };
  }

  /** Starts a new request window of `name` on every replica (a rollout step begins). */
  resetWindows(name: string): void {
    const epoch = timeOrderedId(this.clock.now());
    this.windows.reset(name, epoch);
    this.announce({ type: 'windows.reset', deployment: name, epoch });
  }

  /** The request windows of `name` summed over every live replica that began them at the same reset. */
  async clusterWindows(name: string): Promise<VariantWindowView[]> {
    const own = this.windows.view(name);
    if (!this.cluster) return own;
    const epoch = this.windows.epoch(name);
    const others = (await this.cluster.live())
      .filter((r) => r.id !== this.cluster!.replicaId)
      .map((r) => (r.report.serving as ReplicaServingReport | undefined)?.deployments[name]?.windows)
      .filter((w): w is { epoch: string; windows: VariantWindowView[] } => w !== undefined && w.epoch === epoch)
      .map((w) => w.windows);
    return sumWindows([own, ...others]);
  }

  /** Each live replica's state of `name`, from the heartbeats (empty without a cluster). */
  async replicaStates(name: string): Promise<ReplicaDeploymentState[]> {
    if (!this.cluster) return [];
    return (await this.cluster.live()).map((r) => {
      const d = (r.report.serving as ReplicaServingReport | undefined)?.deployments[name];
      return {
        replica: r.id,
        host: r.host,
        heartbeatMs: r.heartbeatMs,
        state: d?.state ?? 'absent',
        revision: d?.revision,
        message: d?.message,
        variants: (d?.variants ?? []).map((v) => ({ name: v.name, state: v.state, servingVersion: v.servingVersion, servingSinceMs: v.servingSinceMs, loadMs: v.loadMs, loadingVersion: v.loadingVersion })),
      };
    });
  }

  /** Loads every deployment now and keeps following the store; a server calls this once listening. */
  start(): void {
    if (this.pollTimer || this.closed) return;
    void this.refresh().catch(() => undefined);
    this.pollTimer = setInterval(() => void this.poll().catch(() => undefined), this.options.pollMs ?? 1000);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const gen = await this.store.generation();
    if (gen !== this.generation) return this.refresh();
    // Aliases can move on another replica; re-resolve the deployments that follow one.
    for (const rt of this.runtimes.values()) {
      for (const v of rt.variants.values()) if (v.spec.alias !== undefined) this.enqueue(rt, () => this.syncVariant(rt, v));
    }
  }

  /** Brings this replica in line with the store: loads new deployments, applies changes, unloads deleted ones. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const mark = ++this.reads;
        for (const [name, at] of this.fresh) if (at < mark) this.fresh.delete(name);
        const gen = await this.store.generation();
        const records = await this.store.list();
        // A deployment created, changed or deleted here while the list was read is newer here than in the list.
        const newer = (name: string) => (this.fresh.get(name) ?? 0) > mark;
        const seen = new Set<string>();
        const work: Promise<void>[] = [];
        for (const record of records) {
          seen.add(record.name);
          if (!newer(record.name)) work.push(this.apply(record, false));
        }
        for (const [name, rt] of this.runtimes) if (!seen.has(name) && !newer(name)) work.push(this.remove(name, rt));
        await Promise.all(work);
        this.generation = gen;
        this.passed = true;
      } finally {
        this.refreshing = undefined;
        // A change announced while this pass was reading may not be in what it read.
        if (this.stale) {
          this.stale = false;
          void this.refresh().catch(() => undefined);
        }
      }
    })();
    return this.refreshing;
  }

  /**
   * Brings deployment `name` in line with the store and re-resolves its variants on every
   * replica, even at an unchanged revision (an artifact re-registered under the same alias,
   * say): Triton's `load` of a model already loaded.
   */
  async reload(name: string): Promise<void> {
    this.announce({ type: 'reload', deployment: name });
    await this.resync(name);
  }

  private async resync(name: string): Promise<void> {
    await this.refresh();
    const rt = this.runtimes.get(name);
    if (rt) await Promise.all([...rt.variants.values()].map((v) => this.enqueue(rt, () => this.syncVariant(rt, v))));
  }

  private enqueue(rt: DeploymentRuntime, fn: () => Promise<void>): Promise<void> {
    const next = rt.chain.then(fn, fn);
    rt.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Makes the runtime of `record` match it (no-op when it already does). `direct` is false for a
   * refresh, whose list may be older than what this replica wrote meanwhile.
   */
  private apply(record: DeploymentRecord, direct = true): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (direct) this.fresh.set(record.name, ++this.reads);
    let rt = this.runtimes.get(record.name);
    if (!rt) {
      rt = new DeploymentRuntime(record);
      this.runtimes.set(record.name, rt);
      this.configure(rt, undefined);
    } else if (rt.record.revision === record.revision && rt.variants.size > 0) {
      return rt.chain;
    }
    const runtime = rt;
    return this.enqueue(runtime, async () => {
      const before = runtime.record;
      runtime.record = record;
      this.configure(runtime, before);
      const wanted = new Set(record.variants.map((v) => v.name));
      await Promise.all(
        record.variants.map((spec) => {
          let v = runtime.variants.get(spec.name);
          if (!v) runtime.variants.set(spec.name, (v = new VariantRuntime(spec, configOf(record).routing, this.clock)));
          v.spec = spec;
          return this.syncVariant(runtime, v);
        }),
      );
      // Variants the change drops answer until a wanted one serves, so a change never leaves a gap.
      if (![...wanted].some((name) => runtime.variants.get(name)?.current)) return;
      for (const [name, v] of runtime.variants) {
        if (!wanted.has(name)) {
          runtime.variants.delete(name);
          if (v.current) void v.current.retire();
        }
      }
    });
  }

  private configure(rt: DeploymentRuntime, before: DeploymentRecord | undefined): void {
    rt.split = splitOf(rt.record.variants);
    const shadows = rt.record.variants.filter((v) => v.shadow).map((v) => v.name);
    rt.shadows = new Map(shadows.map((name) => [name, rt.shadows.get(name) ?? new ShadowComparison(name)]));
    const now = configOf(rt.record);
    const old = before ? configOf(before) : undefined;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const shared = this.cluster?.shared;
    const name = rt.record.name;
    if (!old || !same(old.cache, now.cache)) {
      rt.cache = !now.cache.enabled
        ? undefined
        : now.cache.shared && shared
          ? new SharedResponseCache(shared.redis, `${shared.prefix}srv:cache:${name}:`, now.cache)
          : new ResponseCache(now.cache, this.clock);
    }
    if (!old || !same(old.rateLimit, now.rateLimit)) {
      const label = `deployment "${name}"`;
      rt.limiter = !now.rateLimit.enabled
        ? undefined
        : now.rateLimit.shared && shared
          ? new SharedRateLimiter(shared.redis, `${shared.prefix}srv:rate:${name}:`, now.rateLimit, label)
          : new RateLimiter(now.rateLimit, this.clock, label);
    }
    if (old && !same(old.batching, now.batching)) for (const v of rt.variants.values()) v.current?.reconfigure(now);
  }

  /** Loads the version a variant should serve when it is not the one it serves. */
  private async syncVariant(rt: DeploymentRuntime, v: VariantRuntime): Promise<void> {
    if (this.closed) return;
    const spec = v.spec;
    const label = `deployment "${rt.record.name}"`;
    // From the moment this replica acts on the change: resolving, fetching, loading and warming.
    const started = performance.now();
    let resolved;
    try {
      resolved = await this.source.resolve(spec.model, { version: spec.version, alias: spec.alias });
    } catch (err) {
      v.failure = `${describeRef(spec.model, spec)}: ${(err as Error).message}`;
      return;
    }
    if (v.current && v.current.version === resolved.version && v.current.sha256 === resolved.sha256 && v.current.loadedWith === loadSettings(configOf(rt.record))) {
      v.failure = undefined;
      return;
    }
    v.loadingVersion = resolved.version;
    try {
      const { predictor, runsOn } = await loadVersion(resolved, configOf(rt.record));
      if (this.closed) {
        await predictor.close();
        return;
      }
      const deployment = rt.record.name;
      const batchSize = this.metrics.batchSize.labels({ deployment });
      const queueWait = this.metrics.queueWait.labels({ deployment });
      const stats = this.metrics.inference;
      const counters = stats.touch(deployment, String(resolved.version));
      const loaded = new LoadedVersion(
        spec.model,
        resolved.version,
        resolved.sha256,
        predictor,
        runsOn,
        configOf(rt.record),
        this.clock,
        {
          onBatch: (rows) => batchSize.observe(rows),
          onQueueWait: (s) => {
            queueWait.observe(s);
            stats.queued(counters, s);
          },
          onExecuted: (rows, ms) => stats.executed(counters, rows, ms),
        },
        label,
      );
      const loadMs = performance.now() - started;
      this.metrics.loadSeconds.set({ deployment, model: spec.model, version: String(resolved.version) }, loadMs / 1000);
      const old = v.current;
      v.current = loaded;
      v.servingSinceMs = this.clock.now();
      v.loadMs = Math.round(loadMs);
      if (spec.alias !== undefined && runsOn === 'worker') prepareSpareWorker();
      v.failure = undefined;
      if (old) void old.retire();
    } catch (err) {
      this.metrics.loadFailures.inc({ deployment: rt.record.name });
      const why = isModelportError(err) ? err.message : `unexpected error: ${(err as Error).message}`;
      v.failure = `loading ${spec.model} version ${resolved.version} failed: ${why}${v.current ? ` (version ${v.current.version} keeps serving)` : ''}`;
    } finally {
      v.loadingVersion = undefined;
    }
    await this.store.report(rt.record.name, this.status(rt.record.name), this.clock.now()).catch(() => undefined);
  }

  private async remove(name: string, rt: DeploymentRuntime): Promise<void> {
    this.runtimes.delete(name);
    await rt.chain;
    await Promise.all([...rt.variants.values()].map((v) => v.current?.retire()));
  }

  private async deletionRefusal(model: string, version: number): Promise<string | undefined> {
    const [serving] = await this.deploymentsServing(model, version);
    if (serving !== undefined) {
      return `model "${model}" version ${version} is deployed by deployment "${serving}"; delete or move the deployment first, or delete with force (modelport models delete --force)`;
    }
    for (const rt of this.runtimes.values()) {
      for (const v of rt.variants.values()) {
        if (v.spec.model === model && (v.current?.version === version || v.loadingVersion === version)) {
          return `model "${model}" version ${version} is being served by deployment "${rt.record.name}"`;
        }
      }
    }
    return undefined;
  }

  // ---- management API ----

  private status(name: string, reported?: DeploymentStatus): DeploymentStatus {
    const rt = this.runtimes.get(name);
    if (!rt) return reported ?? { state: 'pending', variants: [] };
    const variants = [...rt.variants.values()].map((v) => v.status());
    const states = variants.map((v) => v.state);
    const state = states.every((s) => s === 'ready')
      ? 'ready'
      : states.includes('failed')
        ? 'failed'
        : states.includes('loading')
          ? 'loading'
          : states.includes('ready')
            ? 'ready'
            : 'pending';
    const message = variants.map((v) => v.message).filter(Boolean).join('; ') || undefined;
    return { state, message, variants };
  }

  private view(record: DeploymentRecord): Deployment {
    return { ...record, status: this.status(record.name, record.reported) };
  }

  async list(): Promise<Deployment[]> {
    return (await this.store.list()).map((r) => this.view(r));
  }

  async get(name: string): Promise<Deployment> {
    const record = await this.store.get(name);
    if (!record) throw notFound(`deployment "${name}" does not exist`);
    return this.view(record);
  }

  /** Creates a deployment and loads it on this replica; the answer carries the load's outcome. */
  async create(input: DeployInput, change: ChangeInput = {}): Promise<Deployment> {
    const name = input.name ?? input.model;
    if (!NAME.test(name ?? '')) throw invalidArgument(`name: "${name}" must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    const variants = await this.variantsOf(input);
    const spec: DeploymentSpec = { name: name!, variants, ...mergeConfig(DEFAULT_CONFIG, input.config) };
    checkFallback(spec);
    const record = await this.store.create(spec, this.clock.now(), changeOf(change, 'created'));
    this.announce({ type: 'deployment', name: spec.name });
    await this.apply(record);
    return this.view(record);
  }

  /** Moves a deployment to another version/alias or changes its settings. */
  async update(name: string, input: UpdateInput, change: ChangeInput = {}): Promise<Deployment> {
    const current = await this.store.get(name);
    if (!current) throw notFound(`deployment "${name}" does not exist`);
    let variants = current.variants;
    if (input.variants !== undefined) {
      variants = await this.variantsOf(input);
    } else if (input.model !== undefined || input.version !== undefined || input.alias !== undefined) {
      const first = current.variants[0];
      const variant = variantFrom({ model: input.model ?? first.model, version: input.version, alias: input.alias });
      await this.source.resolve(variant.model, variant);
      variants = [{ ...variant, name: first.name }, ...current.variants.slice(1)];
    }
    const spec: DeploymentSpec = { name, variants, ...mergeConfig(configOf(current), input.config) };
    return this.save(spec, changeOf(change, 'updated'));
  }

  /** Stores `spec` as the next revision (only if still at `expected`, when given) and applies it here. */
  private async save(spec: DeploymentSpec, change: Change, expected?: number): Promise<Deployment> {
    checkFallback(spec);
    const record = await this.store.update(spec, this.clock.now(), change, expected);
    if (!record) throw failedPrecondition(`deployment "${spec.name}" changed meanwhile (it is past revision ${expected}); read it again`);
    this.announce({ type: 'deployment', name: spec.name });
    await this.apply(record);
    return this.view(record);
  }

  /**
   * Replaces the variants of `name` if it is still at revision `expected` (what the rollouts
   * controller calls, so that it never undoes a change a user made meanwhile).
   */
  async setVariants(name: string, variants: VariantInput[], expected: number, change: Change): Promise<Deployment> {
    const current = await this.get(name);
    return this.save({ ...configOf(current), name, variants: await this.variantsOf({ variants }) }, change, expected);
  }

  /** The revisions of a deployment, newest first. */
  async revisions(name: string, limit?: number): Promise<Revision[]> {
    await this.get(name);
    return this.store.revisions(name, limit);
  }

  /**
   * Restores revision `to` (default: the one before the current) as a new revision. Its
   * versions must still be in the registry and ready.
   */
  async rollback(name: string, options: { to?: number } & ChangeInput = {}): Promise<Deployment> {
    const current = await this.get(name);
    const to = options.to ?? current.revision - 1;
    if (!Number.isInteger(to) || to < 1 || to >= current.revision) {
      throw invalidArgument(
        options.to === undefined
          ? `deployment "${name}" is at its first revision; there is nothing to roll back to`
          : `to: ${options.to} must be an earlier revision of deployment "${name}" (1..${current.revision - 1})`,
      );
    }
    const old = await this.store.revision(name, to);
    if (!old) throw notFound(`deployment "${name}" has no revision ${to} (it is no longer kept)`);
    for (const v of old.spec.variants) await this.source.resolve(v.model, v);
    return this.save({ ...old.spec, name }, changeOf(options, `rollback to revision ${to}`), current.revision);
  }

  /**
   * The variants `input` describes (one from model/version/alias, or its list), each resolved
   * in the registry so that a version which does not exist or is not ready is refused now.
   */
  private async variantsOf(input: { model?: string; version?: number; alias?: string; variants?: VariantInput[] }): Promise<VariantSpec[]> {
    if (input.variants !== undefined && (input.model !== undefined || input.version !== undefined || input.alias !== undefined)) {
      throw invalidArgument('variants: give variants or model/version/alias, not both');
    }
    const variants = input.variants !== undefined ? variantsFrom(input.variants) : [variantFrom(input)];
    for (const [i, v] of variants.entries()) {
      try {
        await this.source.resolve(v.model, v);
      } catch (err) {
        if (isModelportError(err) && variants.length > 1) throw new ModelportError(err.code, `variants[${i}] (${v.name}): ${err.message}`, err.details);
        throw err;
      }
    }
    return variants;
  }

  /** The deployments whose variants serve `model` (one version of it, or any). */
  async deploymentsServing(model: string, version?: number): Promise<string[]> {
    return (await this.store.list()).filter((r) => r.variants.some((v) => v.model === model && (version === undefined || v.version === version))).map((r) => r.name);
  }

  async delete(name: string): Promise<void> {
    await this.store.delete(name);
    this.fresh.set(name, ++this.reads);
    this.announce({ type: 'deployment', name });
    const rt = this.runtimes.get(name);
    if (rt) await this.remove(name, rt);
  }

  // ---- request path ----

  /** Names of the deployments this replica knows. */
  deploymentNames(): string[] {
    return [...this.runtimes.keys()];
  }

  /** True when this replica has loaded (or is loading) the deployment. */
  isDeployed(name: string): boolean {
    return this.runtimes.has(name);
  }

  /** True while a started replica has not yet read the deployments from the store: it knows none of them yet. */
  readingStore(): boolean {
    return this.pollTimer !== undefined && !this.passed;
  }

  /** True when every deployment on this replica serves a version. */
  allReady(): boolean {
    return this.notServing().length === 0;
  }

  /**
   * Why this replica cannot answer for everything deployed: the deployments serving no version,
   * or, once started, that it has not yet read the store.
   */
  notServing(): string[] {
    if (this.readingStore()) return ['the deployments are not read from the store yet'];
    return [...this.runtimes].filter(([, rt]) => ![...rt.variants.values()].some((v) => v.current)).map(([name, rt]) => `deployment "${name}" ${this.status(name).state}`);
  }

  /**
   * The version that answers for `name` now, without waiting: undefined when finding it needs
   * the store or a load in progress (then `target`). Serving's hot path asks this first, since
   * an awaited lookup costs every request a promise.
   */
  targetNow(name: string, version?: number, key?: string): Target | undefined {
    const rt = this.runtimes.get(name);
    return rt && this.pick(rt, name, version, key);
  }

  /** The stream consumers declared on the deployments this replica knows. */
  streams(): Map<string, StreamConfig> {
    return new Map([...this.runtimes].flatMap(([name, rt]) => (rt.record.stream ? [[name, rt.record.stream] as const] : [])));
  }

  /** How `name` chooses a request's key (undefined when this replica does not know it yet). */
  routingOf(name: string): RoutingConfig | undefined {
    const rt = this.runtimes.get(name);
    // Read per request: configOf would build a whole configuration object each time.
    return rt && (rt.record.routing ?? DEFAULT_CONFIG.routing);
  }

  /**
   * The variant of `rt` that serves now and answers for `version`, else the one the key's
   * bucket falls into; while that one serves nothing (a canary still loading), the first live
   * variant that does. Without a key, the first live variant.
   */
  private pick(rt: DeploymentRuntime, name: string, version: number | undefined, key: string | undefined): Target | undefined {
    if (version === undefined) {
      const { names } = rt.split;
      const chosen = key === undefined || names.length < 2 ? names[0] : assign(rt.split, bucketOf(name, key));
      const v = chosen === undefined ? undefined : rt.variants.get(chosen);
      if (v?.current && (names.length < 2 || v.breaker.allow())) return { deployment: name, variant: v.spec.name, version: v.current, key };
      const fallback = v?.current ? this.fallbackOf(rt, v) : undefined;
      if (fallback) {
        this.metrics.fallbacks.inc({ deployment: name, variant: v!.spec.name, fallback: fallback.spec.name });
        return { deployment: name, variant: fallback.spec.name, version: fallback.current!, key };
      }
    }
    for (const v of rt.variants.values()) {
      if (!v.current) continue;
      if (version === undefined ? v.spec.weight > 0 && !v.spec.shadow : v.current.version === version) {
        return { deployment: name, variant: v.spec.name, version: v.current, requested: version, key };
      }
    }
    return undefined;
  }

  /** The variant answering while `v`'s breaker is open: the configured fallback, else the first other live one serving with its breaker closed. */
  private fallbackOf(rt: DeploymentRuntime, v: VariantRuntime): VariantRuntime | undefined {
    const named = configOf(rt.record).routing.fallback;
    const candidates = named !== undefined ? [rt.variants.get(named)] : rt.split.names.map((n) => rt.variants.get(n));
    return candidates.find((c) => c && c !== v && c.current && !c.spec.shadow && c.breaker.state === 'closed');
  }

  /** Circuit-breaker state of every variant on this replica (for /metrics). */
  breakerStates(): { deployment: string; variant: string; state: string }[] {
    return [...this.runtimes].flatMap(([deployment, rt]) => [...rt.variants.values()].map((v) => ({ deployment, variant: v.spec.name, state: v.breaker.state })));
  }

  /** Finds (loading on first use if this replica has not yet) the version that answers for `name`. */
  async target(name: string, version?: number, key?: string): Promise<Target> {
    let rt = this.runtimes.get(name);
    if (!rt) {
      const record = await this.store.get(name);
      if (!record) throw notFound(`deployment "${name}" does not exist`);
      await this.apply(record);
      rt = this.runtimes.get(name);
      if (!rt) throw notFound(`deployment "${name}" does not exist`);
    }
    const found = this.pick(rt, name, version, key);
    if (found) return found;
    // Changes still queued (a first load, a version being resolved) decide what serves: wait for them.
    await rt.chain;
    rt = this.runtimes.get(name) ?? rt;
    const after = this.pick(rt, name, version, key);
    if (after) return after;
    const served = [...rt.variants.values()].flatMap((v) => (v.current ? [v.current.version] : []));
    if (version !== undefined && served.length > 0) {
      throw notFound(`deployment "${name}" does not serve version ${version} (it serves ${served.join(', ')})`);
    }
    const why = this.status(name).message;
    throw unavailable(`deployment "${name}" has no model loaded${why ? `: ${why}` : ''}`, { retryAfterSeconds: 1 });
  }

  /**
   * Takes a rate-limit token for `client` (the bearer token or the address) when the deployment
   * limits; a promise only when the buckets are shared (a local bucket costs no await).
   */
  admit(name: string, client: { token?: string; address: string }): void | Promise<void> {
    const rt = this.runtimes.get(name);
    if (!rt?.limiter) return;
    const key = rt.record.rateLimit.key === 'token' && client.token ? `t:${client.token}` : `a:${client.address}`;
    const refused = (err: unknown) => {
      if (isModelportError(err) && err.code === 'ResourceExhausted') this.metrics.rateLimited.inc({ deployment: name });
      throw err;
    };
    try {
      const taken = rt.limiter.take(key);
      if (taken) return taken.catch(refused);
    } catch (err) {
      refused(err);
    }
  }

  /**
   * Predicts `batch` (already decoded against the target's signature), through cache and
   * batcher. A target whose version was swapped out since it was found is found again, so a
   * request never reaches an unloaded model; the answer names the version that computed it.
   * Every answer is handed to the prediction taps (monitoring), with the request id.
   */
  async predict(target: Target, batch: Batch, outputs: readonly string[] = [], requestId?: string): Promise<{ output: Batch; target: Target }> {
    const started = performance.now();
    let answered: { output: Batch; target: Target } | undefined;
    let trying = target;
    try {
      const rt = this.runtimes.get(target.deployment);
      const limit = rt?.record.routing?.timeoutsMs?.[target.variant];
      // Nothing to do around the model call (a live version, no cache, every output): its
      // promise is awaited here, without compute's async frame and the promise that adds.
      if (limit === undefined && !rt?.cache && outputs.length === 0 && !target.version.retired) answered = { output: await target.version.predict(batch), target };
      else answered = limit === undefined ? await this.compute(target, batch, outputs) : await within(this.compute(target, batch, outputs), limit);
      if (answered === undefined) {
        this.metrics.timeouts.inc({ deployment: target.deployment, variant: target.variant });
        this.variantFailed(target);
        trying = this.fallbackTarget(target, limit!);
        answered = await this.compute(trying, batch, outputs);
      }
    } catch (err) {
      // A request the client got wrong is not the variant's failure.
      if (!isModelportError(err) || (err.code !== 'InvalidArgument' && err.code !== 'ResourceExhausted')) this.variantFailed(trying);
      throw err;
    }
    this.windows.of(answered.target.deployment, answered.target.variant).answered(performance.now() - started);
    this.runtimes.get(answered.target.deployment)?.variants.get(answered.target.variant)?.breaker.success();
    const rt = this.runtimes.get(answered.target.deployment);
    if (rt && rt.shadows.size > 0) this.mirror(rt, answered.target, batch, answered.output, requestId ?? '');
    if (this.taps.length > 0) this.offer(answered, batch, requestId ?? '', started);
    return answered;
  }

  /**
   * Hands an answer to the taps. Each sampling tap decides first, and the entry (with its
   * redacted inputs) is built only when one keeps it: at a low sample rate most requests build none.
   */
  private offer(answered: { output: Batch; target: Target }, batch: Batch, requestId: string, started: number): void {
    const t = answered.target;
    let kept = false;
    for (let i = 0; i < this.taps.length; i++) {
      const tap = this.taps[i];
      const keeps = !tap.sample || !tap.keep || tap.sample(t.deployment);
      this.tapKeeps[i] = keeps;
      kept ||= keeps;
    }
    if (!kept) return;
    const entry = {
      requestId,
      deployment: t.deployment,
      model: t.version.model,
      version: t.version.version,
      variant: t.variant,
      key: t.key,
      inputs: this.tapped(t.version, batch),
      outputs: answered.output,
      latencyMs: performance.now() - started,
      timeMs: this.clock.now(),
    };
    for (let i = 0; i < this.taps.length; i++) {
      if (!this.tapKeeps[i]) continue;
      const tap = this.taps[i];
      if (tap.sample && tap.keep) tap.keep(entry);
      else tap.record(entry);
    }
  }

  /** The request as prediction taps may see it: PII columns of the version's signature hashed or dropped. */
  private tapped(version: LoadedVersion, batch: Batch): Batch {
    let redact = this.redactors.get(version);
    if (redact === undefined) {
      redact = redactorFor(version.predictor.signature, this.piiKey) ?? null;
      this.redactors.set(version, redact);
    }
    return redact ? redact(batch) : batch;
  }

  private variantFailed(t: Target): void {
    this.windows.of(t.deployment, t.variant).failed();
    this.runtimes.get(t.deployment)?.variants.get(t.variant)?.breaker.failure();
  }

  /** Who answers a request `t`'s variant did not answer within `limit` ms (its work goes on, unheard). */
  private fallbackTarget(t: Target, limit: number): Target {
    const rt = this.runtimes.get(t.deployment);
    const v = rt?.variants.get(t.variant);
    const fallback = rt && v && this.fallbackOf(rt, v);
    if (!fallback) throw unavailable(`deployment "${t.deployment}": variant "${t.variant}" did not answer within ${limit} ms and no other variant can answer`, { retryAfterSeconds: 1 });
    this.metrics.fallbacks.inc({ deployment: t.deployment, variant: t.variant, fallback: fallback.spec.name });
    return { deployment: t.deployment, variant: fallback.spec.name, version: fallback.current!, key: t.key };
  }

  /**
   * Sends a copy of an answered request to each shadow whose share takes it (by the request's
   * key, so one user is mirrored always or never), after the caller's answer has gone out: the
   * caller never waits for a shadow, and a shadow's failure only counts against it.
   */
  private mirror(rt: DeploymentRuntime, answered: Target, batch: Batch, output: Batch, requestId: string): void {
    for (const [name, comparison] of rt.shadows) {
      const v = rt.variants.get(name);
      const current = v?.current;
      if (!v || !current || bucketOf(`${answered.deployment}\u0000shadow`, answered.key ?? requestId) >= (v.spec.mirror ?? 0) * (BUCKETS / 100)) continue;
      comparison.requests++;
      const labels = { deployment: answered.deployment, variant: name };
      setImmediate(() => {
        const started = performance.now();
        current.predict(batch).then(
          (out) => {
            comparison.compare(output, out);
            this.metrics.shadowRequests.inc({ ...labels, outcome: 'ok' });
            const entry = { requestId, deployment: answered.deployment, model: current.model, version: current.version, variant: name, key: answered.key, inputs: this.tapped(current, batch), outputs: out, latencyMs: performance.now() - started, timeMs: this.clock.now() };
            for (const tap of this.taps) tap.record(entry);
          },
          () => {
            comparison.failures++;
            this.metrics.shadowRequests.inc({ ...labels, outcome: 'error' });
          },
        );
      });
    }
  }

  /** How each shadow variant of `name` compares with the variants that answered, on this replica. */
  shadowComparisons(name: string): ShadowView[] {
    return [...(this.runtimes.get(name)?.shadows.values() ?? [])].map((c) => c.view());
  }

  /** Sends every answered prediction to `tap` too (the monitoring prediction log). */
  addPredictionTap(tap: PredictionTap): void {
    this.taps.push(tap);
  }

  private async compute(target: Target, batch: Batch, outputs: readonly string[]): Promise<{ output: Batch; target: Target }> {
    let t = target;
    while (t.version.retired) t = await this.target(t.deployment, t.requested, t.key);
    const rt = this.runtimes.get(t.deployment);
    const cache = rt?.cache;
    const key = cache ? cacheKey(t.version.sha256, batch, outputs) : undefined;
    if (cache && key) {
      const hit = cache instanceof SharedResponseCache ? await cache.get(key) : cache.get(key);
      if (hit) {
        this.metrics.cacheHits.inc({ deployment: t.deployment });
        return { output: hit, target: t };
      }
      this.metrics.cacheMisses.inc({ deployment: t.deployment });
    }
    let out = await t.version.predict(batch);
    if (outputs.length > 0) {
      const unknown = outputs.filter((o) => !out.has(o));
      if (unknown.length > 0) throw invalidArgument(`outputs: ${unknown.map((o) => `"${o}"`).join(', ')} not produced by the model (it has ${out.names.join(', ')})`);
      out = out.select(outputs);
    }
    if (cache && key) void cache.set(key, out);
    return { output: out, target: t };
  }

  /** Cache counters of a deployment on this replica (for tests and status pages). */
  cacheStats(name: string): { hits: number; misses: number; entries: number; bytes: number } | undefined {
    const cache = this.runtimes.get(name)?.cache;
    if (!cache || cache instanceof SharedResponseCache) return undefined;
    return { hits: cache.hits, misses: cache.misses, entries: cache.size, bytes: cache.totalBytes };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.unsubscribe();
    await this.refreshing?.catch(() => undefined);
    const all = [...this.runtimes.values()];
    this.runtimes.clear();
    await Promise.all(all.map((rt) => rt.chain));
    await Promise.all(all.flatMap((rt) => [...rt.variants.values()].map((v) => v.current?.retire())));
  }
}
