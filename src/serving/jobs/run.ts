/**
 * A batch scoring job: a CSV, JSON Lines or Parquet file read through DuckDB in chunks (a plain
 * CSV file by threads of the job's own, see csv-direct.ts), each chunk scored and committed as a
 * part file, the parts stitched into the output at the end.
 * Memory holds a few chunks whatever the file's size; reading, scoring and writing overlap so
 * both cores work. Killed at any moment and run again with the same arguments, the job scores
 * only the chunks that were not committed and writes the same bytes as an uninterrupted run.
 */
import { existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dirname, extname, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { invalidArgument, notFound } from '../../core/errors.js';
import { collectWhenGrown, collectYoung } from '../../core/gc.js';
import { lazyRequire } from '../../core/lazy-require.js';
import { sharedArray } from '../../core/shared-array.js';
import { checkStreamed, csvDelimiter, describe, readError, readerSql, sqlIdent, sqlString, tableFormatOf, type TableFormat } from '../../data/read-table.js';
import type { Batch, Signature, TensorSpec } from '../../models/index.js';
import { inputRows } from '../../data/row-count.js';
import { ChunkBytes, csvHeader, encodeRows, outputLayout, type OutputColumn, type OutputFormat } from './encode.js';
import { KeptText } from './kept-text.js';
import { CsvDirect, csvRoles } from './csv-direct.js';
import { JobParts, syncDir, workDirOf } from './parts.js';
import { planColumns, type Chunk, type ChunkColumn, type Reading } from './plan.js';

/** What scores the rows: the deployment's runtime in this process, or a server. */
export interface Scorer {
  /** Model name, version and content hash; a resume refuses another model. */
  readonly identity: string;
  readonly signature: Signature;
  /** A column score() also takes in place of every input, rows side by side (Predictor.rowMajorInput). */
  readonly rowMajorInput?: TensorSpec;
  score(batch: Batch): Promise<Batch>;
}

export interface BatchJobSpec {
  deployment: string;
  input: string;
  output: string;
  /** Input columns copied to the output, in this order, before the predictions. */
  keep?: string[];
  /** Rows per chunk (the unit of scoring and of resumption). */
  chunkRows?: number;
}

export interface BatchJobHooks {
  /**
   * Called once the input is checked: its rows (counted from line breaks for a text file, so a
   * blank line may make it differ from `rows` in the result), and how many an earlier run already scored.
   */
  onStart?(total: number, alreadyDone: number): void;
  onChunk?(rows: number): void;
  /**
   * Puts in place the chunks an earlier run committed where this process cannot see them (a
   * server keeps copies in its artifact store), before the job looks for what is left.
   */
  restore?(parts: JobParts): Promise<void>;
  /** Chunk `index` is committed at `path`; the job waits for this (a server copies the part out) before counting it. */
  onCommit?(index: number, path: string, layout: readonly OutputColumn[]): Promise<void>;
  /** Stops the job after the chunks in flight; what was committed stays for a resume. */
  signal?: AbortSignal;
  /**
   * The job has its process to itself (the CLI's `predict`), so it may run full collections to
   * keep its memory flat; in a server they would pause every request it serves meanwhile.
   */
  ownsProcess?: boolean;
}

export interface BatchJobResult {
  rows: number;
  chunks: number;
  /** Chunks an earlier, interrupted run had committed. */
  resumedChunks: number;
  output: string;
  format: OutputFormat;
}

const duckdbApi = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api');

export const DEFAULT_CHUNK_ROWS = 10_000;
/** Chunks scored at once: one on each core while the next is read. */
const IN_FLIGHT = 2;
/**
 * Scored chunks whose part file may still be on its way to disk. A commit's fsync took 1 ms at
 * the median and 17-33 ms at times here (a chunk scores in ~20 ms): waited for in the scoring
 * window, it stopped the reader and both cores meanwhile. Each holds its bytes (~35 bytes a row).
 */
const UNCOMMITTED = 4;
/**
 * DuckDB's CSV read buffer: its default (16 lines of the 2 MiB longest line) held ~80 MiB more at
 * the peak and parsed no faster. It must hold the longest line, which is DuckDB's limit anyway.
 */
const CSV_BUFFER_BYTES = 2 << 20;
/**
 * Rows encoded between two turns of the event loop. A chunk encoded in one go held the main thread
 * for milliseconds while DuckDB, which reads only as far as the fetch it was last given, stood idle
 * after one chunk of its own; between slices the reader takes what DuckDB fetched and asks for more.
 */
const ENCODE_SLICE_ROWS = 2048;
/** DuckDB chunks (2,048 rows) read between two collections of their dead wrappers: ~8 MiB. */
const CHUNKS_PER_COLLECTION = 16;
/**
 * Heap growth that triggers a full collection; the job's live heap is ~25 MiB. A 1M-row job
 * hardly reaches 24 MiB of growth and a 3M-row one does, which was the whole of the ~20 MiB its
 * peak had over the smaller file's; at 8 MiB a collection (~40 ms) comes every ~600k rows.
 */
const HEAP_SLACK_BYTES = 8 << 20;

const OUTPUT_FORMATS: Record<string, OutputFormat> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.parquet': 'parquet', '.pq': 'parquet' };

export function outputFormatOf(path: string): OutputFormat {
  const format = OUTPUT_FORMATS[extname(path).toLowerCase()];
  if (!format) throw invalidArgument(`--output: "${path}" has an unknown format "${extname(path) || '(no extension)'}"; use .csv, .jsonl or .parquet`);
  return format;
}

function inputFormatOf(path: string): TableFormat {
  if (!existsSync(path)) throw notFound(`--input: ${path}: no such file`);
  if (statSync(path).isDirectory()) throw invalidArgument(`--input: ${path} is a directory, expected a file`);
  const format = tableFormatOf(path);
  if (!format) throw invalidArgument(`--input: "${path}" has an unknown format "${extname(path) || '(no extension)'}"; use .csv, .tsv, .jsonl or .parquet`);
  return format;
}

/** DuckDB's VARCHAR: 16 bytes a value, its length first, then the text itself up to this long, else a pointer to it. */
const INLINE_TEXT_BYTES = 12;

/** Rows `from` to `from + take` of a VARCHAR vector of `n` rows onto `target`, as bytes. */
function copyText(vector: duckdb.Vector, n: number, from: number, take: number, target: KeptText): void {
  const data = duckdb.vector_get_data(vector, n * 16);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // NULL only where the validity mask (one bit a row, absent when every row is valid) says so.
  const valid = duckdb.vector_get_validity(vector, Math.ceil(n / 64) * 8);
  for (let r = from; r < from + take; r++) {
    if (valid && (valid[r >> 3] & (1 << (r & 7))) === 0) target.pushNull();
    else {
      const len = view.getUint32(r * 16, true);
      if (len <= INLINE_TEXT_BYTES) target.push(data, r * 16 + 4, len);
      else target.push(duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + r * 16 + 8, len), 0, len);
    }
  }
}

/**
 * Chunks of `chunkRows` rows (the last one shorter), from chunk `first` on. Numeric columns are
 * copied straight from DuckDB's vectors (NULL was made NaN in SQL, so they carry no nulls) into
 * one typed array per chunk. The rows before `first` are read and dropped here rather than
 * skipped with OFFSET: DuckDB's LIMIT and OFFSET collect their whole result before handing out
 * any of it, so memory would grow with the file.
 */
async function* readChunks(
  con: DuckDBConnection,
  sql: string,
  reading: readonly Reading[],
  chunkRows: number,
  first: number,
  seen: { rows: number },
  spare: ChunkColumn[][],
  fail: (err: unknown) => Error,
  ownsProcess: boolean,
): AsyncGenerator<Chunk> {
  const result = await con.stream(sql).catch((err) => Promise.reject(fail(err)));
  // A scored chunk's number columns come back through `spare`: ~2.4 MiB a chunk at 30 features
  // that would otherwise wait for a full collection.
  const reuse = (c: ChunkColumn): ChunkColumn => {
    if (Array.isArray(c)) return [];
    if (c instanceof KeptText) c.clear();
    return c;
  };
  const create = (r: Reading): ChunkColumn => {
    if (typeof r === 'object') {
      if (r.matrix === 'float64') return new Float64Array(chunkRows * r.width);
      return r.shared ? sharedArray(Float32Array, chunkRows * r.width) : new Float32Array(chunkRows * r.width);
    }
    return r === 'float32' ? new Float32Array(chunkRows) : r === 'float64' ? new Float64Array(chunkRows) : r === 'text' ? new KeptText() : [];
  };
  // Values per row of each column: a matrix's width, else 1.
  const widths = reading.map((r) => (typeof r === 'object' ? r.width : 1));
  const fresh = (): ChunkColumn[] => spare.pop()?.map(reuse) ?? reading.map(create);
  let index = first;
  let columns = fresh();
  let rows = 0;
  let skip = first * chunkRows;
  const ready: Chunk[] = [];
  const fetchNext = () => {
    const next = result.fetchChunk().catch((err) => Promise.reject(fail(err)));
    // Awaited by the next fetch, or by the finally below when the consumer stops first.
    next.catch(() => undefined);
    return next;
  };
  let next = fetchNext();
  /**
   * Copies DuckDB's next chunk (2,048 rows) whole, so few DuckDB chunks are alive while this
   * generator waits on its consumer: one that is gets promoted past the young collections
   * that free it, and its native memory waits for a full one. The one after it is asked for
   * first, so DuckDB decodes it on its thread while this one is copied and scored.
   */
  const fetch = async (): Promise<boolean> => {
    const chunk = await next;
    // rowCount asks DuckDB each time it is read.
    const n = chunk?.rowCount ?? 0;
    if (!chunk || n === 0) return false;
    next = fetchNext();
    seen.rows += n;
    let from = Math.min(skip, n);
    skip -= from;
    // Each number column's doubles, copied out of DuckDB once (a matrix's from its array's child vector).
    const numbers = reading.map((r, c) => {
      if (r === 'text' || r === 'values' || from === n) return undefined;
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
      const data = duckdb.vector_get_data(typeof r === 'object' ? duckdb.array_vector_get_child(vector) : vector, n * widths[c] * 8);
      return new Float64Array(data.buffer, data.byteOffset, n * widths[c]);
    });
    while (from < n) {
      const take = Math.min(chunkRows - rows, n - from);
      for (let c = 0; c < reading.length; c++) {
        const target = columns[c];
        const doubles = numbers[c];
        if (target instanceof KeptText) copyText(duckdb.data_chunk_get_vector(chunk.chunk, c), n, from, take, target);
        else if (doubles) {
          const w = widths[c];
          (target as Float32Array | Float64Array).set(doubles.subarray(from * w, (from + take) * w), rows * w);
        } else {
          const values = chunk.getColumnValues(c);
          for (let r = from; r < from + take; r++) (target as unknown[]).push(values[r]);
        }
      }
      rows += take;
      from += take;
      if (rows === chunkRows) {
        ready.push({ index: index++, rows, columns });
        columns = fresh();
        rows = 0;
      }
    }
    return true;
  };
  try {
    for (let fetched = 1; ; fetched++) {
      if (fetched % CHUNKS_PER_COLLECTION === 0) {
        collectYoung();
        if (ownsProcess) collectWhenGrown(HEAP_SLACK_BYTES);
      }
      const more = await fetch();
      while (ready.length > 0) yield ready.shift()!;
      if (!more) break;
    }
  } finally {
    // The connection closes after this: no fetch may still be running on it.
    await next.catch(() => undefined);
  }
  if (rows > 0) yield { index, rows, columns };
}

/** Bytes copied at a time when stitching text parts. */
const STITCH_BUFFER_BYTES = 1 << 20;

async function stitchText(parts: JobParts, chunks: number, header: string, target: string): Promise<void> {
  const fh = await open(target, 'w');
  // One buffer for every part: a part read whole is a fresh native allocation V8 frees only at
  // its next full collection, and stitching allocates little else, so they piled up with the file.
  const buf = Buffer.allocUnsafe(STITCH_BUFFER_BYTES);
  try {
    await fh.write(header);
    for (let i = 0; i < chunks; i++) {
      const part = await open(parts.partPath(i), 'r');
      try {
        for (let n = (await part.read(buf, 0, buf.length)).bytesRead; n > 0; n = (await part.read(buf, 0, buf.length)).bytesRead) await fh.write(buf, 0, n);
      } finally {
        await part.close();
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function stitchParquet(con: DuckDBConnection, parts: JobParts, chunks: number, layout: readonly OutputColumn[], target: string): Promise<void> {
  const files = Array.from({ length: chunks }, (_, i) => sqlString(parts.partPath(i))).join(', ');
  const columns = layout.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
  // One thread writes the row groups in one order, so the same rows make the same file.
  await con.run('SET threads = 1');
  await con.run(
    `COPY (SELECT ${layout.map((c) => sqlIdent(c.name)).join(', ')} FROM read_csv([${files}], header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${columns}})) TO ${sqlString(target)} (FORMAT PARQUET)`,
  );
}

/** Runs (or resumes) a batch job to completion; the output appears whole, by one rename. */
export async function runBatchJob(spec: BatchJobSpec, scorer: Scorer, hooks: BatchJobHooks = {}): Promise<BatchJobResult> {
  const chunkRows = spec.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw invalidArgument(`--batch-size: ${chunkRows} is not a whole number >= 1`);
  const format = outputFormatOf(spec.output);
  const input = resolve(spec.input);
  const output = resolve(spec.output);
  const inputFormat = inputFormatOf(input);
  if (!existsSync(dirname(output))) throw notFound(`--output: folder ${dirname(output)} does not exist`);
  if (input === output) throw invalidArgument('--output: must not be the input file');
  // Required rather than imported (see lazyRequire): ~140 ms of a job's CPU as an ES import.
  const { DuckDBInstance } = duckdbApi();
  // One DuckDB thread for Parquet: decoding is a small share of a job's CPU beside the tree workers
  // and the main thread, and each thread holds its own read buffers (~30 MiB at 1M rows). Two for
  // CSV, whose parsing is half a job's CPU: with a thread of its own DuckDB parses ahead of the
  // fetches (to its streaming buffer) instead of only while one waits (1M rows: +6 MiB peak).
  const threads = inputFormat === 'csv' ? '2' : '1';
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: '256MB', threads });
  const con = await instance.connect();
  let direct: CsvDirect | undefined;
  try {
    const from = readerSql(input, inputFormat, { csvBufferBytes: CSV_BUFFER_BYTES });
    let file;
    try {
      file = await describe(con, from);
    } catch (err) {
      throw readError(input, inputFormat, err);
    }
    const plan = planColumns(file, scorer.signature, spec.keep ?? [], scorer.rowMajorInput);
    const roles = inputFormat === 'csv' ? csvRoles(file, plan) : undefined;
    const delim = csvDelimiter(input);
    direct = roles && (await CsvDirect.open(input, delim, file.map((c) => c.name), roles, chunkRows));
    const total = direct ? direct.layout.rows : await inputRows(con, from, input, inputFormat).catch((err) => Promise.reject(readError(input, inputFormat, err)));
    if (total === 0) throw invalidArgument(`--input: ${input} has no rows to score`);
    const stat = statSync(input);
    const parts = await JobParts.open(workDirOf(output), {
      deployment: spec.deployment,
      input,
      inputBytes: stat.size,
      inputMtimeMs: Math.trunc(stat.mtimeMs),
      output,
      keep: spec.keep ?? [],
      chunkRows,
      model: scorer.identity,
    });
    await hooks.restore?.(parts);
    let first = 0;
    while (parts.done.has(first)) first++;
    hooks.onStart?.(total, Math.min(total, parts.done.size * chunkRows));
    const sql = `SELECT ${plan.select.join(', ')} FROM ${from}`;
    const spare: ChunkColumn[][] = [];
    // Output buffers back from committed chunks, one per chunk in flight.
    const sinks: ChunkBytes[] = [];
    /** Scores and encodes a chunk; its columns go back to the reader, its bytes to the commit. */
    const score = async (chunk: Chunk) => {
      const out = await scorer.score(plan.toBatch(chunk.columns, chunk.rows));
      if (out.rows !== chunk.rows) throw invalidArgument(`the model answered ${out.rows} rows for a chunk of ${chunk.rows}`);
      const layout = outputLayout(plan.kept, out);
      await parts.fixLayout(layout);
      const kept = chunk.columns.slice(plan.features) as KeptText[];
      const sink = sinks.pop() ?? new ChunkBytes();
      for (let r = 0; r < out.rows; r += ENCODE_SLICE_ROWS) {
        if (r > 0) await nextTurn();
        encodeRows(format, layout, kept, out, sink, r, Math.min(out.rows, r + ENCODE_SLICE_ROWS));
      }
      const bytes = sink.take();
      // One set for each chunk being scored and the one read ahead.
      if (spare.length <= IN_FLIGHT) spare.push(chunk.columns);
      return { bytes, sink, layout };
    };
    // Given the index and rows, not the chunk: its columns, held until the part is on disk, waited for a full collection.
    const commit = async (index: number, rows: number, { bytes, sink, layout }: Awaited<ReturnType<typeof score>>) => {
      await parts.commit(index, bytes);
      sinks.push(sink);
      await hooks.onCommit?.(index, parts.partPath(index), layout);
      hooks.onChunk?.(rows);
    };
    // Both in chunk order: the chunks being scored, and every chunk not committed yet.
    const scoring: Promise<unknown>[] = [];
    const inFlight: Promise<void>[] = [];
    const seen = { rows: 0 };
    const fail = (err: unknown) => readError(input, inputFormat, err);
    // A plain CSV file's chunks from its own threads, until one is not plain: that one and the rest from DuckDB.
    async function* readInput(): AsyncGenerator<Chunk> {
      let start = first;
      if (direct) {
        const stopped = yield* direct.read({ first, done: parts.done, spare, fail });
        if (stopped === undefined) {
          seen.rows = direct.layout.rows;
          return;
        }
        start = stopped;
      }
      yield* readChunks(con, sql, plan.reading, chunkRows, start, seen, spare, fail, hooks.ownsProcess ?? false);
    }
    const reader = readInput();
    // Each chunk is asked for as soon as the one before it is handed over, so DuckDB and the copy
    // read it while the loop waits on the chunks being scored; asked for after that wait, the
    // reading stood between one chunk's scoring and the next, both cores idle but DuckDB's.
    const readAhead = () => {
      const step = reader.next();
      step.catch(() => undefined);
      return step;
    };
    try {
      let next = readAhead();
      try {
        for (let step = await next; !step.done; step = await next) {
          const chunk = step.value;
          next = readAhead();
          if (hooks.signal?.aborted) break;
          if (parts.done.has(chunk.index)) continue;
          const scored = score(chunk);
          const { index, rows } = chunk;
          const committed = scored.then((encoded) => commit(index, rows, encoded));
          // A chunk may fail while the loop awaits another or the reader: handled here so that is no
          // unhandled rejection (which ends a server); the failure is rethrown when its turn comes.
          scored.catch(() => undefined);
          committed.catch(() => undefined);
          scoring.push(scored);
          inFlight.push(committed);
          if (scoring.length >= IN_FLIGHT) await scoring.shift();
          while (inFlight.length > UNCOMMITTED) await inFlight.shift();
        }
      } finally {
        // After the read ahead settles: the reader's own cleanup lets no DuckDB fetch outlive the connection.
        await reader.return(undefined);
      }
      while (inFlight.length > 0) await inFlight.shift();
    } catch (err) {
      await Promise.allSettled(inFlight);
      throw err;
    }
    hooks.signal?.throwIfAborted();
    if (seen.rows < total) await checkStreamed(con, sql, seen.rows).catch((err) => Promise.reject(readError(input, inputFormat, err)));
    const layout = parts.layout;
    if (!layout || seen.rows === 0) throw invalidArgument(`--input: ${input} has no rows to score`);
    const chunks = Math.ceil(seen.rows / chunkRows);
    const tmp = `${output}.modelport-tmp`;
    if (format === 'parquet') await stitchParquet(con, parts, chunks, layout, tmp);
    else await stitchText(parts, chunks, format === 'csv' ? csvHeader(layout) : '', tmp);
    await rename(tmp, output);
    await syncDir(dirname(output));
    await parts.remove();
    return { rows: seen.rows, chunks, resumedChunks: parts.done.size, output, format };
  } finally {
    await direct?.close();
    con.closeSync();
    instance.closeSync();
    await rm(`${output}.modelport-tmp`, { force: true });
  }
}
