/**
 * The cluster bus: small messages every replica hears within milliseconds (a deployment
 * changed, an alias moved, a rollout step began). Redis pub/sub when a Redis is configured,
 * PostgreSQL LISTEN/NOTIFY when the store is PostgreSQL and there is no Redis, Node cluster IPC
 * relayed by the primary between the processes of `server --workers` on SQLite, an in-process
 * emitter otherwise (one process is the whole cluster). Delivery is at most once: a replica
 * that was disconnected misses messages, which is why serving keeps its periodic reconcile.
 */
import type { Cluster as NodeCluster, Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

export type ClusterMessage = (
  | { type: 'deployment'; name: string }
  /** Re-resolve the deployment's variants even at an unchanged revision (Triton's `load`). */
  | { type: 'reload'; deployment: string }
  | { type: 'alias'; model: string; alias: string }
  /** A version was registered: replicas following an alias of the model fetch its files ahead of a move. */
  | { type: 'version'; model: string; version: number }
  | { type: 'windows.reset'; deployment: string; epoch: string }
  /** A token or grant changed: drop cached authentication answers. */
  | { type: 'security' }
  /** A feature definition was applied or a deployment (un)bound: re-read what online reads and serving use. */
  | { type: 'features' }
) & {
  /** The replica that sent it, which has already acted on it. */
  origin?: string;
};

export interface ClusterBus {
  readonly kind: 'redis' | 'postgres' | 'ipc' | 'local';
  publish(message: ClusterMessage): Promise<void>;
  /** Calls `handler` for every message, this replica's own included; returns an unsubscribe function. */
  subscribe(handler: (message: ClusterMessage) => void): () => void;
  close(): Promise<void>;
}

abstract class EmitterBus {
  protected readonly emitter = new EventEmitter().setMaxListeners(0);

  subscribe(handler: (message: ClusterMessage) => void): () => void {
    this.emitter.on('message', handler);
    return () => this.emitter.off('message', handler);
  }

  protected deliver(text: string): void {
    let message: ClusterMessage;
    try {
      message = JSON.parse(text) as ClusterMessage;
    } catch {
      return;
    }
    this.emitter.emit('message', message);
  }
}

export class LocalBus extends EmitterBus implements ClusterBus {
  readonly kind = 'local' as const;

  async publish(message: ClusterMessage): Promise<void> {
    this.deliver(JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** What a worker sends its primary, and the primary passes on to the other workers. */
interface IpcEnvelope {
  modelportBus: string;
}

const isEnvelope = (m: unknown): m is IpcEnvelope => typeof (m as IpcEnvelope | null)?.modelportBus === 'string';

/** A worker process of `server --workers`: messages go through the primary (relayIpcBus) to its siblings. */
export class IpcBus extends EmitterBus implements ClusterBus {
  readonly kind = 'ipc' as const;
  private readonly hear = (m: unknown) => {
    if (isEnvelope(m)) this.deliver(m.modelportBus);
  };

  constructor() {
    super();
    process.on('message', this.hear);
  }

  async publish(message: ClusterMessage): Promise<void> {
    const text = JSON.stringify(message);
    this.deliver(text);
    // A worker whose primary is gone has no one to tell; the siblings' reconcile catches up.
    if (process.connected) process.send?.({ modelportBus: text } satisfies IpcEnvelope);
  }

  async close(): Promise<void> {
    process.off('message', this.hear);
    this.emitter.removeAllListeners();
  }
}

/** The primary's half of IpcBus: every bus message from one worker goes to each of the others. */
export function relayIpcBus(cluster: NodeCluster): void {
  cluster.on('message', (from: Worker, m: unknown) => {
    if (!isEnvelope(m)) return;
    for (const w of Object.values(cluster.workers ?? {})) if (w && w !== from && w.isConnected()) w.send(m);
  });
}

/** Redis pub/sub on one channel per installation (the online store's key prefix names it). */
export class RedisBus extends EmitterBus implements ClusterBus {
  readonly kind = 'redis' as const;

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {
    super();
    subscriber.on('message', (ch: string, text: string) => {
      if (ch === channel) this.deliver(text);
    });
  }

  static async open(url: string, prefix: string): Promise<RedisBus> {
    const { Redis } = await import('ioredis');
    const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    // A subscribed connection can run nothing else; ioredis re-subscribes after a reconnect.
    const subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    for (const r of [publisher, subscriber]) r.on('error', () => undefined);
    const channel = `${prefix}cluster`;
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await subscriber.subscribe(channel);
    } catch (err) {
      publisher.disconnect();
      subscriber.disconnect();
      throw err;
    }
    return new RedisBus(publisher, subscriber, channel);
  }

  async publish(message: ClusterMessage): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    await Promise.all([this.publisher, this.subscriber].map((r) => r.quit().catch(() => r.disconnect())));
  }
}

/**
 * PostgreSQL LISTEN/NOTIFY on one dedicated connection (a pooled one could be handed to a query
 * mid-listen). The channel is named after the schema, so installations sharing a database do not
 * hear each other. A lost connection is re-opened every second until it comes back.
 */
export class PostgresBus extends EmitterBus implements ClusterBus {
  readonly kind = 'postgres' as const;
  private client: import('pg').Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {
    super();
  }

  static async open(url: string, schema: string | undefined): Promise<PostgresBus> {
    const bus = new PostgresBus(url, `mp_bus_${schema ?? 'public'}`.toLowerCase());
    await bus.connect();
    return bus;
  }

  private async connect(): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    client.on('notification', (n) => {
      if (n.channel === this.channel && n.payload !== undefined) this.deliver(n.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`listen "${this.channel}"`);
    this.client = client;
  }

  private lost(client: import('pg').Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    const again = () => {
      this.retry = undefined;
      if (!this.closed) this.connect().catch(() => (this.retry = setTimeout(again, 1000).unref()));
    };
    this.retry = setTimeout(again, 1000).unref();
  }

  async publish(message: ClusterMessage): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the PostgreSQL bus connection is down');
    await client.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(message)]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.emitter.removeAllListeners();
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
