/**
 * Dynamic batching in the manner of Triton's dynamic batcher: requests queue per loaded model;
 * while a model call is running, the queue grows, and the next call takes as many queued rows
 * as fit in `maxBatchSize` (rows, not requests). With a queue delay, a partial batch waits
 * until the oldest request is that old. Each caller gets back exactly its own rows, in order.
 * With `maxBatchSize` 1 requests go straight to the model; the queue bound and timeout still hold.
 */
import type { Clock } from '../core/clock.js';
import { resourceExhausted, unavailable } from '../core/errors.js';
import { Batch, type Column } from '../models/index.js';
import type { BatchingConfig } from './types.js';

export interface BatcherHooks {
  /** Rows in each model call. */
  onBatch?(rows: number): void;
  /** Seconds a request waited in the queue before its model call started. */
  onQueueWait?(seconds: number): void;
  /** A model call that answered: its rows and milliseconds. */
  onExecuted?(rows: number, ms: number): void;
}

interface Entry {
  batch: Batch;
  enqueued: number;
  deadline: number;
  settled: boolean;
  /** Called once as the request settles, before its caller hears. */
  done: (() => void) | undefined;
  resolve(out: Batch): void;
  reject(err: Error): void;
}

/** Model calls that may run at once by default: one forms while the other computes. */
const CONCURRENT_CALLS = 2;
const SWEEP_MS = 5;

/**
 * Whether two requests can share a call: the same columns, dtypes and per-row shapes. Compared
 * in place: a key string per request (names and formatted shapes) had been a visible part of
 * a one-row request's CPU.
 */
function sameLayout(a: Batch, b: Batch): boolean {
  if (a === b) return true;
  if (a.columns.size !== b.columns.size) return false;
  // One column, as most requests have: compared without an iterator and its entry arrays.
  if (a.columns.size === 1) {
    for (const name of a.columns.keys()) {
      const other = b.columns.get(name);
      return other !== undefined && sameColumn(a.columns.get(name)!, other);
    }
  }
  const other = b.columns.entries();
  for (const [name, col] of a.columns) {
    const [otherName, otherCol] = other.next().value as [string, Column];
    if (name !== otherName || !sameColumn(col, otherCol)) return false;
  }
  return true;
}

function sameColumn(col: Column, other: Column): boolean {
  if (col.dtype !== other.dtype || col.shape.length !== other.shape.length) return false;
  for (let i = 0; i < col.shape.length; i++) if (col.shape[i] !== other.shape[i]) return false;
  return true;
}

export class DynamicBatcher {
  private queue: Entry[] = [];
  private readonly running = new Set<Entry>();
  private queuedRows = 0;
  private calls = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private pumpSoon: NodeJS.Immediate | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (batch: Batch) => Promise<Batch>,
    private readonly config: BatchingConfig,
    private readonly clock: Clock,
    private readonly hooks: BatcherHooks = {},
    private readonly label = 'model',
    private readonly concurrentCalls = CONCURRENT_CALLS,
  ) {}

  /** Requests queued or running. */
  get pending(): number {
    return this.queue.length + this.running.size;
  }

  /**
   * Queues one request. `done` runs once as it settles, however it does (answered, failed, timed
   * out, refused): a caller counting its requests needs no async frame of its own around this promise.
   */
  submit(batch: Batch, done?: () => void): Promise<Batch> {
    if (this.pending >= this.config.maxQueueSize) {
      done?.();
      return Promise.reject(
        resourceExhausted(`${this.label}: the request queue is full (${this.config.maxQueueSize} requests); retry later`, { retryAfterSeconds: 1 }),
      );
    }
    return new Promise<Batch>((resolve, reject) => {
      const entry: Entry = {
        batch,
        enqueued: performance.now(),
        // The clock is read only for a deadline: a reading per request costs when there is none.
        deadline: this.config.timeoutMs > 0 ? this.clock.now() + this.config.timeoutMs : Infinity,
        settled: false,
        done,
        resolve,
        reject,
      };
      // A throw here rejects the promise; settling the entry runs `done` as well.
      try {
        if (this.config.maxBatchSize <= 1) {
          this.execute([entry]);
        } else {
          this.queue.push(entry);
          this.queuedRows += batch.rows;
          // Every request that arrived in this turn of the event loop joins one call, instead of
          // the first ones each taking a call of their own: a call's fixed cost is paid once.
          this.pumpSoon ??= setImmediate(() => {
            this.pumpSoon = undefined;
            this.pump();
          });
        }
        this.ensureSweep();
      } catch (err) {
        this.settle(entry, undefined, err as Error);
      }
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.calls < this.concurrentCalls && this.queue.length > 0) {
      const delayMs = this.config.maxQueueDelayUs / 1000;
      const age = performance.now() - this.queue[0].enqueued;
      if (this.queuedRows < this.config.maxBatchSize && delayMs > 0 && age < delayMs) {
        if (!this.delayTimer) {
          this.delayTimer = setTimeout(() => {
            this.delayTimer = undefined;
            this.pump();
          }, Math.max(0, delayMs - age));
        }
        return;
      }
      this.execute(this.take());
    }
    this.ensureSweep();
  }

  /** Queued requests in order, as many as fit, all with the first one's columns and shapes. */
  private take(): Entry[] {
    const first = this.queue[0];
    const taken: Entry[] = [];
    const left: Entry[] = [];
    let rows = 0;
    let i = 0;
    for (; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (!sameLayout(e.batch, first.batch)) {
        left.push(e);
        continue;
      }
      if (taken.length > 0 && rows + e.batch.rows > this.config.maxBatchSize) break;
      taken.push(e);
      rows += e.batch.rows;
    }
    // One pass rebuilds the queue: removing each taken entry in place costs a shift of the rest.
    this.queue = i === this.queue.length ? left : left.length === 0 ? this.queue.slice(i) : left.concat(this.queue.slice(i));
    this.queuedRows -= rows;
    return taken;
  }

  private execute(entries: Entry[]): void {
    const started = performance.now();
    const live = entries.filter((e) => !e.settled);
    for (const e of live) {
      this.running.add(e);
      this.hooks.onQueueWait?.((started - e.enqueued) / 1000);
    }
    if (live.length === 0) return;
    this.calls++;
    const input = live.length === 1 ? live[0].batch : Batch.concat(live.map((e) => e.batch));
    this.hooks.onBatch?.(input.rows);
    let call: Promise<Batch>;
    try {
      call = this.run(input);
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      (out) => {
        this.hooks.onExecuted?.(input.rows, performance.now() - started);
        if (live.length === 1) return this.settle(live[0], out);
        let offset = 0;
        for (const e of live) {
          this.settle(e, out.slice(offset, offset + e.batch.rows));
          offset += e.batch.rows;
        }
      },
      (err: Error) => {
        for (const e of live) this.settle(e, undefined, err);
      },
    ).finally(() => {
      this.calls--;
      for (const e of live) this.running.delete(e);
      this.pump();
      this.notifyIdle();
    });
  }

  private settle(entry: Entry, out: Batch | undefined, err?: Error): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.done?.();
    if (err || !out) entry.reject(err ?? new Error('no output'));
    else entry.resolve(out);
  }

  /** Fails requests past their deadline, queued or running; runs only while requests are pending. */
  private ensureSweep(): void {
    if (this.config.timeoutMs <= 0 || this.sweepTimer || this.pending === 0) return;
    this.sweepTimer = setInterval(() => {
      const now = this.clock.now();
      for (const e of [...this.queue, ...this.running]) {
        if (!e.settled && now >= e.deadline) {
          this.settle(e, undefined, unavailable(`${this.label}: no answer within ${this.config.timeoutMs} ms`));
        }
      }
      for (let i = this.queue.length - 1; i >= 0; i--) {
        if (this.queue[i].settled) {
          this.queuedRows -= this.queue[i].batch.rows;
          this.queue.splice(i, 1);
        }
      }
      if (this.pending === 0 || (this.queue.length === 0 && [...this.running].every((e) => e.settled))) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
        this.notifyIdle();
      }
    }, SWEEP_MS);
  }

  private notifyIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (this.pumpSoon) clearImmediate(this.pumpSoon);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const e of this.queue) this.settle(e, undefined, unavailable(`${this.label}: the model was unloaded`));
    this.queue.length = 0;
    this.queuedRows = 0;
  }
}
