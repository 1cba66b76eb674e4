/**
 * The SQLite online store's side of its writer thread (online-sqlite-worker.ts): started on
 * the first large write, it does not keep the process alive while idle.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../core/workers.js';
import { failedPrecondition, unavailable } from '../core/errors.js';
import type { WriterReply, WriterRequest } from './online-sqlite-worker.js';
import { concatRows, type PackedRows } from './packed-rows.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './online-sqlite-worker.ts' : './online-sqlite-worker.js', import.meta.url);

export interface WriterThread {
  /** Starts the thread now, so that its start overlaps the caller's work (else the first write starts it). */
  start(): void;
  /** `order`: the keys' places in key order (keyOrder), which the thread writes them in. */
  msetNewer(keys: string[], order: Uint32Array, rows: PackedRows, headerBytes: number): Promise<number>;
  close(): Promise<void>;
}

export function writerThread(path: string): WriterThread {
  let worker: Worker | undefined;
  let closed = false;
  let nextId = 0;
  const pending = new Map<number, { resolve: (n: number) => void; reject: (err: Error) => void; done: Promise<number> }>();
  const failAll = (w: Worker, err: Error) => {
    if (worker !== w) return;
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const spawn = () => {
    const w = spawnModuleWorker(WORKER_URL);
    w.on('message', (reply: WriterReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ('error' in reply) p.reject(writeError(path, reply.error, reply.code));
      else p.resolve(reply.written);
    });
    w.on('error', (err) => failAll(w, unavailable(`online store ${path}: the writer thread failed: ${err.message}`)));
    w.on('exit', (code) => failAll(w, unavailable(`online store ${path}: the writer thread stopped (exit code ${code})`)));
    w.postMessage({ kind: 'open', path } satisfies WriterRequest);
    w.unref();
    return w;
  };
  return {
    start() {
      if (!closed) worker ??= spawn();
    },
    msetNewer(keys, order, rows, headerBytes) {
      if (closed) return Promise.reject(failedPrecondition(`online store ${path}: closed`));
      worker ??= spawn();
      // The thread reads the blob in shared memory, where it is copied unless it lies there
      // already. Never moved (transferred): detaching a buffer makes V8's optimised code check
      // every typed array access of this process for detachment from then on (see HttpTransport).
      const { blob, bounds } = rows.blob.buffer instanceof SharedArrayBuffer ? rows : concatRows([rows], true);
      const id = nextId++;
      worker.ref();
      let settle!: { resolve: (n: number) => void; reject: (err: Error) => void };
      const done = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
      pending.set(id, { ...settle, done });
      const request: WriterRequest = { kind: 'write', id, keys, order, blob: blob.buffer, offset: blob.byteOffset, bounds, headerBytes };
      worker.postMessage(request);
      return done;
    },
    async close() {
      closed = true;
      // Writes in flight end first: one stopped half-way would be told failed though committed.
      await Promise.allSettled([...pending.values()].map((p) => p.done));
      const w = worker;
      if (!w) return;
      worker = undefined;
      await w.terminate();
    },
  };
}

/**
 * A failed write as the caller's own connection would have raised it (SQLite's message and
 * code), but a locked database, which a retry may get past, as unavailable.
 */
function writeError(path: string, message: string, code: string | undefined): Error {
  if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) return unavailable(`online store ${path}: ${message}`);
  return Object.assign(new Error(message), { code });
}
