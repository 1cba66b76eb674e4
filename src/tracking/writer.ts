/**
 * Group commit for logging. Concurrent log requests queue their work; a writer runs everything
 * queued so far in one transaction and acknowledges each request only after that transaction
 * commits. One commit (one fsync) then covers many requests, and nothing is acknowledged
 * before it is durable.
 *
 * A job must do all of its checks before its first write, so a job that refuses its input
 * leaves the shared transaction untouched (or mark its refusal with ROLLBACK_GROUP). If the group transaction itself fails, every job
 * is retried alone so one request's fault is reported to that request only.
 */
import type { Kysely, Transaction } from 'kysely';
import { isModelportError } from '../core/errors.js';

export type Job<T> = (trx: Transaction<any>, group: Group) => Promise<T>;

/**
 * What the jobs of one group transaction share: values kept for the group (a row every job
 * reads, read once) and writes gathered from every job and made once, just before the commit,
 * so a group of many requests costs a few statements instead of a few per request.
 */
export class Group {
  private readonly values = new Map<string, unknown>();
  private readonly finishers: ((trx: Transaction<any>) => Promise<void>)[] = [];

  /** The group's value under `key`, made by `make` on first use; `finish`, if given, writes it at the end. */
  shared<T>(key: string, make: () => T, finish?: (trx: Transaction<any>, value: T) => Promise<void>): T {
    if (this.values.has(key)) return this.values.get(key) as T;
    const value = make();
    this.values.set(key, value);
    if (finish) this.finishers.push((trx) => finish(trx, value));
    return value;
  }

  async finish(trx: Transaction<any>): Promise<void> {
    for (const f of this.finishers) await f(trx);
  }
}

/**
 * Set in a refusal's details by a job that refuses after it has written: the group transaction
 * then rolls back and every job runs again alone, so the refused job leaves nothing behind.
 */
export const ROLLBACK_GROUP = 'rollbackGroup';

interface Pending {
  job: Job<unknown>;
  /** Jobs on the same run sort together so concurrent groups lock rows in one order. */
  order: string;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class GroupWriter {
  private queue: Pending[] = [];
  private active = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly db: Kysely<any>,
    /** Groups committing at once: 1 for SQLite (one writer), more for PostgreSQL. */
    private readonly concurrency: number,
    private readonly maxGroup = 64,
  ) {}

  submit<T>(order: string, job: Job<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, order, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been committed or refused. */
  async drain(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * Starts the next group after the event loop has read every request already waiting, so the
   * group holds all of them. With SQLite a commit blocks the loop, so requests pile up while
   * one group commits and all go in the next.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxGroup).sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      this.active++;
      void this.run(group).finally(() => {
        this.active--;
        if (this.queue.length > 0) this.schedule();
        else if (this.active === 0) for (const wake of this.idle.splice(0)) wake();
      });
    }
  }

  private async run(group: Pending[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        outcomes.length = 0;
        const shared = new Group();
        for (const p of group) {
          try {
            outcomes.push({ ok: true, value: await p.job(trx, shared) });
          } catch (err) {
            if (!isModelportError(err) || group.length === 1 || err.details[ROLLBACK_GROUP]) throw err;
            outcomes.push({ ok: false, err });
          }
        }
        await shared.finish(trx);
      });
    } catch (err) {
      if (group.length === 1) {
        group[0].reject(err);
        return;
      }
      for (const p of group) {
        try {
          p.resolve(await this.db.transaction().execute(async (trx) => {
            const alone = new Group();
            const value = await p.job(trx, alone);
            await alone.finish(trx);
            return value;
          }));
        } catch (e) {
          p.reject(e);
        }
      }
      return;
    }
    group.forEach((p, i) => {
      const o = outcomes[i];
      if (o.ok) p.resolve(o.value);
      else p.reject(o.err);
    });
  }
}
