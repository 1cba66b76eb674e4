/**
 * A thread reading a batch job's plain CSV input: it finds the line breaks of a block of the file
 * (for the job to cut it into chunks), and parses a chunk's byte range into the chunk's matrix
 * (shared memory), reading the bytes itself, so the main thread never holds the file's bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parseCsvRows, type CsvColumnRole } from './csv-rows.js';
import type { KeptBytes } from './kept-text.js';

/** The first message a thread gets: what it reads, for the whole job. */
export interface CsvSetup {
  path: string;
  delim: number;
  roles: CsvColumnRole[];
}

export type CsvRequest =
  /** The offsets of the line breaks in bytes `start` to `end`. */
  | { kind: 'scan'; id: number; start: number; end: number }
  | { kind: 'parse'; id: number; start: number; end: number; rows: number; matrix: Float32Array };

/**
 * A scan's line breaks, undefined when the block holds a quote or a carriage return; a parse's kept
 * text, undefined when the range is not plain CSV (see parseCsvRows).
 */
export type CsvAnswer = { id: number; breaks?: Float64Array<ArrayBuffer>; kept?: KeptBytes[] } | { id: number; error: string };

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;
/** Bytes a scan reads at a time. */
const SCAN_BYTES = 1 << 20;

let setup: CsvSetup;
let buf = Buffer.allocUnsafe(SCAN_BYTES);

/** Reads bytes `start` to `end` of the open file `fd` into `buf` from offset 0. */
function readInto(fd: number, start: number, end: number): void {
  for (let done = 0; done < end - start; ) {
    const n = readSync(fd, buf, done, end - start - done, start + done);
    if (n === 0) throw new Error(`the file ended at byte ${start + done}, before ${end}: it changed while the job ran`);
    done += n;
  }
}

function scan(fd: number, start: number, end: number): Float64Array<ArrayBuffer> | undefined {
  let breaks = new Float64Array(1024);
  let count = 0;
  for (let at = start; at < end; at += SCAN_BYTES) {
    const n = Math.min(SCAN_BYTES, end - at);
    readInto(fd, at, at + n);
    const bytes = buf.subarray(0, n);
    if (bytes.indexOf(QUOTE) >= 0 || bytes.indexOf(CR) >= 0) return undefined;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) {
      if (count === breaks.length) {
        const more = new Float64Array(2 * count);
        more.set(breaks);
        breaks = more;
      }
      breaks[count++] = at + i;
    }
  }
  return breaks.slice(0, count);
}

/** Parses bytes `start` to `end` (a newline added after them if they lack one) into `matrix`. */
function parse(fd: number, start: number, end: number, rows: number, matrix: Float32Array): KeptBytes[] | undefined {
  const length = end - start;
  if (buf.length < length + 1) buf = Buffer.allocUnsafe(length + 1);
  readInto(fd, start, end);
  let last = length;
  if (length === 0 || buf[length - 1] !== NEWLINE) buf[last++] = NEWLINE;
  return parseCsvRows(buf, 0, last, rows, setup.delim, setup.roles, matrix);
}

parentPort!.on('message', (msg: CsvSetup | CsvRequest) => {
  if (!('id' in msg)) {
    setup = msg;
    return;
  }
  try {
    // Opened for each request: a thread ended by terminate() would leave an open descriptor behind.
    const fd = openSync(setup.path, 'r');
    try {
      if (msg.kind === 'scan') {
        const breaks = scan(fd, msg.start, msg.end);
        parentPort!.postMessage({ id: msg.id, breaks } satisfies CsvAnswer, breaks ? [breaks.buffer] : []);
      } else {
        const kept = parse(fd, msg.start, msg.end, msg.rows, msg.matrix);
        const transfer = kept?.flatMap((k) => [k.bytes.buffer, k.ends.buffer, k.nulls.buffer]) ?? [];
        parentPort!.postMessage({ id: msg.id, kept } satisfies CsvAnswer, transfer);
      }
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message } satisfies CsvAnswer);
  }
});
