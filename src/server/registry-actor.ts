/**
 * Who is calling, for the registry's approvals and audit fields. With auth on, the identity is
 * the caller's token (its name; its role and groups as roles) and the headers are ignored, so
 * nobody can request under one name and approve under another. With auth off (a loopback
 * server without tokens, or the embedded CLI) it is taken from `x-modelport-user` and
 * `x-modelport-roles` (comma-separated) as given.
 */
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../registry/index.js';

export const USER_HEADER = 'x-modelport-user';
export const ROLES_HEADER = 'x-modelport-roles';

export function actorOf(request: FastifyRequest): Actor {
  const principal = request.principal;
  if (principal?.kind === 'token') return { user: principal.name, roles: [principal.role, ...principal.groups], admin: principal.role === 'admin' };
  const user = request.headers[USER_HEADER];
  const roles = request.headers[ROLES_HEADER];
  return {
    user: typeof user === 'string' && user.trim() ? user.trim() : undefined,
    roles: typeof roles === 'string' ? roles.split(',').map((r) => r.trim()).filter((r) => r !== '') : [],
  };
}
