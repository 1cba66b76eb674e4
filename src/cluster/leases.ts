/**
 * Leader election for singletons (schedulers, rollout controllers, monitor runs, retention):
 * a lease row per singleton in the metadata store, taken when free or expired and renewed by its
 * holder, with a fencing token that moves whenever the lease changes hands. Every change is a
 * compare-and-set on the token, so two replicas racing for one lease cannot both win, on SQLite
 * or PostgreSQL alike. A leader that dies stops renewing and is replaced once its lease runs
 * out; one that shuts down releases its lease so a successor takes over at its next check.
 * Work a leader does keeps its own compare-and-set on the rows it changes (a schedule's
 * next time, a deployment's revision), so a leader that stalled past its lease and wakes up
 * still cannot act twice; `holds` lets it check its token just before acting.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { isUniqueViolation } from '../storage/metadata.js';

interface LeaseTables {
  cl_lease: { name: string; holder: string; token: number; until_ms: number };
}

export interface LeaseView {
  name: string;
  holder: string;
  token: number;
  untilMs: number;
}

export class Leases {
  private readonly db: Kysely<LeaseTables>;

  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    db: Kysely<any>,
    private readonly clock: Clock,
  ) {
    this.db = db as Kysely<LeaseTables>;
  }

  /** Takes or renews `name` for `holder` for `ttlMs`; the fencing token when held, else undefined. */
  async acquire(name: string, holder: string, ttlMs: number): Promise<number | undefined> {
    const now = this.clock.now();
    const until = now + ttlMs;
    const row = await this.db.selectFrom('cl_lease').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) {
      try {
        await this.db.insertInto('cl_lease').values({ name, holder, token: 1, until_ms: until }).execute();
        return 1;
      } catch (err) {
        if (isUniqueViolation(err)) return undefined;
        throw err;
      }
    }
    const token = Number(row.token);
    const mine = row.holder === holder;
    if (!mine && Number(row.until_ms) >= now) return undefined;
    // Renewed only in the second half of its term: a write per check would cost SQLite an fsync each time.
    if (mine && Number(row.until_ms) - now > ttlMs / 2) return token;
    const next = mine ? token : token + 1;
    // The term read is part of the compare: a holder renewing its expired lease keeps the token
    // and holder, so without it a replica taking the lease over at that moment won as well.
    const res = await this.db
      .updateTable('cl_lease')
      .set({ holder, token: next, until_ms: until })
      .where('name', '=', name)
      .where('token', '=', token)
      .where('holder', '=', row.holder)
      .where('until_ms', '=', row.until_ms)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1 ? next : undefined;
  }

  /** True while `token` is still the lease's token and unexpired: the fencing check before acting. */
  async holds(name: string, token: number): Promise<boolean> {
    const row = await this.db.selectFrom('cl_lease').select(['token', 'until_ms']).where('name', '=', name).executeTakeFirst();
    return !!row && Number(row.token) === token && Number(row.until_ms) >= this.clock.now();
  }

  /** Gives the lease up at once (a graceful shutdown), if `holder` still has it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db.updateTable('cl_lease').set({ until_ms: 0 }).where('name', '=', name).where('holder', '=', holder).execute();
  }

  async list(): Promise<LeaseView[]> {
    const rows = await this.db.selectFrom('cl_lease').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, holder: r.holder, token: Number(r.token), untilMs: Number(r.until_ms) }));
  }
}

/** One singleton's lease as seen by one replica. */
export class Leadership {
  /** The fencing token of the last successful check, undefined when not leading. */
  token: number | undefined;

  constructor(
    private readonly leases: Leases,
    readonly name: string,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes or renews the lease; true while this replica leads. Store errors count as not leading. */
  async lead(): Promise<boolean> {
    try {
      this.token = await this.leases.acquire(this.name, this.holder, this.ttlMs);
    } catch {
      this.token = undefined;
    }
    return this.token !== undefined;
  }

  /** True when the token of the last check still holds (checked right before a side effect). */
  async stillLeads(): Promise<boolean> {
    return this.token !== undefined && (await this.leases.holds(this.name, this.token));
  }

  async release(): Promise<void> {
    if (this.token === undefined) return;
    this.token = undefined;
    await this.leases.release(this.name, this.holder).catch(() => undefined);
  }
}
