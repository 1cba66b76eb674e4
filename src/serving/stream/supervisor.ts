/**
 * The server side of stream scoring: every deployment that declares a stream (its `stream`
 * setting) gets a StreamConsumer on each server replica, all in one consumer group, so the
 * replicas share the events. The supervisor follows the deployments this replica knows: it
 * starts a consumer when a stream is declared, restarts it when the declaration changes, and
 * stops it when the declaration or the deployment goes, and all of them when the server closes.
 * A consumer that fails (Redis unreachable, the stream not there yet) is started again after a
 * pause, and counted in /metrics.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../core/clock.js';
import type { ServingService } from '../service.js';
import type { StreamConfig } from '../types.js';
import type { Scorer } from '../jobs/run.js';
import { parseStreamUri, StreamConsumer } from './consumer.js';

interface Running {
  key: string;
  consumer?: StreamConsumer;
  connections: Redis[];
  done: Promise<void>;
  stopped: boolean;
  /** Ends the pause before a retry. */
  wake?: () => void;
  /** Why the last attempt failed, if it did. */
  error?: string;
}

/**
 * Each micro-batch goes through the deployment's request path (variant split, breaker,
 * prediction log, as an online request would), so the stream follows the deployment's moves.
 */
function servingScorer(serving: ServingService, name: string, first: Scorer['signature']): Scorer {
  let signature = first;
  return {
    identity: `deployment "${name}"`,
    get signature() {
      return serving.targetNow(name)?.version.signature ?? signature;
    },
    async score(batch) {
      const target = await serving.target(name);
      signature = target.version.signature;
      return (await serving.predict(target, batch)).output;
    },
  };
}

export class StreamSupervisor {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private readonly failures: Counter<'deployment' | 'stream'>;
  private readonly consumerName = `${hostname()}-${process.pid}`;

  constructor(
    private readonly serving: ServingService,
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly options: { retryMs?: number; blockMs?: number } = {},
  ) {
    // One platform may serve through more than one app (tests, a rebuilt server): its metric is shared.
    const name = 'modelport_stream_consumer_failures_total';
    this.failures = (registry.getSingleMetric(name) as Counter<'deployment' | 'stream'> | undefined) ?? new Counter({
      name,
      help: "Server-side stream consumers that stopped on an error (Redis unreachable, stream missing) and were started again",
      labelNames: ['deployment', 'stream'],
      registers: [registry],
    });
  }

  /** Follows the deployments every `periodMs` (a server calls this once listening). */
  start(periodMs = 1000): void {
    if (this.timer) return;
    void this.sync();
    this.timer = setInterval(() => void this.sync(), periodMs);
    this.timer.unref();
  }

  /** Makes the consumers match the declarations this replica knows now. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      const wanted = this.serving.streams();
      for (const [name, r] of this.running) {
        const config = wanted.get(name);
        if (!config || JSON.stringify(config) !== r.key) await this.stop(name, r);
      }
      for (const [name, config] of wanted) if (!this.running.has(name)) this.launch(name, config);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Each running consumer's deployment and last error (for status views and tests). */
  status(): { deployment: string; scored: number; deadLettered: number; error?: string }[] {
    return [...this.running].map(([deployment, r]) => ({ deployment, scored: r.consumer?.stats.scored ?? 0, deadLettered: r.consumer?.stats.deadLettered ?? 0, error: r.error }));
  }

  private launch(name: string, config: StreamConfig): void {
    const r: Running = { key: JSON.stringify(config), connections: [], done: Promise.resolve(), stopped: false };
    this.running.set(name, r);
    r.done = (async () => {
      while (!r.stopped) {
        try {
          await this.consume(name, config, r);
          r.error = undefined;
        } catch (err) {
          r.error = (err as Error).message;
          this.failures.inc({ deployment: name, stream: parseStreamUri(config.from, 'stream.from').stream });
        } finally {
          for (const c of r.connections.splice(0)) c.disconnect();
        }
        if (!r.stopped) await new Promise<void>((resolve) => (r.wake = resolve, setTimeout(resolve, this.options.retryMs ?? 5000).unref()));
      }
    })();
  }

  private async consume(name: string, config: StreamConfig, r: Running): Promise<void> {
    const from = parseStreamUri(config.from, 'stream.from');
    const to = parseStreamUri(config.to, 'stream.to');
    const { Redis } = await import('ioredis');
    const connect = async (url: string) => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
      redis.on('error', () => undefined);
      r.connections.push(redis);
      await redis.connect();
      return redis;
    };
    const input = await connect(from.url);
    const output = to.url === from.url ? input : await connect(to.url);
    const { version } = await this.serving.target(name);
    if (r.stopped) return;
    r.consumer = new StreamConsumer(
      input,
      output,
      servingScorer(this.serving, name, version.signature),
      { deployment: name, from, to, group: config.group, deadLetter: config.deadLetter, batchSize: config.batchSize, consumer: this.consumerName, blockMs: this.options.blockMs },
      this.clock,
      this.registry,
    );
    await r.consumer.run();
  }

  private async stop(name: string, r: Running): Promise<void> {
    r.stopped = true;
    r.consumer?.stop();
    r.wake?.();
    await r.done;
    this.running.delete(name);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.syncing;
    await Promise.all([...this.running].map(([name, r]) => this.stop(name, r)));
  }
}
