/** Rollouts in the metadata store: a controller on any replica, or after a restart, continues them. */
import type { Kysely } from 'kysely';
import { isUniqueViolation, type MetadataStore } from '../../storage/metadata.js';
import { alreadyExists } from '../../core/errors.js';
import type { Rollout, RolloutState } from './types.js';

interface RolloutTable {
  id: string;
  deployment: string;
  state: string;
  /** 'active' while running or paused, else the id: a unique index allows one active rollout per deployment. */
  active_key: string;
  body: string;
  created_ms: number;
  /** Moves on every save: a save based on an older read is refused. */
  seq: number;
}

interface Tables {
  srv_rollout: RolloutTable;
}

export const isActive = (state: RolloutState) => state === 'running' || state === 'paused';

function row(r: Rollout): RolloutTable {
  return { id: r.id, deployment: r.deployment, state: r.state, active_key: isActive(r.state) ? 'active' : r.id, body: JSON.stringify(r), created_ms: r.createdMs, seq: r.seq };
}

export class RolloutStore {
  private readonly db: Kysely<Tables>;

  constructor(metadata: MetadataStore) {
    this.db = metadata.db as Kysely<Tables>;
  }

  async create(r: Rollout): Promise<void> {
    try {
      await this.db.insertInto('srv_rollout').values(row(r)).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`deployment "${r.deployment}" already has a rollout running; pause, abort or promote it first`);
      throw err;
    }
  }

  /** Saves `r` as the next `seq` if the stored copy is still the one it was read as; false when someone else moved it. */
  async save(r: Rollout): Promise<boolean> {
    const read = r.seq;
    const next = { ...r, seq: read + 1 };
    const res = await this.db.updateTable('srv_rollout').set(row(next)).where('id', '=', r.id).where('seq', '=', read).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    r.seq = read + 1;
    return true;
  }

  async active(): Promise<Rollout[]> {
    const rows = await this.db.selectFrom('srv_rollout').select('body').where('active_key', '=', 'active').orderBy('created_ms').execute();
    return rows.map((r) => JSON.parse(r.body) as Rollout);
  }

  /** A deployment's rollouts, newest first. */
  async list(deployment: string, limit: number): Promise<Rollout[]> {
    const rows = await this.db.selectFrom('srv_rollout').select('body').where('deployment', '=', deployment).orderBy('created_ms', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => JSON.parse(r.body) as Rollout);
  }

  /** The newest rollout of a deployment, active or not. */
  async latest(deployment: string): Promise<Rollout | undefined> {
    const r = await this.db.selectFrom('srv_rollout').select('body').where('deployment', '=', deployment).orderBy('created_ms', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? (JSON.parse(r.body) as Rollout) : undefined;
  }
}
