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

/**
 * The WAL the thread's writes may grow before SQLite checkpoints it into the database (256 MiB):
 * checkpointing at SQLite's default (1,000 pages, 16 MiB here) took a fifth of a 200,000-entity
 * materialize, rewriting index pages that the next batch changed again. The thread checkpoints
 * what is left once it has been idle for IDLE_CHECKPOINT_MS, off the callers' threads, as SQLite
 * advises for heavy writers, and the WAL file is cut back to WAL_KEPT_BYTES when it restarts.
 */
const WAL_BYTES = 256 * 1024 * 1024;
const WAL_KEPT_BYTES = 64 * 1024 * 1024;
const IDLE_CHECKPOINT_MS = 50;

let write: ReturnType<typeof newerWriter> | Error = new Error('the writer thread has no database open');
let db: Database.Database | undefined;
let idle: NodeJS.Timeout | undefined;

/** A passive checkpoint: it waits for no reader or writer, and one that cannot finish now is left to the next. */
function checkpoint(): void {
  try {
    db?.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLite retries a checkpoint it could not make at the next one; nothing is lost.
  }
}

parentPort!.on('message', (msg: WriterRequest) => {
  if (msg.kind === 'open') {
    try {
      db = new Database(msg.path);
      configure(db);
      db.pragma(`wal_autocheckpoint = ${Math.ceil(WAL_BYTES / (db.pragma('page_size', { simple: true }) as number))}`);
      db.pragma(`journal_size_limit = ${WAL_KEPT_BYTES}`);
      db.exec(KV_TABLE);
      write = newerWriter(db);
    } catch (err) {
      write = err as Error;
    }
    return;
  }
  clearTimeout(idle);
  try {
    if (write instanceof Error) throw write;
    const { keys, blob, offset, bounds } = msg;
    const values = keys.map((_, i) => Buffer.from(blob, offset + bounds[2 * i], bounds[2 * i + 1] - bounds[2 * i]));
    parentPort!.postMessage({ id: msg.id, written: write(keys, values, msg.headerBytes, msg.order) } satisfies WriterReply);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message, code: (err as { code?: string }).code } satisfies WriterReply);
  }
  idle = setTimeout(checkpoint, IDLE_CHECKPOINT_MS).unref();
});
