/**
 * One process-wide set of worker threads that evaluate tree ensembles in parallel, shared by
 * every loaded model (a server may hold hundreds; each getting its own threads would not pay).
 * Forests, input matrices and output margins all live in SharedArrayBuffers: a worker is
 * handed a forest once, and a call sends each worker one message. Workers start together on
 * first use and do not keep the process alive while idle.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../../core/workers.js';
import { failedPrecondition, unavailable } from '../../core/errors.js';
import type { Forest } from './forest.js';
import type { WorkerMessage } from './worker.js';
import { cpuCount } from '../../core/cpus.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

function spawn(): Worker {
  return spawnModuleWorker(WORKER_URL);
}

interface Slot {
  worker: Worker;
  forests: Set<number>;
  pending: Map<number, { resolve: () => void; reject: (err: Error) => void }>;
}

/** Calls in flight at once across all models; one more waits for a counter to come free. */
const COUNTERS = 256;

class WorkerSet {
  private slots: Slot[] = [];
  private nextJob = 0;
  private cursor = 0;
  /** One work counter per call in flight: the next row a worker takes (sent to each worker once). */
  private readonly counters = new Int32Array(new SharedArrayBuffer(COUNTERS * 4));
  private readonly freeCounters = Array.from({ length: COUNTERS }, (_, i) => COUNTERS - 1 - i);
  private readonly waiting: ((counter: number) => void)[] = [];

  constructor(readonly size: number) {}

  /** A counter set to row 0, for one call's workers to share. */
  async counter(): Promise<number> {
    const free = this.freeCounters.pop();
    const counter = free ?? (await new Promise<number>((resolve) => this.waiting.push(resolve)));
    Atomics.store(this.counters, counter, 0);
    return counter;
  }

  release(counter: number): void {
    const next = this.waiting.shift();
    if (next) next(counter);
    else this.freeCounters.push(counter);
  }

  /**
   * Every worker starts on first use: each takes tens of milliseconds to boot, and started one by
   * one as calls reach them, the first large batch after a model's warm-up (a batch job's first
   * chunk) waited for the next one to boot.
   */
  private slot(i: number): Slot {
    while (this.slots.length < Math.max(this.size, i + 1)) this.slots.push(this.start());
    return this.slots[i];
  }

  private start(): Slot {
    const worker = spawn();
    const slot: Slot = { worker, forests: new Set(), pending: new Map() };
    worker.postMessage({ kind: 'counters', counters: this.counters } satisfies WorkerMessage);
    worker.on('message', (msg: { id: number; error?: string }) => {
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      if (slot.pending.size === 0) worker.unref();
      if (msg.error) p.reject(failedPrecondition(`tree evaluation failed: ${msg.error}`));
      else p.resolve();
    });
    const fail = (why: string) => {
      for (const p of slot.pending.values()) p.reject(unavailable(`tree worker ${why}`));
      slot.pending.clear();
      this.slots = this.slots.filter((s) => s !== slot);
    };
    worker.on('error', (err) => fail(`crashed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
    worker.unref();
    return slot;
  }

  /** The index of the next worker in turn, for a lane of work to stay on. */
  nextWorker(): number {
    return this.cursor++ % this.size;
  }

  /** Has worker `index` take pieces of `piece` rows of one call, through `counter`, until none are left. */
  run(index: number, forestId: number, forest: Forest, x: Float32Array, stride: number, rows: number, piece: number, counter: number, out: Float32Array): Promise<void> {
    const slot = this.slot(index);
    if (!slot.forests.has(forestId)) {
      slot.forests.add(forestId);
      slot.worker.postMessage({ kind: 'forest', forestId, forest } satisfies WorkerMessage);
    }
    const id = this.nextJob++;
    return new Promise<void>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ kind: 'job', id, forestId, x, stride, rows, piece, counter, out } satisfies WorkerMessage);
    });
  }

  drop(forestId: number): void {
    for (const slot of this.slots) {
      if (slot.forests.delete(forestId)) slot.worker.postMessage({ kind: 'drop', forestId } satisfies WorkerMessage);
    }
  }
}

/**
 * Shared float32 buffers a model hands the workers, reused from call to call. A worker's isolate
 * keeps every SharedArrayBuffer it was sent alive until its own garbage collection, which its
 * tiny heap rarely needs: a fresh buffer per batch grew a batch job's memory by the size of
 * every matrix it scored. Reused buffers keep the backing stores to the calls in flight.
 */
export class SharedBuffers {
  private readonly free: SharedArrayBuffer[] = [];

  /** `length` floats of shared memory, of unspecified content. */
  take(length: number): Float32Array {
    const bytes = Math.max(1, length) * 4;
    // The smallest that fits (the list runs largest first), so a one-row call leaves the big ones.
    const i = this.free.findLastIndex((b) => b.byteLength >= bytes);
    const buffer = i >= 0 ? this.free.splice(i, 1)[0] : new SharedArrayBuffer(bytes);
    return new Float32Array(buffer, 0, length);
  }

  /** Returns a buffer from take(); a few are kept, the largest first, within a byte budget. */
  give(array: Float32Array): void {
    this.free.push(array.buffer as SharedArrayBuffer);
    this.free.sort((a, b) => b.byteLength - a.byteLength);
    if (this.free.length > MAX_FREE_BUFFERS) this.free.pop();
    // One huge request must not leave every loaded model holding its size for good.
    let total = this.free.reduce((sum, b) => sum + b.byteLength, 0);
    while (total > MAX_FREE_BYTES && this.free.length > 0) total -= this.free.shift()!.byteLength;
  }
}

/** Two buffers (matrix, margins) for each of a few concurrent calls. */
const MAX_FREE_BUFFERS = 8;
/** A batch job's chunk of 10,000 rows × 30 features is 1.2 MB; far larger matrices are not kept. */
const MAX_FREE_BYTES = 64 * 1024 * 1024;

let shared: WorkerSet | undefined;
const CHUNKS_PER_WORKER = 4;
const MIN_CHUNK_ROWS = 256;
let nextForest = 0;

/** A model's handle on the shared workers. */
export class TreePool {
  private readonly id = nextForest++;
  private closed = false;

  /** `parts`: how many pieces a batch is cut into (at most the number of workers). */
  constructor(
    private readonly forest: Forest,
    private readonly parts: number,
  ) {}

  /**
   * Adds margins for all `rows` of `x` (shared, row-major, `stride` columns) into `out`
   * (shared, base margins already filled). `parts` workers take pieces of rows from a shared
   * counter, a next one as each finishes, so a worker on a busy core simply does fewer pieces.
   * Each worker gets one message per call: a message carrying shared buffers costs 10-20 µs of
   * the caller's CPU, and a message per piece was a batch job's largest main-thread cost.
   */
  async run(x: Float32Array, stride: number, rows: number, out: Float32Array): Promise<void> {
    if (this.closed) throw failedPrecondition('predictor is closed');
    const workers = (shared ??= new WorkerSet(cpuCount()));
    const parts = Math.min(this.parts, workers.size);
    const piece = Math.max(MIN_CHUNK_ROWS, Math.ceil(rows / (parts * CHUNKS_PER_WORKER)));
    const counter = await workers.counter();
    // Closed while waiting for a counter: sending the forest now would install it for good.
    if (this.closed) {
      workers.release(counter);
      throw failedPrecondition('predictor is closed');
    }
    // Every worker's answer is awaited, failed or not: one that fails leaves the others taking
    // pieces from this counter and reading `x`, and a counter or buffer handed on meanwhile
    // would have them score another call's rows into this one's output.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(parts, Math.ceil(rows / piece)) }, () => workers.run(workers.nextWorker(), this.id, this.forest, x, stride, rows, piece, counter, out)),
    );
    workers.release(counter);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  close(): void {
    this.closed = true;
    shared?.drop(this.id);
  }
}
