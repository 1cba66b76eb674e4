/**
 * A thread parsing a batch job's plain CSV input: reads the byte range of one chunk of rows
 * itself and parses it into the chunk's matrix (shared memory), so the main thread never sees
 * the file's bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parseCsvRows, type CsvColumnRole, type KeptBytes } from './csv-rows.js';

/** The first message a thread gets: what it parses, for the whole job. */
export interface CsvSetup {
  path: string;
  delim: number;
  roles: CsvColumnRole[];
  width: number;
  keptCount: number;
}

export interface CsvRequest {
  id: number;
  start: number;
  end: number;
  rows: number;
  matrix: Float32Array;
}

/** `kept` undefined: the range is not plain CSV (see parseCsvRows). */
export type CsvAnswer = { id: number; kept?: KeptBytes[] } | { id: number; error: string };

let setup: CsvSetup;
let buf = Buffer.allocUnsafe(1 << 20);

/** Bytes `start` to `end` of the input into `buf`, a newline after them if they lack one; their length. */
function readRange(start: number, end: number): number {
  const length = end - start;
  if (buf.length < length + 1) buf = Buffer.allocUnsafe(length + 1);
  // Opened for each chunk: a thread ended by terminate() would leave an open descriptor behind.
  const fd = openSync(setup.path, 'r');
  try {
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buf, done, length - done, start + done);
      if (n === 0) throw new Error(`the file ended at byte ${start + done}, before ${end}: it changed while the job ran`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  if (length > 0 && buf[length - 1] === 0x0a) return length;
  buf[length] = 0x0a;
  return length + 1;
}

parentPort!.on('message', (msg: CsvSetup | CsvRequest) => {
  if (!('id' in msg)) {
    setup = msg;
    return;
  }
  try {
    const length = readRange(msg.start, msg.end);
    const kept = parseCsvRows(buf, 0, length, msg.rows, setup.delim, setup.roles, msg.matrix, setup.width, setup.keptCount);
    const transfer = kept?.flatMap((k) => [k.bytes.buffer, k.ends.buffer, k.nulls.buffer]) ?? [];
    parentPort!.postMessage({ id: msg.id, kept } satisfies CsvAnswer, transfer as ArrayBuffer[]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message } satisfies CsvAnswer);
  }
});
