/**
 * Where the flusher's batches go. The worker writer moves packed requests to a thread of its
 * own that builds the rows' JSON and inserts them over its own store connection, so neither
 * serialisation nor the database's commit cost lands on the serving thread. The inline writer
 * does the same work in this thread (used when the store cannot be reopened by URI, and as the
 * fallback if the worker dies).
 */
import { Worker } from 'node:worker_threads';
import { CompiledQuery, type Kysely } from 'kysely';
import type { StoreUri } from '../../config.js';
import type { Dialect } from '../../storage/metadata.js';
import { packEntries, unpackRows, type PackedEntries } from './pack.js';
import type { LogTables, MonPredictionTable } from './tables.js';
import type { PredictionRecord } from './types.js';

/** Rows per INSERT statement: 10 parameters each stays far below both engines' limits. */
const ROWS_PER_STATEMENT = 500;

export interface LogWriter {
  /** Writes the requests' rows; resolves with the number of rows written. */
  write(entries: readonly PredictionRecord[]): Promise<number>;
  close(): Promise<void>;
}

const COLUMNS = ['request_id', 'row_index', 'deployment', 'model', 'version', 'variant', 'time_ms', 'latency_ms', 'inputs', 'outputs'] as const;
const statements = new Map<string, string>();

/**
 * The multi-row INSERT for `n` rows. Written out rather than built by the query builder: at
 * thousands of rows a second, compiling the same statement's syntax tree for every batch cost
 * as much as the database's own work.
 */
function insertStatement(dialect: Dialect, n: number): string {
  const key = `${dialect}:${n}`;
  let text = statements.get(key);
  if (text === undefined) {
    let p = 0;
    const row = () => `(${COLUMNS.map(() => (dialect === 'postgres' ? `$${++p}` : '?')).join(', ')})`;
    const values = Array.from({ length: n }, row).join(', ');
    // A client may reuse a request id; the first logged answer stays the one feedback joins to.
    text = `insert into mon_prediction (${COLUMNS.join(', ')}) values ${values} on conflict (request_id, row_index) do nothing`;
    statements.set(key, text);
  }
  return text;
}

export async function insertRows(db: Kysely<LogTables>, dialect: Dialect, rows: MonPredictionTable[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      for (const r of chunk) for (const c of COLUMNS) params.push(r[c]);
      await trx.executeQuery(CompiledQuery.raw(insertStatement(dialect, chunk.length), params));
    }
  });
}

export class InlineWriter implements LogWriter {
  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    private readonly db: Kysely<any>,
    private readonly dialect: Dialect,
  ) {}

  async write(entries: readonly PredictionRecord[]): Promise<number> {
    const rows = unpackRows(packEntries(entries));
    await insertRows(this.db as Kysely<LogTables>, this.dialect, rows);
    return rows.length;
  }

  async close(): Promise<void> {}
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './writer-worker.ts' : './writer-worker.js', import.meta.url);

function spawn(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(ENTRY, { workerData });
  // Running from TypeScript sources (tests, benchmarks): the worker registers the same loader.
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export type WorkerReply = { id: number; written: number } | { id: number; error: string };
export interface WorkerRequest {
  id: number;
  packed: PackedEntries;
}

export class WorkerWriter implements LogWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve(n: number): void; reject(e: Error): void }>();
  private nextId = 0;
  private dead: Error | undefined;

  constructor(
    private readonly store: StoreUri,
    private readonly fallback: LogWriter,
  ) {}

  /** Started on the first write, so processes that never log (CLI commands) never pay for it. */
  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = spawn({ store: this.store });
    // An idle writer never holds the process open; one with writes in flight does.
    worker.unref();
    worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in msg) p.reject(new Error(msg.error));
      else p.resolve(msg.written);
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`prediction-log writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  write(entries: readonly PredictionRecord[]): Promise<number> {
    if (this.dead) return this.fallback.write(entries);
    const worker = this.started();
    const packed = packEntries(entries);
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, packed } satisfies WorkerRequest, [packed.nums.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.dead ??= new Error('the prediction log is closed');
    await this.worker?.terminate();
  }
}
