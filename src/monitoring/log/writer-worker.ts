/** The prediction-log writer thread: packed requests in, segments inserted over its own store connection. */
import { parentPort, workerData } from 'node:worker_threads';
import { sql, type Kysely } from 'kysely';
import type { StoreUri } from '../../config.js';
import { openMetadataStore } from '../../storage/metadata.js';
import { Keyring } from '../../security/keyring.js';
import { payloadCipher } from '../../security/sealed-payload.js';
import { insertSegments } from './segments.js';
import type { LogTables } from './tables.js';
import type { WorkerReply, WorkerRequest } from './writer.js';

const { store, masterKeys } = workerData as { store: StoreUri; masterKeys?: { file?: string; key?: string } };
const cipher = masterKeys ? payloadCipher(new Keyring(masterKeys), 'a prediction-log segment') : undefined;
const opened = openMetadataStore(store).then(async (m) => {
  // Logged predictions are telemetry, not acknowledged writes: on SQLite this connection skips
  // the fsync per commit (WAL still survives a process crash; a power cut may lose the last rows).
  if (m.dialect === 'sqlite') await sql`pragma synchronous = NORMAL`.execute(m.db);
  return m;
});
// Writes are applied one after another, in the order the flusher sent them.
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (msg: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      const store = await opened;
      reply = { id: msg.id, written: await insertSegments(store.db as Kysely<LogTables>, store.dialect, msg.batches, cipher) };
    } catch (err) {
      reply = { id: msg.id, error: (err as Error).message };
    }
    parentPort!.postMessage(reply);
  });
});
