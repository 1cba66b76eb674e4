/**
 * Approval policies: which alias moves and stage transitions need a second person, and who may
 * approve them. A model's own policy replaces the global one (the policy with no model).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { invalidArgument, notFound, permissionDenied, unauthenticated } from '../core/errors.js';
import { canonicalStage } from './names.js';
import type { RegApprovalTable, RegPolicyTable, RegistryTables } from './tables.js';
import type { Actor, Approval, ApprovalPolicy } from './types.js';

export interface PolicyInput {
  model?: string;
  protectedAliases?: string[];
  protectedStages?: string[];
  approverRoles?: string[];
  approvers?: string[];
}

export function toPolicy(row: RegPolicyTable): ApprovalPolicy {
  return {
    id: row.id,
    model: row.model_name ?? undefined,
    protectedAliases: JSON.parse(row.protected_aliases) as string[],
    protectedStages: JSON.parse(row.protected_stages) as string[],
    approverRoles: JSON.parse(row.approver_roles) as string[],
    approvers: JSON.parse(row.approvers) as string[],
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
  };
}

export function toApproval(row: RegApprovalTable): Approval {
  return {
    id: row.id,
    name: row.model_name,
    version: row.version,
    kind: row.kind as Approval['kind'],
    target: row.target,
    archiveExistingVersions: row.archive_existing === 1,
    status: row.status as Approval['status'],
    requestedBy: row.requested_by,
    requestedAt: row.requested_ms,
    requestComment: row.request_comment ?? undefined,
    decidedBy: row.decided_by ?? undefined,
    decidedAt: row.decided_ms ?? undefined,
    decisionComment: row.decision_comment ?? undefined,
  };
}

const strings = (value: unknown, field: string): string[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw invalidArgument(`${field} must be a list of non-empty strings`, { field });
  return [...new Set(value as string[])];
};

/** Creates or replaces the policy of `input.model` (or the global policy). */
export async function putPolicy(db: Kysely<RegistryTables>, input: PolicyInput, now: number): Promise<ApprovalPolicy> {
  const stages = strings(input.protectedStages, 'protected_stages').map((s) => canonicalStage(s));
  const values = {
    protected_aliases: JSON.stringify(strings(input.protectedAliases, 'protected_aliases')),
    protected_stages: JSON.stringify(stages),
    approver_roles: JSON.stringify(strings(input.approverRoles, 'approver_roles')),
    approvers: JSON.stringify(strings(input.approvers, 'approvers')),
    updated_ms: now,
  };
  return db.transaction().execute(async (trx) => {
    const existing = await byModel(trx, input.model);
    if (existing) {
      await trx.updateTable('reg_policy').set(values).where('id', '=', existing.id).execute();
      return toPolicy({ ...existing, ...values });
    }
    const row: RegPolicyTable = { id: randomUUID(), model_name: input.model ?? null, created_ms: now, ...values };
    await trx.insertInto('reg_policy').values(row).execute();
    return toPolicy(row);
  });
}

function byModel(db: Kysely<RegistryTables>, model: string | undefined): Promise<RegPolicyTable | undefined> {
  const q = db.selectFrom('reg_policy').selectAll();
  return (model === undefined ? q.where('model_name', 'is', null) : q.where('model_name', '=', model)).executeTakeFirst();
}

/** The policy that governs `model`: its own, else the global one. */
export async function policyFor(db: Kysely<RegistryTables>, model: string): Promise<ApprovalPolicy | undefined> {
  const row = (await byModel(db, model)) ?? (await byModel(db, undefined));
  return row && toPolicy(row);
}

export async function listPolicies(db: Kysely<RegistryTables>): Promise<ApprovalPolicy[]> {
  return (await db.selectFrom('reg_policy').selectAll().orderBy('created_ms').orderBy('id').execute()).map(toPolicy);
}

export async function deletePolicy(db: Kysely<RegistryTables>, id: string): Promise<void> {
  const res = await db.deleteFrom('reg_policy').where('id', '=', id).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notFound(`approval policy ${id} does not exist`);
}

export function protects(policy: ApprovalPolicy | undefined, kind: 'alias' | 'stage', target: string): boolean {
  if (!policy) return false;
  return kind === 'alias' ? policy.protectedAliases.includes('*') || policy.protectedAliases.includes(target) : policy.protectedStages.includes(target);
}

export function requireUser(actor: Actor | undefined, what: string): string {
  if (!actor?.user) throw unauthenticated(`${what} needs an identity: send the x-modelport-user header (until token auth is enabled)`);
  return actor.user;
}

/** Throws PermissionDenied unless `actor` may approve a request made by `requestedBy` under `policy`. */
export function checkApprover(policy: ApprovalPolicy | undefined, actor: Actor, requestedBy: string): void {
  const user = requireUser(actor, 'approving');
  if (user === requestedBy) throw permissionDenied(`approval must come from another user than the requester (${requestedBy})`);
  if (!policy) return;
  if (policy.approvers.length > 0 && !policy.approvers.includes(user)) {
    throw permissionDenied(`user ${user} is not an approver for this model (approvers: ${policy.approvers.join(', ')})`);
  }
  if (policy.approverRoles.length > 0 && !(actor.roles ?? []).some((r) => policy.approverRoles.includes(r))) {
    throw permissionDenied(`approving needs one of the roles ${policy.approverRoles.join(', ')}; user ${user} has ${(actor.roles ?? []).join(', ') || 'none'}`);
  }
}
