/**
 * The SQLite online store's writer thread: large writes of newer rows run here, on a
 * connection of their own, so the thread that sent them goes on working (materialize encodes
 * its next rows meanwhile) and its readers are not stalled by the writes (WAL readers do not
 * wait for the writer).
 */
import Database from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';
import { configure, KV_TABLE, newerWriter } from './online-sqlite-newer.js';

export type WriterRequest =
  | { kind: 'open'; path: string }
  | { kind: 'write'; id: number; keys: string[]; order: Uint32Array; blob: ArrayBufferLike; offset: number; bounds: Uint32Array; headerBytes: number };
export type WriterReply = { id: number; written: number } | { id: number; error: string; code?: string };

let write: ReturnType<typeof newerWriter> | Error = new Error('the writer thread has no database open');

parentPort!.on('message', (msg: WriterRequest) => {
  if (msg.kind === 'open') {
    try {
      const db = new Database(msg.path);
      configure(db);
      db.exec(KV_TABLE);
      write = newerWriter(db);
    } catch (err) {
      write = err as Error;
    }
    return;
  }
  try {
    if (write instanceof Error) throw write;
    const { keys, blob, offset, bounds } = msg;
    const values = keys.map((_, i) => Buffer.from(blob, offset + bounds[2 * i], bounds[2 * i + 1] - bounds[2 * i]));
    parentPort!.postMessage({ id: msg.id, written: write(keys, values, msg.headerBytes, msg.order) } satisfies WriterReply);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message, code: (err as { code?: string }).code } satisfies WriterReply);
  }
});
