/**
 * What makes several server processes one system: a bus every replica hears (propagation),
 * leases (one leader per singleton), heartbeats (every replica's state, readable by all), and a
 * Redis connection for state shared on the request path (response cache, rate-limit buckets).
 * The composition root opens one Cluster per process from the Config; domains receive it.
 */
import nodeCluster from 'node:cluster';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { MetadataStore } from '../storage/metadata.js';
import { IpcBus, LocalBus, PostgresBus, RedisBus, type ClusterBus } from './bus.js';
import { Leadership, Leases } from './leases.js';
import { Replicas, type ReplicaView } from './replicas.js';

export { clusterMigrations } from './migrations.js';
export { relayIpcBus, type ClusterBus, type ClusterMessage } from './bus.js';
export { Leadership, Leases, type LeaseView } from './leases.js';
export { Replicas, type ReplicaView } from './replicas.js';
export { workerExecArgv } from './worker-flags.js';

export interface ClusterOptions {
  heartbeatMs?: number;
  /** How long a leader's lease lasts without renewal: a dead leader is replaced within it. */
  leaseMs?: number;
}

/** The Redis that carries shared state, with the key prefix of this installation. */
export interface SharedRedis {
  redis: Redis;
  prefix: string;
}

export class Cluster {
  readonly replicaId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly leases: Leases;
  readonly replicas: Replicas;
  readonly leaseMs: number;
  private readonly startedMs: number;
  private readonly reporters = new Map<string, () => unknown>();
  private readonly leaderships: Leadership[] = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  constructor(
    metadata: MetadataStore,
    readonly bus: ClusterBus,
    readonly shared: SharedRedis | undefined,
    private readonly clock: Clock,
    private readonly options: ClusterOptions = {},
  ) {
    this.leases = new Leases(metadata.db, clock);
    this.leaseMs = options.leaseMs ?? 10_000;
    this.replicas = new Replicas(metadata, clock, 3 * (options.heartbeatMs ?? 1000) + 2000);
    this.startedMs = clock.now();
  }

  /** This replica's claim on singleton `name` (e.g. `pipelines.triggers`). */
  leadership(name: string): Leadership {
    const l = new Leadership(this.leases, name, this.replicaId, this.leaseMs);
    this.leaderships.push(l);
    return l;
  }

  /** Adds what `report()` returns to this replica's heartbeat under `name`. */
  addReporter(name: string, report: () => unknown): void {
    this.reporters.set(name, report);
  }

  private self(): ReplicaView {
    const report: Record<string, unknown> = {};
    for (const [name, fn] of this.reporters) report[name] = fn();
    return { id: this.replicaId, host: hostname(), pid: process.pid, startedMs: this.startedMs, heartbeatMs: this.clock.now(), report };
  }

  /** This replica as it is now, and every other live replica with what it last reported, oldest first. */
  async live(): Promise<ReplicaView[]> {
    const others = (await this.replicas.live()).filter((r) => r.id !== this.replicaId);
    return [this.self(), ...others].sort((a, b) => a.startedMs - b.startedMs);
  }

  /** Writes one heartbeat now. */
  beat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        const self = this.self();
        await this.replicas.beat(self, self.report);
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  /** Starts heartbeats (a server calls this once listening; a one-shot CLI command does not). */
  start(): void {
    if (this.timer) return;
    void this.beat().catch(() => undefined);
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.options.heartbeatMs ?? 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.beating?.catch(() => undefined);
      await this.replicas.remove(this.replicaId).catch(() => undefined);
    }
    await Promise.all(this.leaderships.map((l) => l.release()));
    await this.bus.close().catch(() => undefined);
    if (this.shared) await this.shared.redis.quit().catch(() => this.shared?.redis.disconnect());
  }
}

/** The Redis a Config names for shared state: the online store's, else the queue's. */
function redisOf(config: Config): { url: string; prefix: string } | undefined {
  if (config.online.kind === 'redis') return { url: config.online.url, prefix: config.online.prefix };
  if (config.queue.kind === 'redis') {
    const url = new URL(config.queue.url);
    url.searchParams.delete('name');
    return { url: url.toString(), prefix: 'modelport:' };
  }
  return undefined;
}

export async function openCluster(config: Config, metadata: MetadataStore, clock: Clock, options: ClusterOptions = {}): Promise<Cluster> {
  const redis = redisOf(config);
  let bus: ClusterBus;
  let shared: SharedRedis | undefined;
  if (redis) {
    bus = await RedisBus.open(redis.url, redis.prefix);
    const { Redis } = await import('ioredis');
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
    connection.on('error', () => undefined);
    shared = { redis: connection, prefix: redis.prefix };
  } else if (config.store.kind === 'postgres') {
    bus = await PostgresBus.open(config.store.url, config.store.schema);
  } else if (nodeCluster.isWorker) {
    bus = new IpcBus();
  } else {
    bus = new LocalBus();
  }
  return new Cluster(metadata, bus, shared, clock, options);
}
