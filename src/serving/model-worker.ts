/**
 * Entry of a model worker thread: loads one model with the model runtimes and answers predict
 * requests, so onnxruntime's synchronous run never holds the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isModelportError } from '../core/errors.js';
import { Batch, loadModel, type Column, type LoadOptions, type Predictor } from '../models/index.js';
import { singleRowCpuMicros, singleRowMicros } from './warmup.js';

export type WireColumns = [string, Column][];

export type ToWorker = { kind: 'predict'; id: number; rows: number; columns: WireColumns } | { kind: 'close' };

export type FromWorker =
  | { kind: 'loaded'; flavor: string; signature: Predictor['signature']; metadata: Predictor['metadata']; singleRowMicros?: number; concurrentCalls?: number }
  | { kind: 'failed'; code?: string; message: string }
  | { kind: 'result'; id: number; rows: number; columns: WireColumns }
  | { kind: 'error'; id: number; code?: string; message: string }
  | { kind: 'closed' };

const { path, options } = workerData as { path: string; options: LoadOptions };
const port = parentPort!;
const failure = (err: unknown) => ({ code: isModelportError(err) ? err.code : undefined, message: (err as Error).message });

let predictor: Predictor;
try {
  predictor = await loadModel(path, options);
  // A call spread over intra-op threads costs the event loop its wall time, not this thread's CPU.
  const measure = (options.threads ?? 1) > 1 ? singleRowMicros : singleRowCpuMicros;
  const micros = await measure((b) => predictor.predict(b), predictor.signature).catch(() => undefined);
  port.postMessage({ kind: 'loaded', flavor: predictor.flavor, signature: predictor.signature, metadata: predictor.metadata, singleRowMicros: micros, concurrentCalls: predictor.concurrentCalls } satisfies FromWorker);
} catch (err) {
  port.postMessage({ kind: 'failed', ...failure(err) } satisfies FromWorker);
}

port.on('message', async (msg: ToWorker) => {
  if (msg.kind === 'close') {
    await predictor?.close().catch(() => undefined);
    port.postMessage({ kind: 'closed' } satisfies FromWorker);
    port.close();
    return;
  }
  try {
    const out = await predictor.predict(Batch.from(msg.columns, msg.rows));
    port.postMessage({ kind: 'result', id: msg.id, rows: out.rows, columns: [...out.columns] } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ kind: 'error', id: msg.id, ...failure(err) } satisfies FromWorker);
  }
});
