/**
 * Entry of a model worker thread: loads one model with the model runtimes and answers predict
 * requests, so onnxruntime's synchronous run never holds the server's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { isModelportError } from '../core/errors.js';
import { Batch, compact, loadModel, type Column, type LoadOptions, type Predictor } from '../models/index.js';
import { cheapestCallMicros } from './warmup.js';

export type WireColumns = [string, Column][];

export type ToWorker =
  | { kind: 'load'; path: string; options: LoadOptions }
  | { kind: 'predict'; id: number; rows: number; columns: WireColumns }
  | { kind: 'unload' }
  | { kind: 'close' };

export type FromWorker =
  | { kind: 'loaded'; flavor: string; signature: Predictor['signature']; metadata: Predictor['metadata']; singleRowMicros?: number; concurrentCalls?: number }
  | { kind: 'failed'; code?: string; message: string }
  | { kind: 'result'; id: number; rows: number; columns: WireColumns }
  | { kind: 'error'; id: number; code?: string; message: string }
  | { kind: 'unloaded' }
  | { kind: 'closed' };

const port = parentPort!;
const failure = (err: unknown) => ({ code: isModelportError(err) ? err.code : undefined, message: (err as Error).message });

let predictor: Predictor | undefined;

async function manage(msg: Exclude<ToWorker, { kind: 'predict' }>): Promise<void> {
  if (msg.kind === 'load') {
    try {
      const loaded = await loadModel(msg.path, msg.options);
      predictor = loaded;
      // Wall time: a call spread over intra-op threads costs the event loop its wall time too.
      const micros = await cheapestCallMicros((b) => loaded.predict(b), loaded.signature).catch(() => undefined);
      port.postMessage({ kind: 'loaded', flavor: loaded.flavor, signature: loaded.signature, metadata: loaded.metadata, singleRowMicros: micros, concurrentCalls: loaded.concurrentCalls } satisfies FromWorker);
    } catch (err) {
      port.postMessage({ kind: 'failed', ...failure(err) } satisfies FromWorker);
    }
    return;
  }
  const unloading = predictor;
  predictor = undefined;
  await unloading?.close().catch(() => undefined);
  if (msg.kind === 'unload') return port.postMessage({ kind: 'unloaded' } satisfies FromWorker);
  port.postMessage({ kind: 'closed' } satisfies FromWorker);
  port.close();
}

// One model at a time; after `unload` the thread, its runtimes already imported, can take another.
// Loads and unloads apply in the order sent (a load may follow an unload at once).
let managing = Promise.resolve();
port.on('message', async (msg: ToWorker) => {
  if (msg.kind !== 'predict') {
    managing = managing.then(() => manage(msg));
    return;
  }
  try {
    if (!predictor) throw new Error('no model is loaded in this worker');
    const out = compact(await predictor.predict(Batch.from(msg.columns, msg.rows)));
    port.postMessage({ kind: 'result', id: msg.id, rows: out.rows, columns: [...out.columns] } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ kind: 'error', id: msg.id, ...failure(err) } satisfies FromWorker);
  }
});
