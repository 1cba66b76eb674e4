/**
 * The SQLite online store's side of its writer thread (online-sqlite-worker.ts): started on
 * the first large write, it does not keep the process alive while idle.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../core/workers.js';
import { unavailable } from '../core/errors.js';
import type { WriterReply, WriterRequest } from './online-sqlite-worker.js';
import { concatRows, type PackedRows } from './packed-rows.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './online-sqlite-worker.ts' : './online-sqlite-worker.js', import.meta.url);

export interface WriterThread {
  msetNewer(keys: string[], rows: PackedRows, headerBytes: number): Promise<number>;
  close(): Promise<void>;
}

export function writerThread(path: string): WriterThread {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (n: number) => void; reject: (err: Error) => void }>();
  const failAll = (w: Worker, err: Error) => {
    if (worker !== w) return;
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = () => {
    const w = spawnModuleWorker(WORKER_URL);
    w.on('message', (reply: WriterReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ('error' in reply) p.reject(unavailable(`online store ${path}: ${reply.error}`));
      else p.resolve(reply.written);
    });
    w.on('error', (err) => failAll(w, unavailable(`online store ${path}: the writer thread failed: ${err.message}`)));
    w.on('exit', (code) => failAll(w, unavailable(`online store ${path}: the writer thread stopped (exit code ${code})`)));
    w.postMessage({ kind: 'open', path } satisfies WriterRequest);
    return w;
  };
  return {
    msetNewer(keys, rows, headerBytes) {
      worker ??= start();
      // A blob that fills its own memory moves to the thread; any other is copied first.
      const { blob, bounds } = rows.blob.byteOffset === 0 && rows.blob.byteLength === rows.blob.buffer.byteLength ? rows : concatRows([rows]);
      const id = nextId++;
      worker.ref();
      const done = new Promise<number>((resolve, reject) => pending.set(id, { resolve, reject }));
      worker.postMessage({ kind: 'write', id, keys, blob: blob.buffer as ArrayBuffer, bounds, headerBytes } satisfies WriterRequest, [blob.buffer as ArrayBuffer]);
      return done;
    },
    async close() {
      const w = worker;
      if (!w) return;
      failAll(w, unavailable(`online store ${path}: closed`));
      await w.terminate();
    },
  };
}
