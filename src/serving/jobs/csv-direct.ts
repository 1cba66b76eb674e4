/**
 * A batch job's CSV input read without DuckDB when it is plain: no quotes, no carriage returns,
 * no empty lines, a header naming the columns DuckDB found, only DOUBLE and integer features
 * and integer or text kept columns, and a model taking its rows as one shared float32 matrix.
 * Threads of its own read and parse each chunk's bytes straight into the chunk's matrix; DuckDB
 * parsed, copied and built a list per row on the main thread's behalf, ~3× the CPU. DuckDB still
 * reads the header and types the columns, so the columns are checked as before. A chunk that is
 * not plain after all (a value the strict grammar here does not take) hands the job back to
 * DuckDB from that chunk on, whose answer for it stands.
 */
import { open } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { cpuCount } from '../../core/cpus.js';
import { sharedArray } from '../../core/shared-array.js';
import { spawnModuleWorker } from '../../core/workers.js';
import type { CsvColumnRole, KeptBytes } from './csv-rows.js';
import type { CsvAnswer, CsvRequest, CsvSetup } from './csv-worker.js';
import { KeptText } from './encode.js';
import type { Chunk, ChunkColumn, FileColumn, Plan } from './plan.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './csv-worker.ts' : './csv-worker.js', import.meta.url);

/** Digits an integer column's value may have here: one fewer than its type can hold, so none overflows. */
const INTEGER_DIGITS: Record<string, number> = { BIGINT: 18, INTEGER: 9 };

/** What each file column is to the parsing threads, when they can read the file for `plan`. */
export function csvRoles(file: readonly FileColumn[], plan: Plan): CsvColumnRole[] | undefined {
  const matrix = plan.sharedMatrix;
  if (!matrix) return undefined;
  const kept = plan.kept.map((k) => k.name);
  const roles: CsvColumnRole[] = [];
  for (const col of file) {
    const role = { feature: matrix.indexOf(col.name), kept: kept.indexOf(col.name) };
    if (role.feature < 0 && role.kept < 0) return undefined;
    if (col.type === 'DOUBLE' && role.kept < 0) roles.push({ ...role, type: 'double', digits: 0 });
    else if (col.type in INTEGER_DIGITS) roles.push({ ...role, type: 'integer', digits: INTEGER_DIGITS[col.type] });
    else if (col.type === 'VARCHAR' && role.feature < 0) roles.push({ ...role, type: 'text', digits: 0 });
    else return undefined;
  }
  return roles;
}

export interface CsvLayout {
  rows: number;
  /** Byte offset of chunk i's first row; the last entry is the file's end. */
  starts: number[];
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;
const READ_BYTES = 1 << 20;

/**
 * Where each chunk of `chunkRows` rows starts in the file, from one pass over its line breaks
 * (the pass that counted its rows before); undefined when the file is not plain or its header
 * is not exactly `names`.
 */
export async function csvLayout(path: string, delim: string, names: readonly string[], chunkRows: number): Promise<CsvLayout | undefined> {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const fh = await open(path, 'r');
  try {
    const starts: number[] = [];
    let rows = 0;
    let at = 0;
    let lineStart = 0;
    for (let n = (await fh.read(buf, 0, READ_BYTES, at)).bytesRead; n > 0; at += n, n = (await fh.read(buf, 0, READ_BYTES, at)).bytesRead) {
      const bytes = buf.subarray(0, n);
      if (bytes.indexOf(QUOTE) >= 0 || bytes.indexOf(CR) >= 0) return undefined;
      let i = bytes.indexOf(NEWLINE);
      if (starts.length === 0) {
        // The header must lie within the first read.
        if (at > 0 || i < 0 || bytes.toString('utf8', 0, i) !== names.join(delim)) return undefined;
        lineStart = i + 1;
        starts.push(lineStart);
        i = bytes.indexOf(NEWLINE, i + 1);
      }
      for (; i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) {
        if (at + i === lineStart) return undefined;
        lineStart = at + i + 1;
        if (++rows % chunkRows === 0) starts.push(lineStart);
      }
    }
    if (starts.length === 0) return undefined;
    if (lineStart < at) rows++;
    if (starts[starts.length - 1] !== at) starts.push(at);
    return { rows, starts };
  } finally {
    await fh.close();
  }
}

/** Parsing threads, each taking the next chunk in line as it comes free. */
class CsvParsers {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: { request: CsvRequest; settle: (answer: CsvAnswer) => void }[] = [];
  private readonly working = new Map<Worker, (answer: CsvAnswer) => void>();
  private nextId = 0;

  constructor(threads: number, setup: CsvSetup) {
    for (let i = 0; i < threads; i++) {
      const worker = spawnModuleWorker(WORKER_URL);
      worker.postMessage(setup);
      worker.on('message', (answer: CsvAnswer) => {
        const settle = this.working.get(worker)!;
        this.working.delete(worker);
        this.idle.push(worker);
        this.pump();
        settle(answer);
      });
      const fail = (why: string) => {
        this.working.get(worker)?.({ id: -1, error: `CSV parsing thread ${why}` });
        this.working.delete(worker);
      };
      worker.on('error', (err) => fail(`crashed: ${err.message}`));
      worker.on('exit', (code) => fail(`exited with code ${code}`));
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const { request, settle } = this.queue.shift()!;
      this.working.set(worker, settle);
      worker.postMessage(request);
    }
  }

  /** Parses one chunk into `matrix`; its kept text, or undefined when the chunk is not plain. */
  parse(start: number, end: number, rows: number, matrix: Float32Array): Promise<KeptBytes[] | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        request: { id: this.nextId++, start, end, rows, matrix },
        settle: (answer) => ('error' in answer ? reject(new Error(answer.error)) : resolve(answer.kept)),
      });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

export interface CsvReading {
  path: string;
  delim: string;
  roles: CsvColumnRole[];
  /** Features per row: the matrix's width. */
  width: number;
  keptCount: number;
  layout: CsvLayout;
  chunkRows: number;
  first: number;
  /** Chunks an earlier run committed: not parsed again. */
  done: ReadonlySet<number>;
  /** Columns of scored chunks, for reuse (as readChunks takes them). */
  spare: ChunkColumn[][];
  fail: (err: unknown) => Error;
}

/**
 * The job's chunks from `first` on, in order. Returns undefined when every chunk was read, else
 * the index of the first chunk that is not plain, which was not yielded, nor any after it.
 */
export async function* readCsvDirect(r: CsvReading): AsyncGenerator<Chunk, number | undefined> {
  const threads = cpuCount();
  const parsers = new CsvParsers(threads, { path: r.path, delim: r.delim.charCodeAt(0), roles: r.roles, width: r.width, keptCount: r.keptCount });
  const chunks = r.layout.starts.length - 1;
  const fresh = (): ChunkColumn[] => {
    const reused = r.spare.pop();
    if (!reused) return [sharedArray(Float32Array, r.chunkRows * r.width), ...Array.from({ length: r.keptCount }, () => new KeptText())];
    for (const c of reused) if (c instanceof KeptText) c.clear();
    return reused;
  };
  // One chunk parsing on each thread and one waiting for the first to come free.
  const ahead: { index: number; rows: number; columns: ChunkColumn[]; kept: Promise<KeptBytes[] | undefined> }[] = [];
  let next = r.first;
  const launch = () => {
    while (next < chunks && r.done.has(next)) next++;
    if (next >= chunks) return;
    const index = next++;
    const rows = Math.min(r.chunkRows, r.layout.rows - index * r.chunkRows);
    const columns = fresh();
    const kept = parsers.parse(r.layout.starts[index], r.layout.starts[index + 1], rows, columns[0] as Float32Array);
    // Awaited in turn below, or by the finally when the consumer stops first.
    kept.catch(() => undefined);
    ahead.push({ index, rows, columns, kept });
  };
  try {
    for (let i = 0; i <= threads; i++) launch();
    while (ahead.length > 0) {
      const chunk = ahead.shift()!;
      const kept = await chunk.kept.catch((err) => Promise.reject(r.fail(err)));
      if (!kept) return chunk.index;
      kept.forEach((k, j) => (chunk.columns[1 + j] as KeptText).assign(k.bytes, k.ends, k.nulls, chunk.rows));
      launch();
      yield { index: chunk.index, rows: chunk.rows, columns: chunk.columns };
    }
    return undefined;
  } finally {
    // No thread may still write into a matrix once the job hands it on.
    await Promise.allSettled(ahead.map((a) => a.kept));
    await parsers.close();
  }
}
