/**
 * Replica heartbeats: each server process writes one row every second with what it reports
 * (serving: the state of every deployment it holds and its per-variant request windows), so
 * any replica can show the whole cluster and the rollout controller can count every replica's
 * requests. A replica whose heartbeat is older than `staleMs` is treated as gone; rows of
 * replicas gone for an hour are deleted. Heartbeats are volatile writes (no fsync on SQLite):
 * one lost to a power cut is rewritten a second later.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { MetadataStore } from '../storage/metadata.js';

interface ReplicaTables {
  cl_replica: { id: string; host: string; pid: number; started_ms: number; heartbeat_ms: number; report: string };
}

export interface ReplicaView {
  id: string;
  host: string;
  pid: number;
  startedMs: number;
  heartbeatMs: number;
  /** Per reporter (e.g. `serving`), what it last reported. */
  report: Record<string, unknown>;
}

const FORGET_MS = 3_600_000;

export class Replicas {
  private readonly db: Kysely<ReplicaTables>;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    /** Heartbeats older than this are from replicas considered gone. */
    readonly staleMs: number,
  ) {
    this.db = metadata.db as Kysely<ReplicaTables>;
  }

  async beat(self: { id: string; host: string; pid: number; startedMs: number }, report: Record<string, unknown>): Promise<void> {
    const now = this.clock.now();
    const text = JSON.stringify(report);
    await this.metadata.volatileWrites(async (any) => {
      const db = any as Kysely<ReplicaTables>;
      const res = await db.updateTable('cl_replica').set({ heartbeat_ms: now, report: text }).where('id', '=', self.id).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) {
        await db.insertInto('cl_replica').values({ id: self.id, host: self.host, pid: self.pid, started_ms: self.startedMs, heartbeat_ms: now, report: text }).execute();
        await db.deleteFrom('cl_replica').where('heartbeat_ms', '<', now - FORGET_MS).execute();
      }
    });
  }

  /** Replicas with a fresh heartbeat, oldest first. */
  async live(): Promise<ReplicaView[]> {
    const rows = await this.db.selectFrom('cl_replica').selectAll().where('heartbeat_ms', '>=', this.clock.now() - this.staleMs).orderBy('started_ms').execute();
    return rows.map((r) => ({ id: r.id, host: r.host, pid: Number(r.pid), startedMs: Number(r.started_ms), heartbeatMs: Number(r.heartbeat_ms), report: JSON.parse(r.report) as Record<string, unknown> }));
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('cl_replica').where('id', '=', id).execute();
  }
}
