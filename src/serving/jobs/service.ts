/**
 * Batch jobs run by a server: the input is a file in the artifact store (uploaded, or a dataset
 * version), the job runs in the background on this process's copy of the deployment, and its
 * output goes to the artifact store. State, progress, row counts and errors live in the
 * metadata store. A job interrupted by a restart resumes from its committed chunks when the
 * server starts again.
 *
 * Among replicas, a queued or running job is held by one of them under a lease it renews; once
 * the lease runs out (its replica died) another replica takes the job over. Each committed chunk
 * is copied to the artifact store, so the replica taking over resumes from the last one instead
 * of the start. Every state write checks the holder, so a replica that lost a job cannot finish it too.
 */
import { createWriteStream, createReadStream, existsSync, mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { failedPrecondition, invalidArgument, isModelportError, notFound } from '../../core/errors.js';
import { timeOrderedId } from '../../core/ids.js';
import type { TableFormat } from '../../data/read-table.js';
import type { BlobStore } from '../../storage/blobs.js';
import { checkSha256 } from '../../storage/blobs.js';
import type { MetadataStore } from '../../storage/metadata.js';
import type { ServingService } from '../service.js';
import type { OutputColumn, OutputFormat } from './encode.js';
import type { JobParts } from './parts.js';
import { DEFAULT_CHUNK_ROWS, runBatchJob } from './run.js';
import { deploymentScorer } from './scorer.js';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobInput {
  /** A file in the artifact store ... */
  sha256?: string;
  /** ... or a dataset version, "name" (the latest at submit time, stored as "name@version") or "name@version". */
  dataset?: string;
  /** The input's format; required with sha256 (a dataset knows its own). */
  format?: TableFormat;
}

export interface SubmitJob {
  deployment: string;
  input: JobInput;
  outputFormat?: OutputFormat;
  keep?: string[];
  chunkRows?: number;
}

export interface Job {
  id: string;
  deployment: string;
  state: JobState;
  input: JobInput;
  outputFormat: OutputFormat;
  keep: string[];
  chunkRows: number;
  /** The model version that scores, once the job started. */
  model?: string;
  rowsTotal?: number;
  rowsDone: number;
  error?: string;
  /** Where the output is: a blob in the artifact store. */
  output?: { sha256: string; bytes: number; format: OutputFormat };
  createdMs: number;
  startedMs?: number;
  finishedMs?: number;
}

interface JobRow {
  id: string;
  deployment: string;
  spec: string;
  state: JobState;
  model: string | null;
  rows_total: number | null;
  rows_done: number;
  error: string | null;
  output_sha256: string | null;
  output_bytes: number | null;
  created_ms: number;
  started_ms: number | null;
  finished_ms: number | null;
  owner: string | null;
  lease_until_ms: number | null;
}

interface PartRow {
  job_id: string;
  chunk: number;
  model: string;
  layout: string;
  sha256: string;
}

interface Spec {
  input: JobInput;
  outputFormat: OutputFormat;
  keep: string[];
  chunkRows: number;
}

/** What a job needs of the datasets domain: a dataset version's bytes. */
export interface DatasetFiles {
  open(ref: { name: string; version?: number }): Promise<{ version: { name: string; version: number; format: TableFormat }; stream: Readable }>;
}

export interface JobsDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  serving: ServingService;
  datasets: DatasetFiles;
  /** Local folder for inputs and chunk parts of running jobs. */
  workDir: string;
  /** This replica's name on the jobs it holds. */
  owner: string;
}

/** How long a held job stays with its replica without renewal; renewed every third of it. */
const LEASE_MS = 30_000;

const FORMATS: readonly string[] = ['csv', 'jsonl', 'parquet'];
const EXT: Record<TableFormat, string> = { csv: 'csv', jsonl: 'jsonl', parquet: 'parquet' };

function toJob(r: JobRow): Job {
  const spec = JSON.parse(r.spec) as Spec;
  const num = (v: number | null) => (v === null ? undefined : Number(v));
  return {
    id: r.id,
    deployment: r.deployment,
    state: r.state,
    ...spec,
    model: r.model ?? undefined,
    rowsTotal: num(r.rows_total),
    rowsDone: Number(r.rows_done),
    error: r.error ?? undefined,
    output: r.output_sha256 ? { sha256: r.output_sha256, bytes: Number(r.output_bytes), format: spec.outputFormat } : undefined,
    createdMs: Number(r.created_ms),
    startedMs: num(r.started_ms),
    finishedMs: num(r.finished_ms),
  };
}

function parseDatasetRef(ref: string): { name: string; version?: number } {
  const m = /^([^@]+)(?:@(\d+))?$/.exec(ref);
  if (!m) throw invalidArgument(`input.dataset: "${ref}" should be NAME or NAME@VERSION`);
  return { name: m[1], version: m[2] === undefined ? undefined : Number(m[2]) };
}

export class JobsService {
  private readonly db: Kysely<{ srv_job: JobRow; srv_job_part: PartRow }>;
  private readonly running = new Map<string, AbortController>();
  /** Jobs run one at a time; each already uses both cores. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private takesOver = false;

  constructor(private readonly deps: JobsDeps) {
    this.db = deps.metadata.db;
  }

  /**
   * Picks up the jobs no live replica holds (left by a stopped server, or a dead replica's once
   * their lease runs out; they resume from committed chunks when those are on this machine), and
   * keeps looking for such jobs. A server calls this once listening; any process that submits a
   * job renews its lease, but only servers take jobs over.
   */
  async start(): Promise<void> {
    this.takesOver = true;
    this.keepLeases();
    await this.sweep();
  }

  private keepLeases(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), LEASE_MS / 3);
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    const now = this.deps.clock.now();
    const active = ['queued', 'running'] as JobState[];
    // A lost renewal costs nothing but the next one: no fsync for it.
    await this.deps.metadata.volatileWrites((db) =>
      (db as Kysely<{ srv_job: JobRow }>).updateTable('srv_job').set({ lease_until_ms: now + LEASE_MS }).where('owner', '=', this.deps.owner).where('state', 'in', active).execute(),
    );
    if (!this.takesOver) return;
    const free = await this.db
      .selectFrom('srv_job')
      .select('id')
      .where('state', 'in', active)
      .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', now)]))
      .orderBy('created_ms')
      .execute();
    for (const r of free) {
      const taken = await this.db
        .updateTable('srv_job')
        .set({ owner: this.deps.owner, lease_until_ms: now + LEASE_MS })
        .where('id', '=', r.id)
        .where('state', 'in', active)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', now)]))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) this.schedule(r.id);
    }
  }

  async submit(input: SubmitJob): Promise<Job> {
    await this.deps.serving.get(input.deployment);
    const outputFormat = input.outputFormat ?? 'csv';
    if (!FORMATS.includes(outputFormat)) throw invalidArgument(`output_format: "${outputFormat}" must be csv, jsonl or parquet`);
    const chunkRows = input.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw invalidArgument(`chunk_rows: ${chunkRows} is not a whole number >= 1`);
    const { sha256, dataset, format } = input.input;
    let jobInput = input.input;
    if ((sha256 === undefined) === (dataset === undefined)) throw invalidArgument('input: give sha256 (an uploaded file) or dataset, one of them');
    if (sha256 !== undefined) {
      checkSha256(sha256);
      if (!format || !FORMATS.includes(format)) throw invalidArgument('input.format: csv, jsonl or parquet is required with input.sha256');
      if (!(await this.deps.blobs.stat(sha256))) throw notFound(`input.sha256: no file ${sha256} in the artifact store; upload it first`);
    } else {
      const { version, stream } = await this.deps.datasets.open(parseDatasetRef(dataset!));
      stream.destroy();
      // Every run of the job, a takeover's included, reads this version: its chunks then hold rows of one file.
      jobInput = { ...input.input, dataset: `${version.name}@${version.version}` };
    }
    const spec: Spec = { input: jobInput, outputFormat, keep: input.keep ?? [], chunkRows };
    const id = timeOrderedId(this.deps.clock.now());
    await this.db
      .insertInto('srv_job')
      .values({ id, deployment: input.deployment, spec: JSON.stringify(spec), state: 'queued', rows_done: 0, created_ms: this.deps.clock.now(), model: null, rows_total: null, error: null, output_sha256: null, output_bytes: null, started_ms: null, finished_ms: null, owner: this.deps.owner, lease_until_ms: this.deps.clock.now() + LEASE_MS })
      .execute();
    this.keepLeases();
    this.schedule(id);
    return this.get(id);
  }

  async get(id: string): Promise<Job> {
    const row = await this.db.selectFrom('srv_job').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`job "${id}" does not exist`);
    return toJob(row);
  }

  async list(filter: { deployment?: string; state?: JobState; limit?: number } = {}): Promise<Job[]> {
    let q = this.db.selectFrom('srv_job').selectAll().orderBy('created_ms', 'desc').limit(filter.limit ?? 100);
    if (filter.deployment) q = q.where('deployment', '=', filter.deployment);
    if (filter.state) q = q.where('state', '=', filter.state);
    return (await q.execute()).map(toJob);
  }

  /** Stops a queued or running job; what it committed is dropped. */
  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    if (job.state !== 'queued' && job.state !== 'running') throw failedPrecondition(`job "${id}" is ${job.state}; only a queued or running job can be cancelled`);
    await this.db.updateTable('srv_job').set({ state: 'cancelled', finished_ms: this.deps.clock.now() }).where('id', '=', id).where('state', 'in', ['queued', 'running']).execute();
    this.running.get(id)?.abort();
    // A job a dead replica held has no run left to drop its copied chunks.
    await this.dropParts(id);
    return this.get(id);
  }

  /** The output's bytes. */
  async output(id: string): Promise<{ job: Job; stream: Readable }> {
    const job = await this.get(id);
    if (!job.output) throw failedPrecondition(`job "${id}" is ${job.state}; it has no output${job.error ? ` (${job.error})` : ''}`);
    return { job, stream: await this.deps.blobs.get(job.output.sha256) };
  }

  private schedule(id: string): void {
    this.queue = this.queue.then(() => this.execute(id)).catch(() => undefined);
  }

  private async update(id: string, values: Partial<JobRow>): Promise<void> {
    await this.db.updateTable('srv_job').set(values).where('id', '=', id).where('state', '=', 'running').where('owner', '=', this.deps.owner).execute();
  }

  private async execute(id: string): Promise<void> {
    if (this.closed) return;
    const claimed = await this.db.updateTable('srv_job').set({ state: 'running', started_ms: this.deps.clock.now() }).where('id', '=', id).where('state', 'in', ['queued', 'running']).where('owner', '=', this.deps.owner).executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return;
    const job = await this.get(id);
    const dir = join(this.deps.workDir, id);
    const stop = new AbortController();
    this.running.set(id, stop);
    try {
      mkdirSync(dir, { recursive: true });
      const input = await this.materialize(job, dir);
      const output = join(dir, `output.${job.outputFormat}`);
      const scorer = await deploymentScorer(this.deps.serving, job.deployment);
      await this.update(id, { model: scorer.identity });
      let done = 0;
      let saved = 0;
      let warned = false;
      const result = await runBatchJob({ deployment: job.deployment, input, output, keep: job.keep, chunkRows: job.chunkRows }, scorer, {
        signal: stop.signal,
        restore: (parts) => this.restoreParts(id, scorer.identity, parts),
        // The copy is a backup for a takeover: without it the job still finishes here, a takeover just rescores more.
        onCommit: (chunk, path, layout) =>
          this.keepPart(id, chunk, scorer.identity, layout, path).catch((err) => {
            if (!warned) process.stderr.write(`modelport: job ${id}: committed chunks are not copied to the artifact store (${(err as Error).message}); a replica taking the job over rescores them\n`);
            warned = true;
          }),
        onStart: (total, already) => {
          done = already;
          void this.update(id, { rows_total: total, rows_done: done }).catch(() => undefined);
        },
        onChunk: (rows) => {
          done += rows;
          // At most a row write a second: progress, not a log.
          if (this.deps.clock.now() - saved >= 1000) {
            saved = this.deps.clock.now();
            void this.update(id, { rows_done: done }).catch(() => undefined);
          }
        },
      });
      const stored = await this.deps.blobs.put(createReadStream(output, { highWaterMark: 1 << 20 }));
      await this.update(id, { state: 'succeeded', rows_total: result.rows, rows_done: result.rows, output_sha256: stored.sha256, output_bytes: stored.size, finished_ms: this.deps.clock.now() });
      await rm(dir, { recursive: true, force: true });
      await this.dropParts(id);
    } catch (err) {
      // Closing keeps the committed chunks for the next start; a cancel drops them.
      if (this.closed) return;
      if (!stop.signal.aborted) {
        const message = isModelportError(err) ? err.message : `unexpected error: ${(err as Error).message}`;
        await this.update(id, { state: 'failed', error: message, finished_ms: this.deps.clock.now() });
      }
      await rm(dir, { recursive: true, force: true });
      await this.dropParts(id).catch(() => undefined);
    } finally {
      this.running.delete(id);
    }
  }

  /**
   * Adopts the chunks another run of job `id` copied out with the same model; a chunk's rows are
   * fixed by the input and the chunk size, so each lands at its place in the output once.
   */
  private async restoreParts(id: string, model: string, parts: JobParts): Promise<void> {
    const rows = await this.db.selectFrom('srv_job_part').select(['chunk', 'layout', 'sha256']).where('job_id', '=', id).where('model', '=', model).orderBy('chunk').execute();
    for (const row of rows) {
      if (parts.done.has(Number(row.chunk))) continue;
      await parts.fixLayout(JSON.parse(row.layout) as OutputColumn[]);
      await parts.adopt(Number(row.chunk), await buffer(await this.deps.blobs.get(row.sha256)));
    }
  }

  /** Copies a committed chunk to the artifact store while this replica still holds the job. */
  private async keepPart(id: string, chunk: number, model: string, layout: readonly OutputColumn[], path: string): Promise<void> {
    const held = await this.db.selectFrom('srv_job').select('id').where('id', '=', id).where('state', '=', 'running').where('owner', '=', this.deps.owner).executeTakeFirst();
    if (!held) return;
    const { sha256 } = await this.deps.blobs.put(createReadStream(path, { highWaterMark: 1 << 20 }));
    await this.db
      .insertInto('srv_job_part')
      .values({ job_id: id, chunk, model, layout: JSON.stringify(layout), sha256 })
      .onConflict((oc) => oc.columns(['job_id', 'chunk', 'model']).doNothing())
      .execute();
  }

  /**
   * Forgets job `id`'s copied chunks, unless another replica took the job over. Their blobs stay:
   * the store is content-addressed and shared, so the same bytes may be another job's chunk, a
   * dataset or an upload.
   */
  private async dropParts(id: string): Promise<void> {
    const taken = await this.db.selectFrom('srv_job').select('id').where('id', '=', id).where('state', 'in', ['queued', 'running']).where('owner', '!=', this.deps.owner).executeTakeFirst();
    if (taken) return;
    await this.db.deleteFrom('srv_job_part').where('job_id', '=', id).execute();
  }

  private async materialize(job: Job, dir: string): Promise<string> {
    const { sha256, dataset } = job.input;
    let format = job.input.format;
    let stream: Readable;
    if (sha256 !== undefined) stream = await this.deps.blobs.get(sha256);
    else {
      const opened = await this.deps.datasets.open(parseDatasetRef(dataset!));
      format = opened.version.format;
      stream = opened.stream;
    }
    const path = join(dir, `input.${EXT[format!]}`);
    if (existsSync(path)) {
      stream.destroy();
      return path;
    }
    await pipeline(stream, createWriteStream(`${path}.tmp`));
    await rename(`${path}.tmp`, path);
    return path;
  }

  /** Stops running jobs where they stand and lets go of every job held; they resume on the next replica to look. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.running.values()) stop.abort();
    await this.queue;
    await this.db.updateTable('srv_job').set({ lease_until_ms: 0 }).where('owner', '=', this.deps.owner).where('state', 'in', ['queued', 'running']).execute().catch(() => undefined);
  }
}
