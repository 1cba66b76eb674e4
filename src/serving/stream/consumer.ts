/**
 * Stream scoring on Redis Streams: a consumer group reads events, scores them in micro-batches
 * on a deployment's runtime, writes one entry per event to the output stream (`event_id` and
 * the outputs) and acknowledges the events only once those writes are done. A consumer killed
 * at any point loses nothing: its unacknowledged events are read again when it restarts (its
 * own pending entries) or claimed by another consumer of the group once idle. Delivery is
 * at least once; the event id lets readers drop duplicates. Events that are not valid inputs
 * go to a dead-letter stream with the reason.
 */
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../../core/clock.js';
import { invalidArgument, notFound, unavailable } from '../../core/errors.js';
import type { Scorer } from '../jobs/run.js';
import { decodeEvent, predictionFields, rowsToBatch, type Row } from './events.js';

export interface StreamAddress {
  /** redis://HOST:PORT (the connection). */
  url: string;
  stream: string;
}

/** `redis://HOST:PORT/STREAM` (the stream name may contain further slashes). */
export function parseStreamUri(uri: string, flag: string): StreamAddress {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw invalidArgument(`${flag}: "${uri}" is not a URI; expected redis://HOST:PORT/STREAM`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw invalidArgument(`${flag}: "${uri}" should start with redis:// (Redis Streams)`);
  const stream = decodeURIComponent(u.pathname.slice(1));
  if (!stream) throw invalidArgument(`${flag}: "${uri}" names no stream; expected redis://HOST:PORT/STREAM`);
  return { url: `${u.protocol}//${u.username ? `${u.username}:${u.password}@` : ''}${u.host}`, stream };
}

export interface StreamOptions {
  deployment: string;
  from: StreamAddress;
  to: StreamAddress;
  /** Consumer group; default `modelport:DEPLOYMENT`. */
  group?: string;
  /** This consumer's name in the group; a restarted consumer of the same name resumes its pending events. */
  consumer?: string;
  /** Where malformed events go; default `FROM-STREAM:dead`. */
  deadLetter?: string;
  /** Events per micro-batch. */
  batchSize?: number;
  /** Events another consumer left unacknowledged this long are claimed (ms). */
  claimIdleMs?: number;
  blockMs?: number;
}

type Entry = [id: string, fields: string[]];

export interface StreamStats {
  scored: number;
  deadLettered: number;
}

export class StreamConsumer {
  private stopping = false;
  readonly stats: StreamStats = { scored: 0, deadLettered: 0 };
  private readonly group: string;
  private readonly consumer: string;
  private readonly deadLetter: string;
  private readonly batchSize: number;
  private readonly events: Counter;
  private readonly errors: Counter;
  private readonly lag: Gauge;
  private readonly batchSeconds: Histogram;

  constructor(
    private readonly input: Redis,
    private readonly output: Redis,
    private readonly scorer: Scorer,
    private readonly options: StreamOptions,
    private readonly clock: Clock,
    registry: Registry,
  ) {
    this.group = options.group ?? `modelport:${options.deployment}`;
    this.consumer = options.consumer ?? 'consumer-1';
    this.deadLetter = options.deadLetter ?? `${options.from.stream}:dead`;
    this.batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw invalidArgument(`--batch-size: ${this.batchSize} is not a whole number >= 1`);
    const labels = { deployment: options.deployment, stream: options.from.stream };
    const metric = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.events = metric('modelport_stream_events_total', () => new Counter({ name: 'modelport_stream_events_total', help: 'Stream events scored and written', labelNames: ['deployment', 'stream'], registers: [registry] }));
    this.errors = metric('modelport_stream_dead_letters_total', () => new Counter({ name: 'modelport_stream_dead_letters_total', help: 'Stream events sent to the dead-letter stream', labelNames: ['deployment', 'stream'], registers: [registry] }));
    this.lag = metric('modelport_stream_lag', () => new Gauge({ name: 'modelport_stream_lag', help: "Entries in the input stream not yet delivered to the consumer group (Redis's group lag)", labelNames: ['deployment', 'stream'], registers: [registry] }));
    this.batchSeconds = metric('modelport_stream_batch_seconds', () => new Histogram({ name: 'modelport_stream_batch_seconds', help: 'Time to score and write one micro-batch', labelNames: ['deployment', 'stream'], registers: [registry] }));
    this.events.inc(labels, 0);
    this.errors.inc(labels, 0);
  }

  private get labels() {
    return { deployment: this.options.deployment, stream: this.options.from.stream };
  }

  /** Checks the input stream exists and joins (or creates) the consumer group at its start. */
  async prepare(): Promise<void> {
    const key = this.options.from.stream;
    const type = await this.input.type(key);
    if (type === 'none') throw notFound(`--from: stream "${key}" does not exist`);
    if (type !== 'stream') throw invalidArgument(`--from: "${key}" is a Redis ${type}, not a stream`);
    try {
      await this.input.xgroup('CREATE', key, this.group, '0');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** Reads, scores and writes until `stop()`; returns once the batch in hand is written and acknowledged. */
  async run(): Promise<void> {
    await this.prepare();
    const key = this.options.from.stream;
    // First the events this consumer read but never acknowledged (it was killed), then new ones.
    let ownPending = true;
    let lastClaim = 0;
    while (!this.stopping) {
      let entries: Entry[];
      if (ownPending) {
        entries = await this.read('0');
        if (entries.length === 0) ownPending = false;
      } else if (this.clock.now() - lastClaim >= (this.options.claimIdleMs ?? 30_000) / 2) {
        lastClaim = this.clock.now();
        const claimed = (await this.input.xautoclaim(key, this.group, this.consumer, this.options.claimIdleMs ?? 30_000, '0-0', 'COUNT', this.batchSize)) as [string, Entry[]];
        entries = claimed[1].filter((e) => e && e[1]);
        if (entries.length === 0) entries = await this.read('>');
      } else {
        entries = await this.read('>');
      }
      if (entries.length > 0) await this.handle(entries);
      else await this.updateLag();
    }
  }

  private async read(from: '0' | '>'): Promise<Entry[]> {
    const args: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', this.batchSize];
    if (from === '>') args.push('BLOCK', this.options.blockMs ?? 1000);
    const xreadgroup = this.input.xreadgroup.bind(this.input) as unknown as (...a: (string | number)[]) => Promise<[string, Entry[]][] | null>;
    const res = await xreadgroup(...args, 'STREAMS', this.options.from.stream, from);
    return res ? res[0][1].filter((e) => e[1] !== null) : [];
  }

  private async updateLag(): Promise<void> {
    const groups = (await this.input.xinfo('GROUPS', this.options.from.stream)) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === this.group && typeof info.lag === 'number') this.lag.set(this.labels, info.lag);
    }
  }

  /** Scores one micro-batch; writes predictions and dead letters, then acknowledges every event. */
  private async handle(entries: Entry[]): Promise<void> {
    const started = performance.now();
    const good: { id: string; row: Row }[] = [];
    const dead: { id: string; fields: string[]; reason: string }[] = [];
    for (const [id, fields] of entries) {
      const decoded = decodeEvent(fields, this.scorer.signature);
      if ('row' in decoded) good.push({ id, row: decoded.row });
      else dead.push({ id, fields, reason: decoded.reason });
    }
    const writes = this.output.pipeline();
    const scored = await this.score(good, dead);
    for (const { id, out, index } of scored) writes.xadd(this.options.to.stream, '*', ...predictionFields(id, out, index));
    const deadWrites = this.output === this.input ? writes : this.input.pipeline();
    for (const d of dead) deadWrites.xadd(this.deadLetter, '*', 'event_id', d.id, 'reason', d.reason, 'fields', JSON.stringify(d.fields));
    await checked(writes.exec());
    if (deadWrites !== writes) await checked(deadWrites.exec());
    await this.input.xack(this.options.from.stream, this.group, ...entries.map((e) => e[0]));
    this.stats.scored += scored.length;
    this.stats.deadLettered += dead.length;
    this.events.inc(this.labels, scored.length);
    this.errors.inc(this.labels, dead.length);
    this.batchSeconds.observe(this.labels, (performance.now() - started) / 1000);
    await this.updateLag();
  }

  /** The batch at once; when the model refuses it, row by row so only the bad rows are dead-lettered. */
  private async score(good: { id: string; row: Row }[], dead: { id: string; fields: string[]; reason: string }[]) {
    const out: { id: string; out: Awaited<ReturnType<Scorer['score']>>; index: number }[] = [];
    if (good.length === 0) return out;
    const signature = this.scorer.signature;
    try {
      const result = await this.scorer.score(rowsToBatch(good.map((g) => g.row), signature));
      good.forEach((g, i) => out.push({ id: g.id, out: result, index: i }));
      return out;
    } catch (err) {
      if (good.length === 1) {
        if ((err as { code?: string }).code !== 'InvalidArgument') throw err;
        dead.push({ id: good[0].id, fields: Object.entries(good[0].row).flatMap(([k, v]) => [k, JSON.stringify(v)]), reason: (err as Error).message });
        return out;
      }
    }
    for (const g of good) out.push(...(await this.score([g], dead)));
    return out;
  }

  stop(): void {
    this.stopping = true;
  }
}

async function checked(result: Promise<[Error | null, unknown][] | null>): Promise<void> {
  const res = await result;
  const failed = res?.find(([err]) => err);
  if (failed) throw unavailable(`writing to Redis failed: ${failed[0]!.message}`);
}
