/**
 * Per-resource permissions granted to tokens or groups. The table is small and read on every
 * request that names a resource, so it is held in memory and reloaded every few seconds (and at
 * once after a change made here), which lets the serving path decide without a store read.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { invalidArgument, notFound } from '../core/errors.js';
import type { SecurityTables } from './migrations.js';
import { isResourceKind, isResourcePermission, resourceLevel, RESOURCE_KINDS, RESOURCE_PERMISSIONS, type ResourceKind, type ResourcePermission, type ResourceRef } from './roles.js';

const RELOAD_MS = 5_000;

export interface Grant {
  subject_kind: 'token' | 'group';
  subject: string;
  resource_kind: ResourceKind;
  resource: string;
  permission: ResourcePermission;
}

const key = (kind: string, subject: string, resource: ResourceRef) => `${kind}\u0000${subject}\u0000${resource.kind}\u0000${resource.name}`;

export class GrantStore {
  private byKey = new Map<string, ResourcePermission>();
  private subjects = new Set<string>();
  private loadedAt = -Infinity;
  /** Counts reloads: a decision remembered under an older generation is decided again. */
  generation = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<SecurityTables>,
    private readonly clock: Clock,
    /** Told after every change, so other replicas can reload at once. */
    private readonly changed: () => void = () => undefined,
  ) {}

  /** Reloads when stale; cheap when fresh, so callers may await it per request. */
  refresh(): Promise<void> | undefined {
    if (this.clock.now() - this.loadedAt < RELOAD_MS) return undefined;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Reload at the next request (after a change made here or announced by another replica). */
  expire(): void {
    this.loadedAt = -Infinity;
  }

  private async load(): Promise<void> {
    const rows = await this.db.selectFrom('sec_grant').selectAll().execute();
    const next = new Map<string, ResourcePermission>();
    for (const r of rows) next.set(key(r.subject_kind, r.subject, { kind: r.resource_kind as ResourceKind, name: r.resource }), r.permission as ResourcePermission);
    this.byKey = next;
    this.generation++;
    this.subjects = new Set(rows.map((r) => `${r.subject_kind}\u0000${r.subject}`));
    this.loadedAt = this.clock.now();
  }

  /** Whether a token or any of its groups holds a grant at all: most do not, and are decided by role alone. */
  holds(tokenId: string, groups: readonly string[]): boolean {
    return this.subjects.has(`token\u0000${tokenId}`) || groups.some((g) => this.subjects.has(`group\u0000${g}`));
  }

  /**
   * The permission granted on `resource` to a token or any of its groups, the token's own grant
   * first; with several group grants the widest wins. Undefined when nothing is granted.
   */
  lookup(tokenId: string, groups: readonly string[], resource: ResourceRef): ResourcePermission | undefined {
    const own = this.byKey.get(key('token', tokenId, resource));
    if (own) return own;
    let best: ResourcePermission | undefined;
    for (const g of groups) {
      const p = this.byKey.get(key('group', g, resource));
      if (p && (best === undefined || resourceLevel(p) > resourceLevel(best))) best = p;
    }
    return best;
  }

  async set(grant: { subject_kind: string; subject: string; resource_kind: string; resource: string; permission: string }): Promise<Grant> {
    if (grant.subject_kind !== 'token' && grant.subject_kind !== 'group') throw invalidArgument('subject_kind: must be token or group', { field: 'subject_kind' });
    if (!isResourceKind(grant.resource_kind)) throw invalidArgument(`resource_kind: must be one of ${RESOURCE_KINDS.join(', ')}`, { field: 'resource_kind' });
    if (!isResourcePermission(grant.permission)) throw invalidArgument(`permission: must be one of ${RESOURCE_PERMISSIONS.join(', ')}`, { field: 'permission' });
    if (!grant.subject || !grant.resource) throw invalidArgument('subject and resource must not be empty', { field: grant.subject ? 'resource' : 'subject' });
    const row = grant as Grant;
    await this.db
      .insertInto('sec_grant')
      .values(row)
      .onConflict((c) => c.columns(['subject_kind', 'subject', 'resource_kind', 'resource']).doUpdateSet({ permission: row.permission }))
      .execute();
    this.expire();
    this.changed();
    return row;
  }

  async get(subjectKind: string, subject: string, resource: ResourceRef): Promise<Grant> {
    const row = await this.db
      .selectFrom('sec_grant')
      .selectAll()
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .where('resource_kind', '=', resource.kind)
      .where('resource', '=', resource.name)
      .executeTakeFirst();
    if (!row) throw notFound(`no permission on ${resource.kind} "${resource.name}" for ${subjectKind} "${subject}"`);
    return row as Grant;
  }

  async remove(subjectKind: string, subject: string, resource: ResourceRef): Promise<void> {
    await this.get(subjectKind, subject, resource);
    await this.db
      .deleteFrom('sec_grant')
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .where('resource_kind', '=', resource.kind)
      .where('resource', '=', resource.name)
      .execute();
    this.expire();
    this.changed();
  }

  list(): Promise<Grant[]> {
    return this.db.selectFrom('sec_grant').selectAll().orderBy('resource_kind').orderBy('resource').orderBy('subject_kind').orderBy('subject').execute() as Promise<Grant[]>;
  }
}
