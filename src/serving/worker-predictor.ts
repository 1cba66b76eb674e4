/**
 * A Predictor whose model lives in a worker thread of its own: the event loop only copies
 * input and output columns across, the model math runs on another core.
 */
import { Worker } from 'node:worker_threads';
import { ModelportError, unavailable, type ErrorCode } from '../core/errors.js';
import { Batch, compact, type LoadOptions, type Predictor, type Signature } from '../models/index.js';
import type { FromWorker, ToWorker } from './model-worker.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './model-worker.ts' : './model-worker.js', import.meta.url);

/** Under tsx (tests, benchmarks) a worker must register tsx before importing its TypeScript entry. */
function spawn(): Worker {
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  const worker = FROM_SOURCE ? new Worker(code, { eval: true }) : new Worker(ENTRY);
  const forget = () => {
    if (spare === worker) spare = undefined;
  };
  worker.on('exit', forget).on('error', forget);
  return worker;
}

/**
 * A thread whose model was unloaded, kept for the next load: starting a thread and importing
 * the model runtimes into it costs hundreds of milliseconds (seconds on a loaded machine), most
 * of what a hot swap to a small model would otherwise wait for. At most one is kept, idle and
 * unreferenced (it never holds the process open).
 */
let spare: Worker | undefined;

/**
 * Starts the spare thread now if there is none (a deployment that follows an alias will load
 * again when it moves, and its serving thread becomes a spare only after that load).
 */
export function prepareSpareWorker(): void {
  if (spare) return;
  spare = spawn();
  spare.unref();
}

function takeWorker(): Worker {
  const worker = spare ?? spawn();
  spare = undefined;
  return worker;
}

const asError = (e: { code?: string; message: string }) => new ModelportError((e.code as ErrorCode | undefined) ?? 'FailedPrecondition', e.message);

class WorkerPredictor implements Predictor {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(b: Batch): void; reject(e: Error): void }>();
  private closing: Promise<void> | undefined;
  private readonly onMessage = (msg: FromWorker) => {
    if (msg.kind !== 'result' && msg.kind !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if (msg.kind === 'result') p.resolve(Batch.from(msg.columns, msg.rows));
    else p.reject(asError(msg));
  };
  private readonly onError = (err: Error) => this.failAll(unavailable(`model worker crashed: ${err.message}`));
  private readonly onExit = () => this.failAll(unavailable('model worker exited'));

  constructor(
    private readonly worker: Worker,
    readonly flavor: string,
    readonly signature: Signature,
    readonly metadata: Readonly<Record<string, unknown>>,
    /** The cheapest one-row call inside the worker, measured at load (undefined without a signature). */
    readonly singleRowMicros: number | undefined,
    /** The loaded model's own (calls overlap through the worker as they do in it). */
    readonly concurrentCalls: number | undefined,
  ) {
    worker.on('message', this.onMessage);
    worker.on('error', this.onError);
    worker.on('exit', this.onExit);
    worker.unref();
  }

  /** The thread the model runs in. */
  get threadId(): number {
    return this.worker.threadId;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  predict(batch: Batch): Promise<Batch> {
    if (this.closing) return Promise.reject(unavailable('the model was unloaded'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      // A structured clone copies a view's whole buffer: a pooled input's slab, a binary body.
      this.worker.postMessage({ kind: 'predict', id, rows: batch.rows, columns: [...compact(batch).columns] } satisfies ToWorker);
    });
  }

  /** Unloads the model; the thread becomes the spare when there is none, else it ends. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const worker = this.worker;
      const detach = () => {
        worker.off('message', this.onMessage).off('error', this.onError).off('exit', this.onExit);
        this.failAll(unavailable('the model was unloaded'));
      };
      worker.ref();
      if (spare) {
        worker.once('exit', () => resolve());
        worker.postMessage({ kind: 'close' } satisfies ToWorker);
        return;
      }
      const gone = () => resolve();
      worker.once('exit', gone);
      // The thread becomes the spare only once unloaded: a load taking it earlier would get its ref() undone here.
      const unloaded = (msg: FromWorker) => {
        if (msg.kind !== 'unloaded') return;
        worker.off('message', unloaded);
        detach();
        if (spare) return void worker.postMessage({ kind: 'close' } satisfies ToWorker);
        worker.off('exit', gone);
        spare = worker;
        worker.unref();
        resolve();
      };
      worker.on('message', unloaded);
      worker.postMessage({ kind: 'unload' } satisfies ToWorker);
    });
    return this.closing;
  }
}

/** Loads the model at `path` inside a worker thread (the spare one if there is one). */
export function loadInWorker(path: string, options: LoadOptions): Promise<Predictor & { singleRowMicros: number | undefined; threadId: number }> {
  const worker = takeWorker();
  worker.ref();
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.kind === 'loaded') {
        worker.off('message', onMessage).off('error', onError);
        resolve(new WorkerPredictor(worker, msg.flavor, msg.signature, msg.metadata, msg.singleRowMicros, msg.concurrentCalls));
      } else if (msg.kind === 'failed') {
        worker.off('message', onMessage).off('error', onError);
        void worker.terminate();
        reject(asError(msg));
      }
    };
    const onError = (err: Error) => reject(unavailable(`model worker failed to start: ${err.message}`));
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.postMessage({ kind: 'load', path, options } satisfies ToWorker);
  });
}
