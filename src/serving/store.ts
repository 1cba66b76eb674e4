/** Deployments in the metadata store, shared by every replica. */
import type { Kysely, Transaction } from 'kysely';
import { alreadyExists, notFound } from '../core/errors.js';
import { isUniqueViolation, type MetadataStore } from '../storage/metadata.js';
import { DEFAULT_CONFIG, type DeploymentConfig, type DeploymentRecord, type DeploymentSpec, type DeploymentStatus } from './types.js';

interface DeploymentTable {
  name: string;
  spec: string;
  created_ms: number;
  updated_ms: number;
  revision: number;
  status: string | null;
  status_ms: number | null;
}

interface RevisionTable {
  deployment: string;
  revision: number;
  spec: string;
  actor: string;
  reason: string;
  created_ms: number;
}

interface ServingTables {
  srv_deployment: DeploymentTable;
  srv_generation: { id: number; value: number };
  srv_revision: RevisionTable;
}

/** Who made a change and why. */
export interface Change {
  actor: string;
  reason: string;
}

/** A deployment as one change left it. */
export interface Revision extends Change {
  deployment: string;
  revision: number;
  spec: DeploymentSpec;
  createdMs: number;
}

function toRecord(row: DeploymentTable): DeploymentRecord {
  const spec = JSON.parse(row.spec) as Omit<DeploymentSpec, 'name'>;
  // Settings added after a deployment was stored take their defaults.
  return {
    ...DEFAULT_CONFIG,
    ...spec,
    name: row.name,
    createdMs: Number(row.created_ms),
    updatedMs: Number(row.updated_ms),
    revision: Number(row.revision),
    reported: row.status ? (JSON.parse(row.status) as DeploymentStatus) : undefined,
  };
}

function toRevision(row: RevisionTable): Revision {
  const spec = JSON.parse(row.spec) as Omit<DeploymentSpec, 'name'> & Partial<DeploymentConfig>;
  return {
    deployment: row.deployment,
    revision: Number(row.revision),
    spec: { ...DEFAULT_CONFIG, ...spec, name: row.deployment },
    actor: row.actor,
    reason: row.reason,
    createdMs: Number(row.created_ms),
  };
}

function specText(spec: DeploymentSpec): string {
  const { name: _name, ...rest } = spec;
  return JSON.stringify(rest);
}

export class DeploymentStore {
  private readonly db: Kysely<ServingTables>;

  constructor(metadata: MetadataStore) {
    this.db = metadata.db as Kysely<ServingTables>;
  }

  /** The counter every change moves. */
  async generation(): Promise<number> {
    const row = await this.db.selectFrom('srv_generation').select('value').where('id', '=', 1).executeTakeFirst();
    return Number(row?.value ?? 0);
  }

  private async bump(trx: Transaction<ServingTables>): Promise<void> {
    await trx.updateTable('srv_generation').set((eb) => ({ value: eb('value', '+', 1) })).where('id', '=', 1).execute();
  }

  async list(): Promise<DeploymentRecord[]> {
    const rows = await this.db.selectFrom('srv_deployment').selectAll().orderBy('name').execute();
    return rows.map(toRecord);
  }

  async get(name: string): Promise<DeploymentRecord | undefined> {
    const row = await this.db.selectFrom('srv_deployment').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async create(spec: DeploymentSpec, now: number, change: Change): Promise<DeploymentRecord> {
    const text = specText(spec);
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('srv_deployment').values({ name: spec.name, spec: text, created_ms: now, updated_ms: now, revision: 1, status: null, status_ms: null }).execute();
        await trx.deleteFrom('srv_revision').where('deployment', '=', spec.name).execute();
        await trx.insertInto('srv_revision').values({ deployment: spec.name, revision: 1, spec: text, actor: change.actor, reason: change.reason, created_ms: now }).execute();
        await this.bump(trx);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`deployment "${spec.name}" already exists; update it with PATCH /api/v1/deployments/${spec.name}`);
      throw err;
    }
    return (await this.get(spec.name))!;
  }

  /**
   * Stores a change as the next revision. With `expected`, only when the deployment is still at
   * that revision (else undefined): a controller that read it before deciding does not
   * overwrite a change made meanwhile.
   */
  async update(spec: DeploymentSpec, now: number, change: Change, expected?: number): Promise<DeploymentRecord | undefined> {
    const text = specText(spec);
    const updated = await this.db.transaction().execute(async (trx) => {
      let query = trx
        .updateTable('srv_deployment')
        .set((eb) => ({ spec: text, updated_ms: now, revision: eb('revision', '+', 1) }))
        .where('name', '=', spec.name);
      if (expected !== undefined) query = query.where('revision', '=', expected);
      const res = await query.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return expected !== undefined && (await trx.selectFrom('srv_deployment').select('name').where('name', '=', spec.name).executeTakeFirst()) ? 'stale' : false;
      const row = await trx.selectFrom('srv_deployment').select('revision').where('name', '=', spec.name).executeTakeFirstOrThrow();
      await trx.insertInto('srv_revision').values({ deployment: spec.name, revision: Number(row.revision), spec: text, actor: change.actor, reason: change.reason, created_ms: now }).execute();
      await this.bump(trx);
      return true;
    });
    if (!updated) throw notFound(`deployment "${spec.name}" does not exist`);
    if (updated === 'stale') return undefined;
    return (await this.get(spec.name))!;
  }

  /** A deployment's revisions, newest first. */
  async revisions(name: string, limit = 100): Promise<Revision[]> {
    const rows = await this.db.selectFrom('srv_revision').selectAll().where('deployment', '=', name).orderBy('revision', 'desc').limit(limit).execute();
    return rows.map(toRevision);
  }

  async revision(name: string, revision: number): Promise<Revision | undefined> {
    const row = await this.db.selectFrom('srv_revision').selectAll().where('deployment', '=', name).where('revision', '=', revision).executeTakeFirst();
    return row ? toRevision(row) : undefined;
  }

  /** Records a replica's load outcome; not a change of the deployment, so nothing is bumped. */
  async report(name: string, status: DeploymentStatus, now: number): Promise<void> {
    await this.db.updateTable('srv_deployment').set({ status: JSON.stringify(status), status_ms: now }).where('name', '=', name).execute();
  }

  async delete(name: string): Promise<void> {
    const deleted = await this.db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('srv_deployment').where('name', '=', name).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) return false;
      await trx.deleteFrom('srv_revision').where('deployment', '=', name).execute();
      await this.bump(trx);
      return true;
    });
    if (!deleted) throw notFound(`deployment "${name}" does not exist`);
  }
}
