/**
 * Explanations logged for a sampled share of a deployment's requests. Serving hands every
 * answered request to `record` (a prediction tap); a sampled one joins a bounded queue and is
 * explained off the request path, one at a time, with the version that answered it (TreeSHAP
 * where exact, else KernelSHAP over the version's stored background), and stored by request
 * id. A full queue drops the request (counted) rather than slow serving down. Bodies are sealed
 * under the master key when encryption at rest is on (they hold the explained inputs' numbers).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { invalidArgument, notFound } from '../core/errors.js';
import type { Batch, Predictor } from '../models/index.js';
import type { Keyring } from '../security/keyring.js';
import { rewrapText, textCipher, type PayloadCipher, type TextCipher } from '../security/sealed-payload.js';
import type { Explanation } from './explainer.js';
import type { ExplainTables } from './migrations.js';
import { keysetRows } from '../core/batches.js';

export interface SampledRequest {
  requestId: string;
  deployment: string;
  model: string;
  version: number;
  inputs: Batch;
}

export interface StoredExplanation {
  requestId: string;
  deployment: string;
  model: string;
  version: number;
  timeMs: number;
  explanation: Explanation;
}

export interface SampledLogStats {
  sampled: number;
  written: number;
  dropped: number;
  failed: number;
  queued: number;
}

export interface SampledLogDeps {
  db: Kysely<ExplainTables>;
  clock: Clock;
  /** The predictor a deployment answers with for `version` now, if it is still loaded. */
  predictorOf(deployment: string, version: number): Predictor | undefined;
  explain(model: string, version: number, predictor: Predictor, batch: Batch): Promise<Explanation>;
  random?: () => number;
  maxQueue?: number;
  /** Seals stored bodies; without, they are stored plain (sealed ones still fail clearly on read). */
  cipher?: PayloadCipher;
}

export function checkRate(rate: number): number {
  if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) throw invalidArgument(`rate: ${rate} must be a number in [0, 1]`);
  return rate;
}

function toJson(e: Explanation): string {
  const { attributions: a } = e;
  return JSON.stringify({
    method: e.method,
    output: e.output,
    featureNames: e.featureNames,
    rows: a.rows,
    groups: a.groups,
    values: Array.from(a.values),
    base: Array.from(a.base),
    limeWeights: e.limeWeights && Array.from(e.limeWeights),
  });
}

function fromJson(text: string): Explanation {
  const b = JSON.parse(text) as { method: Explanation['method']; output: string; featureNames: string[]; rows: number; groups: number; values: number[]; base: number[]; limeWeights?: number[] };
  return {
    method: b.method,
    output: b.output,
    featureNames: b.featureNames,
    attributions: { rows: b.rows, groups: b.groups, features: b.featureNames.length, values: Float64Array.from(b.values), base: Float64Array.from(b.base) },
    limeWeights: b.limeWeights && Float64Array.from(b.limeWeights),
  };
}

export class SampledExplanationLog {
  private readonly rates = new Map<string, number>();
  private queue: SampledRequest[] = [];
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly counters = { sampled: 0, written: 0, dropped: 0, failed: 0 };
  private readonly random: () => number;
  private readonly maxQueue: number;
  private readonly bodies: TextCipher;

  constructor(private readonly deps: SampledLogDeps) {
    this.random = deps.random ?? Math.random;
    this.maxQueue = deps.maxQueue ?? 1000;
    this.bodies = textCipher(deps.cipher, 'a logged explanation');
  }

  /** Loads the stored sampling rates. */
  async start(): Promise<void> {
    for (const r of await this.deps.db.selectFrom('exp_logging').selectAll().execute()) this.rates.set(r.deployment, r.rate);
  }

  async setRate(deployment: string, rate: number): Promise<void> {
    checkRate(rate);
    const now = this.deps.clock.now();
    await this.deps.db
      .insertInto('exp_logging')
      .values({ deployment, rate, updated_ms: now })
      .onConflict((oc) => oc.column('deployment').doUpdateSet({ rate, updated_ms: now }))
      .execute();
    this.rates.set(deployment, rate);
  }

  sampleRates(): Record<string, number> {
    return Object.fromEntries(this.rates);
  }

  stats(): SampledLogStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Serving's tap: cheap, never throws. */
  record(entry: SampledRequest): void {
    if (this.sample(entry.deployment)) this.keep(entry);
  }

  sample(deployment: string): boolean {
    const rate = this.rates.get(deployment) ?? 0;
    return !this.closed && rate !== 0 && (rate >= 1 || this.random() < rate);
  }

  keep(entry: SampledRequest): void {
    this.counters.sampled++;
    if (this.queue.length >= this.maxQueue) {
      this.counters.dropped++;
      return;
    }
    this.queue.push({ requestId: entry.requestId, deployment: entry.deployment, model: entry.model, version: entry.version, inputs: entry.inputs });
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Explanations start after the request that sampled them has been answered.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        try {
          const predictor = this.deps.predictorOf(next.deployment, next.version);
          if (!predictor) throw notFound(`version ${next.version} is no longer loaded`);
          const explanation = await this.deps.explain(next.model, next.version, predictor, next.inputs);
          await this.deps.db
            .insertInto('exp_logged')
            .values({ request_id: next.requestId, deployment: next.deployment, model: next.model, version: next.version, time_ms: this.deps.clock.now(), body: this.bodies.seal(toJson(explanation)) })
            .onConflict((oc) => oc.column('request_id').doNothing())
            .execute();
          this.counters.written++;
        } catch {
          this.counters.failed++;
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Waits until every queued request has been explained and stored. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  async get(requestId: string): Promise<StoredExplanation | undefined> {
    const row = await this.deps.db.selectFrom('exp_logged').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    return row && { requestId, deployment: row.deployment, model: row.model, version: row.version, timeMs: row.time_ms, explanation: fromJson(this.bodies.open(row.body)) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    await this.flush();
  }
}

/** Rewraps each sealed explanation body's data key under the current master key; returns how many it rewrapped. */
export async function rewrapExplanations(db: Kysely<ExplainTables>, keyring: Keyring): Promise<number> {
  let n = 0;
  const rows = keysetRows((after, size) => db.selectFrom('exp_logged').select(['request_id', 'body']).where('request_id', '>', after).orderBy('request_id').limit(size).execute(), (row) => row.request_id, '', 500);
  for await (const row of rows) {
    const rewrapped = rewrapText(keyring, row.body);
    if (!rewrapped) continue;
    await db.updateTable('exp_logged').set({ body: rewrapped }).where('request_id', '=', row.request_id).execute();
    n++;
  }
  return n;
}
