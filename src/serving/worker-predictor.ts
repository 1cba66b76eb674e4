/**
 * A Predictor whose model lives in a worker thread of its own: the event loop only copies
 * input and output columns across, the model math runs on another core.
 */
import { Worker } from 'node:worker_threads';
import { ModelportError, unavailable, type ErrorCode } from '../core/errors.js';
import { Batch, type LoadOptions, type Predictor, type Signature } from '../models/index.js';
import type { FromWorker, ToWorker } from './model-worker.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './model-worker.ts' : './model-worker.js', import.meta.url);

/** Under tsx (tests, benchmarks) a worker must register tsx before importing its TypeScript entry. */
function spawn(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(ENTRY, { workerData });
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

const asError = (e: { code?: string; message: string }) => new ModelportError((e.code as ErrorCode | undefined) ?? 'FailedPrecondition', e.message);

class WorkerPredictor implements Predictor {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(b: Batch): void; reject(e: Error): void }>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly worker: Worker,
    readonly flavor: string,
    readonly signature: Signature,
    readonly metadata: Readonly<Record<string, unknown>>,
    /** Median one-row call inside the worker, measured at load (undefined without a signature). */
    readonly singleRowMicros: number | undefined,
    /** The loaded model's own (calls overlap through the worker as they do in it). */
    readonly concurrentCalls: number | undefined,
  ) {
    worker.on('message', (msg: FromWorker) => {
      if (msg.kind !== 'result' && msg.kind !== 'error') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.kind === 'result') p.resolve(Batch.from(msg.columns, msg.rows));
      else p.reject(asError(msg));
    });
    worker.on('error', (err) => this.failAll(unavailable(`model worker crashed: ${err.message}`)));
    worker.on('exit', () => this.failAll(unavailable('model worker exited')));
    worker.unref();
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
      this.worker.postMessage({ kind: 'predict', id, rows: batch.rows, columns: [...batch.columns] } satisfies ToWorker);
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ kind: 'close' } satisfies ToWorker);
    });
    return this.closing;
  }
}

/** Loads the model at `path` inside a new worker thread. */
export function loadInWorker(path: string, options: LoadOptions): Promise<Predictor & { singleRowMicros: number | undefined }> {
  const worker = spawn({ path, options });
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.kind === 'loaded') {
        worker.off('message', onMessage);
        resolve(new WorkerPredictor(worker, msg.flavor, msg.signature, msg.metadata, msg.singleRowMicros, msg.concurrentCalls));
      } else if (msg.kind === 'failed') {
        void worker.terminate();
        reject(asError(msg));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => reject(unavailable(`model worker failed to start: ${err.message}`)));
  });
}
