/**
 * Where the flusher's batches go. The worker writer moves packed requests to a thread of its
 * own that encodes and inserts them over its own store connection, so neither serialisation nor
 * the database's commit cost lands on the serving thread. The inline writer does the same work
 * in this thread (used when the store cannot be reopened by URI, and as the fallback if the
 * worker dies).
 */
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { StoreUri } from '../../config.js';
import type { Dialect } from '../../storage/metadata.js';
import type { PackedEntries } from './pack.js';
import { insertSegments, type SegmentCipher } from './segments.js';
import type { LogTables } from './tables.js';

export interface LogWriter {
  /** Stores packed batches (each of one deployment); resolves with the number of rows written. */
  write(batches: readonly PackedEntries[]): Promise<number>;
  close(): Promise<void>;
}

export class InlineWriter implements LogWriter {
  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    private readonly db: Kysely<any>,
    private readonly dialect: Dialect,
    private readonly cipher: SegmentCipher,
  ) {}

  write(batches: readonly PackedEntries[]): Promise<number> {
    return insertSegments(this.db as Kysely<LogTables>, this.dialect, batches, this.cipher);
  }

  async close(): Promise<void> {}
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './writer-worker.ts' : './writer-worker.js', import.meta.url);

function spawn(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(ENTRY, { workerData });
  // Running from TypeScript sources (tests, benchmarks): the worker registers the same loader.
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export type WorkerReply = { id: number; written: number } | { id: number; error: string };
export interface WorkerRequest {
  id: number;
  batches: readonly PackedEntries[];
}

export class WorkerWriter implements LogWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve(n: number): void; reject(e: Error): void }>();
  private nextId = 0;
  private dead: Error | undefined;

  constructor(
    private readonly store: StoreUri,
    private readonly fallback: LogWriter,
    /** The thread seals segments with its own keyring over the same keys. */
    private readonly masterKeys?: { file?: string; key?: string },
  ) {}

  /** Started on the first write, so processes that never log (CLI commands) never pay for it. */
  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = spawn({ store: this.store, masterKeys: this.masterKeys });
    // An idle writer never holds the process open; one with writes in flight does.
    worker.unref();
    worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in msg) p.reject(new Error(msg.error));
      else p.resolve(msg.written);
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`prediction-log writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  write(batches: readonly PackedEntries[]): Promise<number> {
    if (this.dead) return this.fallback.write(batches);
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      // Copied, not transferred: a batch the thread fails to store is retried on the next flush.
      worker.postMessage({ id, batches } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.dead ??= new Error('the prediction log is closed');
    await this.worker?.terminate();
  }
}
