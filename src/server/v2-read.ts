/**
 * Reading V2 bodies: small ones right here, large ones on a worker thread. Reading a body of tens
 * of megabytes takes the event loop for a second or more, during which the server answers nothing
 * else, not even a health probe (issue 20); what the worker hands back is mostly typed arrays,
 * which cost a copy, not a parse.
 */
import type { Worker } from 'node:worker_threads';
import { ModelportError, type ErrorCode } from '../core/errors.js';
import { spawnModuleWorker } from '../core/workers.js';
import { readV2Request, type V2Request } from '../serving/index.js';

/** Bodies above this many bytes are read off the event loop. */
export const OFF_THREAD_FROM = 1 << 20;

interface Reply {
  id: number;
  request?: V2Request;
  error?: { code?: ErrorCode; message: string; details?: Record<string, unknown> };
}

let reader: { worker: Worker; waiting: Map<number, { resolve(r: V2Request): void; reject(e: Error): void }> } | undefined;
let nextId = 0;

function startReader(): NonNullable<typeof reader> {
  const worker = spawnModuleWorker(new URL(`./v2-read-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  worker.unref();
  const started = { worker, waiting: new Map() };
  worker.on('message', ({ id, request, error }: Reply) => {
    const waiter = started.waiting.get(id);
    started.waiting.delete(id);
    if (started.waiting.size === 0) worker.unref();
    if (!waiter) return;
    if (request) waiter.resolve(request);
    else waiter.reject(error?.code ? new ModelportError(error.code, error.message, error.details) : new Error(error?.message));
  });
  const fail = (err: Error) => {
    if (reader === started) reader = undefined;
    for (const w of started.waiting.values()) w.reject(err);
    started.waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the V2 body reader thread exited (code ${code})`)));
  return started;
}

/** `readV2Request`, on the worker thread for a body larger than OFF_THREAD_FROM. */
export function readV2(body: Buffer, headerLength?: number): V2Request | Promise<V2Request> {
  if (body.length <= OFF_THREAD_FROM) return readV2Request(body, headerLength);
  reader ??= startReader();
  const { worker, waiting } = reader;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.ref();
    worker.postMessage({ id, body, headerLength });
  });
}
