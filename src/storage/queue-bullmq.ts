/**
 * BullMQ adapter of the task queue port. A task is a BullMQ job whose id is the caller's, so a
 * driver that restarts and submits the same id waits for the job already there instead of
 * running the step twice. A worker killed mid-task loses its lock; BullMQ's stalled-job check
 * puts the job back in the queue and another worker runs it. Cancellation is a message on a
 * Redis channel that every worker hears; the worker running the job aborts it.
 *
 * URI: redis://HOST:PORT[/DB]?name=QUEUE (default name `modelport-steps`). Tasks that need a GPU
 * go to QUEUE-gpu, which only workers declaring a GPU read.
 */
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { invalidArgument } from '../core/errors.js';
import type { SubmitOptions, TaskHandler, TaskQueue } from './queue.js';

const PREFIX = 'modelport';

export interface BullQueueUri {
  url: string;
  name: string;
}

export function parseBullUri(uri: string): BullQueueUri {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidArgument(`--queue: "${uri}" is not a valid URI`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalidArgument(`--queue: "${uri}" must be redis://HOST:PORT`);
  const name = url.searchParams.get('name') ?? 'modelport-steps';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw invalidArgument(`--queue: name "${name}" must be letters, digits, '.', '_' or '-'`);
  url.searchParams.delete('name');
  return { url: url.toString(), name };
}

const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });
const cancelChannel = (name: string) => `${PREFIX}:${name}:cancel`;

export class BullTaskQueue<T, R> implements TaskQueue<T, R> {
  readonly kind = 'redis' as const;
  private readonly connection: Redis;
  /** BullMQ leaves connections it was given open; they are closed here. */
  private readonly connections: Redis[];
  private readonly queues: Record<'cpu' | 'gpu', Queue>;
  private readonly events: Record<'cpu' | 'gpu', QueueEvents>;

  constructor(private readonly uri: BullQueueUri) {
    this.connection = connect(uri.url);
    const cpuEvents = connect(uri.url);
    const gpuEvents = connect(uri.url);
    this.connections = [this.connection, cpuEvents, gpuEvents];
    this.queues = { cpu: new Queue(uri.name, { connection: this.connection, prefix: PREFIX }), gpu: new Queue(`${uri.name}-gpu`, { connection: this.connection, prefix: PREFIX }) };
    this.events = { cpu: new QueueEvents(uri.name, { connection: cpuEvents, prefix: PREFIX }), gpu: new QueueEvents(`${uri.name}-gpu`, { connection: gpuEvents, prefix: PREFIX }) };
    // Each job awaited adds listeners while it runs; a wide pipeline awaits hundreds at once.
    for (const emitter of [...Object.values(this.queues), ...Object.values(this.events)]) emitter.setMaxListeners(0);
  }

  async ready(): Promise<void> {
    await Promise.all([...Object.values(this.queues), ...Object.values(this.events)].map((q) => q.waitUntilReady()));
  }

  async submit(id: string, task: T, signal: AbortSignal, options: SubmitOptions = {}): Promise<R> {
    const lane = options.gpu ? 'gpu' : 'cpu';
    // BullMQ job ids may not contain ':'.
    const jobId = id.replace(/:/g, '.');
    const job = await this.queues[lane].add('task', task, { jobId, attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86_400 } });
    const cancel = () => {
      void job.remove().catch(() => undefined);
      void this.connection.publish(cancelChannel(this.uri.name), jobId).catch(() => undefined);
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      // A job that finished before we listened (a resumed driver) is answered too: BullMQ looks
      // at the job's state once its listeners are in place.
      return (await job.waitUntilFinished(this.events[lane])) as R;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  /** How many workers listen on the CPU lane now (BullMQ names their Redis connections). */
  workers(): Promise<number> {
    return this.queues.cpu.getWorkersCount();
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.events), ...Object.values(this.queues)].map((q) => q.close().catch(() => undefined)));
    for (const c of this.connections) c.disconnect();
  }
}

export async function openBullQueue<T, R>(uri: string): Promise<BullTaskQueue<T, R>> {
  const queue = new BullTaskQueue<T, R>(parseBullUri(uri));
  await queue.ready();
  return queue;
}

export interface BullWorkerOptions {
  concurrency: number;
  gpu: boolean;
  /** How long a job's lock lasts without renewal; a killed worker's job is recovered after it. */
  lockMs?: number;
}

export interface BullWorkers {
  close(): Promise<void>;
}

/** Workers for the queue's lanes: the CPU lane, and the GPU lane too when the host has one. */
export async function startBullWorkers<T, R>(uri: string, handler: TaskHandler<T, R>, options: BullWorkerOptions): Promise<BullWorkers> {
  const { url, name } = parseBullUri(uri);
  const lockDuration = options.lockMs ?? 30_000;
  const lanes = options.gpu ? [name, `${name}-gpu`] : [name];
  const connections = lanes.map(() => connect(url));
  const workers = lanes.map(
    (lane, i) =>
      new Worker(lane, async (job: Job, _token?: string, signal?: AbortSignal) => handler(job.data as T, signal ?? new AbortController().signal), {
        connection: connections[i],
        prefix: PREFIX,
        concurrency: options.concurrency,
        lockDuration,
        stalledInterval: lockDuration,
        // A step whose worker died is run again by another; a second death fails it to the driver.
        maxStalledCount: 1,
      }),
  );
  for (const w of workers) w.on('error', () => undefined);
  const subscriber = connect(url);
  await subscriber.subscribe(cancelChannel(name));
  subscriber.on('message', (_channel, jobId: string) => {
    for (const w of workers) w.cancelJob(jobId, 'cancelled by the pipeline driver');
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    async close() {
      subscriber.disconnect();
      await Promise.all(workers.map((w) => w.close()));
      for (const c of connections) c.disconnect();
    },
  };
}
