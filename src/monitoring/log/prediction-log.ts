/**
 * The prediction log. `record` is serving's hot-path tap: it samples, packs the request into its
 * deployment's open batch (which, with the newest sealed ones, also serves live views) and
 * returns. A flusher writes the queue to the
 * metadata store in batched transactions off the request path (when a batch fills up, and on a
 * timer); a sweep deletes rows older than the retention period by the Clock.
 */
import type { Singleton } from '../../core/singleton.js';
import type { Kysely } from 'kysely';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { invalidArgument, notFound } from '../../core/errors.js';
import { PackBuilder, entryCount, entryRows, keyOf, selectEntries, type LogRow, type PackedEntries } from './pack.js';
import { Keyring } from '../../security/keyring.js';
import { payloadCipher } from '../../security/sealed-payload.js';
import { deleteRowsBefore, eraseEntries, findEntries, readRows, rowsByRequestIds, type SegmentCipher } from './segments.js';
import { InlineWriter, WorkerWriter, type LogWriter } from './writer.js';
import type { StoreUri } from '../../config.js';
import type { Dialect } from '../../storage/metadata.js';
import type { FeedbackTables } from '../feedback/tables.js';
import type { LogTables } from './tables.js';
import type { LoggedPrediction, PredictionLogOptions, PredictionLogStats, PredictionRecord, PredictionSink } from './types.js';
import { batches } from '../../core/batches.js';

/** Replicas share sampling rates through the store; each re-reads them this often. */
const SETTINGS_REFRESH_MS = 30_000;

export interface LogQuery {
  deployment?: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  /** Newest rows first, at most this many (default 100). */
  limit?: number;
}

export function checkSampleRate(rate: number, where = 'sampleRate'): number {
  if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) throw invalidArgument(`${where} must be a number in [0, 1], got ${rate}`);
  return rate;
}

/** Who a data-subject request is about: the key requests were routed by (a user id), or the keyed hash of a PII input. */
export interface Subject {
  key: string;
  /** `key` as a `pii: hash` column may log it (see serving/pii.ts and privacy.ts). */
  hashed?: readonly string[];
}

/** Whether entry `e` is about the subject: routed by its key, or carrying its hash in an input. */
function aboutSubject(subject: Subject): (packed: PackedEntries, e: number) => boolean {
  return (packed, e) =>
    keyOf(packed, e) === subject.key ||
    (subject.hashed !== undefined && entryRows(packed, e).some((r) => Object.values(r.inputs).some((v) => typeof v === 'string' && subject.hashed!.includes(v))));
}

export function toLogged(row: LogRow): LoggedPrediction {
  return {
    requestId: row.request_id,
    row: row.row_index,
    deployment: row.deployment,
    model: row.model,
    version: row.version,
    variant: row.variant,
    ...(row.key === undefined ? {} : { key: row.key }),
    timeMs: row.time_ms,
    latencyMs: row.latency_ms,
    inputs: row.inputs,
    outputs: row.outputs,
  };
}

export class PredictionLog implements PredictionSink {
  /** Per deployment, the newest sealed batches, kept while the batches after them hold fewer than `ringSize` requests. */
  private readonly sealedRecent = new Map<string, PackedEntries[]>();
  private readonly ringSize: number;
  /** Per deployment, the batch being packed; sealed batches wait in `queue` for the writer. */
  private readonly open = new Map<string, PackBuilder>();
  private queue: PackedEntries[] = [];
  private queuedRows = 0;
  private queuedEntries = 0;
  private readonly rates = new Map<string, number>();
  private defaultRate: number;
  private readonly maxQueue: number;
  private readonly batchRows: number;
  private readonly retentionMs: number;
  private readonly pruneIntervalMs: number;
  private readonly random: () => number;
  private flushing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPruneMs: number;
  /** Which replica sweeps old rows (default: every process, as when alone). */
  leader: Singleton | undefined;
  private lastSettingsMs = 0;
  private closed = false;
  private readonly counters: Omit<PredictionLogStats, 'queued'> = { offered: 0, sampled: 0, dropped: 0, written: 0, writeErrors: 0 };
  private readonly writer: LogWriter;
  /** Seals segments under the master key when one is configured. */
  readonly cipher: SegmentCipher;

  /** With `store`, rows are written by a thread of their own over a second connection to it. */
  constructor(
    private readonly db: Kysely<LogTables & FeedbackTables>,
    private readonly clock: Clock,
    private readonly options: PredictionLogOptions = {},
    private readonly dialect: Dialect,
    store?: StoreUri,
  ) {
    this.cipher = options.masterKeys ? payloadCipher(new Keyring(options.masterKeys), 'a prediction-log segment') : undefined;
    const inline = new InlineWriter(db, dialect, this.cipher);
    const threaded = store && options.writer !== 'inline' && !(store.kind === 'sqlite' && store.path === ':memory:');
    this.writer = threaded ? new WorkerWriter(store, inline, options.masterKeys) : inline;
    this.defaultRate = checkSampleRate(options.sampleRate ?? 1, 'sampleRate');
    this.ringSize = options.ringSize ?? 100;
    this.maxQueue = options.maxQueue ?? 100_000;
    this.batchRows = Math.max(1, options.batchRows ?? 500);
    this.retentionMs = options.retentionMs ?? 30 * DAY_MS;
    this.pruneIntervalMs = options.pruneIntervalMs ?? 3_600_000;
    this.random = options.random ?? Math.random;
    this.lastPruneMs = clock.now();
  }

  /** Loads the per-deployment rates and starts the background flusher. */
  async start(): Promise<void> {
    await this.refreshSettings();
    const interval = this.options.flushIntervalMs ?? 250;
    // Flushing is mechanics, not semantics: a real timer, unref'd so it never holds the process open.
    this.timer = setInterval(() => void this.tick().catch(() => undefined), interval);
    this.timer.unref();
  }

  record(entry: PredictionRecord): void {
    try {
      if (this.sample(entry.deployment)) this.keep(entry);
    } catch {
      // Only an unreadable entry gets here (sample and keep never throw): offered and dropped, as when one step did both.
      this.counters.offered++;
      this.counters.dropped++;
    }
  }

  sample(deployment: string): boolean {
    try {
      this.counters.offered++;
      if (this.closed) return false;
      const rate = this.rates.get(deployment) ?? this.defaultRate;
      return !(rate < 1) || this.random() < rate;
    } catch {
      this.counters.dropped++;
      return false;
    }
  }

  keep(entry: PredictionRecord): void {
    try {
      this.counters.sampled++;
      const rows = entry.inputs.rows;
      if (this.queuedRows + rows > this.maxQueue) {
        this.counters.dropped++;
        return;
      }
      let builder = this.open.get(entry.deployment);
      if (!builder) this.open.set(entry.deployment, (builder = new PackBuilder()));
      builder.append(entry);
      this.queuedRows += rows;
      this.queuedEntries++;
      if (builder.rowCount >= this.batchRows) {
        this.enqueue(builder.seal());
        // A running drain keeps taking batches until the queue is empty; it needs no nudge.
        if (!this.flushScheduled && !this.draining) {
          this.flushScheduled = true;
          setImmediate(() => {
            this.flushScheduled = false;
            void this.flush().catch(() => undefined);
          });
        }
      }
    } catch {
      // The sink's contract is to never fail a prediction; a malformed entry is only counted.
      this.counters.dropped++;
    }
  }

  /** A sealed batch goes to the writer's queue and stays readable for live views while it is among the newest. */
  private enqueue(sealed: PackedEntries): void {
    this.queue.push(sealed);
    if (this.ringSize <= 0) return;
    const deployment = sealed.sources[0].deployment;
    const kept = this.sealedRecent.get(deployment) ?? [];
    kept.push(sealed);
    let newer = 0;
    for (let i = 1; i < kept.length; i++) newer += entryCount(kept[i]);
    while (kept.length > 1 && newer >= this.ringSize) {
      kept.shift();
      newer -= entryCount(kept[0]);
    }
    this.sealedRecent.set(deployment, kept);
  }

  stats(): PredictionLogStats {
    return { ...this.counters, queued: this.queuedEntries };
  }

  /** Writes everything queued so far; resolves when it is in the store. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.drain());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (const builder of this.open.values()) if (builder.entries > 0) this.enqueue(builder.seal());
      await this.drainQueue();
    } finally {
      this.draining = false;
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0) {
      let take = 0;
      let rows = 0;
      while (take < this.queue.length && (take === 0 || rows < this.batchRows)) rows += this.queue[take++].rows.reduce((a, b) => a + b, 0);
      const batches = this.queue.slice(0, take);
      let written: number;
      try {
        written = await this.writer.write(batches);
      } catch (err) {
        this.counters.writeErrors++;
        this.counters.lastError = (err as Error).message;
        throw err;
      }
      this.queue = this.queue.slice(take);
      this.queuedRows -= rows;
      for (const b of batches) this.queuedEntries -= entryCount(b);
      this.counters.written += written;
    }
  }

  private async tick(): Promise<void> {
    await this.flush();
    const now = this.clock.now();
    if (now - this.lastSettingsMs >= SETTINGS_REFRESH_MS) await this.refreshSettings();
    await this.sweep();
  }

  /** Runs the retention sweep when one is due and this replica leads it; the rows deleted, or undefined when it did not run. */
  async sweep(): Promise<number | undefined> {
    if (this.clock.now() - this.lastPruneMs < this.pruneIntervalMs) return undefined;
    if (this.leader && !(await this.leader.lead())) return undefined;
    return this.prune();
  }

  /**
   * Deletes rows (and their feedback) older than each deployment's retention period (its own,
   * else the log's); returns how many predictions went. Settings are read from the store, since
   * the replica that sweeps may not be the one that set them.
   */
  async prune(): Promise<number> {
    const now = this.clock.now();
    this.lastPruneMs = now;
    const own = new Map(Object.entries((await this.retentions()).deployments));
    const deployments = new Set<string>();
    for (const table of ['mon_log_segment', 'mon_feedback'] as const) {
      for (const r of await this.db.selectFrom(table).select('deployment').distinct().execute()) deployments.add(r.deployment);
    }
    let deleted = 0;
    for (const deployment of deployments) {
      const retentionMs = own.get(deployment) ?? this.retentionMs;
      if (retentionMs <= 0) continue;
      const cutoff = now - retentionMs;
      deleted += await deleteRowsBefore(this.db, this.dialect, cutoff, { deployment, cipher: this.cipher });
      // Per deployment, so each delete walks the feedback's (deployment, time) index.
      await this.db.deleteFrom('mon_feedback').where('deployment', '=', deployment).where('prediction_time_ms', '<', cutoff).execute();
    }
    return deleted;
  }

  /**
   * Sets how long a deployment's rows are kept (0: forever; null: the log's default), shared
   * with other replicas through the store; the next sweep applies it.
   */
  async setRetention(deployment: string, retentionMs: number | null): Promise<void> {
    if (retentionMs !== null && !(Number.isInteger(retentionMs) && retentionMs >= 0)) throw invalidArgument(`retention must be a whole number of milliseconds >= 0 (or null for the default), got ${retentionMs}`);
    const now = this.clock.now();
    await this.db
      .insertInto('mon_log_setting')
      .values({ deployment, sample_rate: this.rates.get(deployment) ?? this.defaultRate, updated_ms: now, retention_ms: retentionMs })
      .onConflict((oc) => oc.column('deployment').doUpdateSet({ retention_ms: retentionMs, updated_ms: now }))
      .execute();
  }

  /** The log's default retention and each deployment's own, in milliseconds (0: forever). */
  async retentions(): Promise<{ default: number; deployments: Record<string, number> }> {
    const rows = await this.db.selectFrom('mon_log_setting').select(['deployment', 'retention_ms']).where('retention_ms', 'is not', null).execute();
    return { default: this.retentionMs, deployments: Object.fromEntries(rows.map((r) => [r.deployment, Number(r.retention_ms)])) };
  }

  /** Every logged row about one person (see Subject), oldest segment first. */
  async subjectRows(subject: Subject): Promise<LoggedPrediction[]> {
    await this.flush();
    return (await findEntries(this.db, aboutSubject(subject), this.cipher)).map(toLogged);
  }

  /**
   * Deletes every logged request about one person, with its feedback; resolves with what went.
   * Live views drop what they hold in memory too, so nothing about the person is served after.
   */
  async eraseSubject(subject: Subject): Promise<{ requests: number; rows: number; feedback: number }> {
    await this.flush();
    const match = aboutSubject(subject);
    for (const [deployment, kept] of this.sealedRecent) {
      this.sealedRecent.set(deployment, kept.map((p) => selectEntries(p, [...p.times.keys()].filter((e) => !match(p, e)))).filter((p) => entryCount(p) > 0));
    }
    const { requestIds, rows } = await eraseEntries(this.db, this.dialect, match, this.cipher);
    let feedback = 0;
    for (const batch of batches(requestIds)) {
      const result = await this.db.deleteFrom('mon_feedback').where('request_id', 'in', batch).executeTakeFirst();
      feedback += Number(result.numDeletedRows);
    }
    return { requests: requestIds.length, rows, feedback };
  }

  private async refreshSettings(): Promise<void> {
    this.lastSettingsMs = this.clock.now();
    const rows = await this.db.selectFrom('mon_log_setting').selectAll().execute();
    this.rates.clear();
    for (const r of rows) this.rates.set(r.deployment, r.sample_rate);
  }

  /** Sets a deployment's sampling rate (shared with other replicas through the store). */
  async setSampleRate(deployment: string, rate: number): Promise<void> {
    checkSampleRate(rate);
    const now = this.clock.now();
    await this.db
      .insertInto('mon_log_setting')
      .values({ deployment, sample_rate: rate, updated_ms: now })
      .onConflict((oc) => oc.column('deployment').doUpdateSet({ sample_rate: rate, updated_ms: now }))
      .execute();
    this.rates.set(deployment, rate);
  }

  sampleRates(): { default: number; deployments: Record<string, number> } {
    return { default: this.defaultRate, deployments: Object.fromEntries(this.rates) };
  }

  /** The newest requests held in memory (not yet or already written), as rows, newest first. */
  recent(query: { deployment?: string; limit?: number } = {}): LoggedPrediction[] {
    const limit = query.limit ?? 100;
    const deployments = query.deployment === undefined ? new Set([...this.open.keys(), ...this.sealedRecent.keys()]) : [query.deployment];
    // Each deployment's requests newest first (the open batch, then sealed ones back in time);
    // the stable sort by time keeps that order among requests of one millisecond.
    const candidates: { packed: PackedEntries; e: number }[] = [];
    for (const d of deployments) {
      const open = this.open.get(d);
      const sources = (this.sealedRecent.get(d) ?? []).slice().reverse();
      if (open && open.entries > 0) sources.unshift(open.peek());
      for (const packed of sources) for (let e = entryCount(packed) - 1; e >= 0; e--) candidates.push({ packed, e });
    }
    candidates.sort((a, b) => b.packed.times[b.e] - a.packed.times[a.e]);
    const out: LoggedPrediction[] = [];
    for (const { packed, e } of candidates) {
      for (const r of entryRows(packed, e)) {
        if (out.length >= limit) return out;
        out.push(toLogged(r));
      }
    }
    return out;
  }

  /** Logged rows from the store, newest first. */
  async list(query: LogQuery = {}): Promise<LoggedPrediction[]> {
    await this.flush();
    const rows = await readRows(this.db, { ...query, limit: query.limit ?? 100 }, this.cipher);
    return rows.map(toLogged);
  }

  /** The logged inputs of a deployment in [from, to), newest first, at most `maxRows`. */
  async inputsWindow(deployment: string, from: number, to: number, maxRows: number): Promise<Record<string, unknown>[]> {
    await this.flush();
    const rows = await readRows(this.db, { deployment, from, to, limit: maxRows }, this.cipher);
    return rows.map((r) => r.inputs);
  }

  /** Every logged row of one request. */
  async get(requestId: string): Promise<LoggedPrediction[]> {
    await this.flush();
    const rows = (await rowsByRequestIds(this.db, [requestId], this.cipher)).get(requestId);
    if (!rows) throw notFound(`no logged prediction has request id "${requestId}"`);
    return rows.map(toLogged);
  }

  /** Writes what is queued and stops the flusher; later records are ignored. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.flush().catch(() => undefined);
    await this.writer.close();
  }
}
