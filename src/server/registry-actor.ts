/**
 * Who is calling, for the registry's approvals and audit fields. Until token auth lands (the
 * security issue), the identity is taken from the `x-modelport-user` header and roles from
 * `x-modelport-roles` (comma-separated): trusted as given, so deploy behind a proxy that sets them.
 */
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../registry/index.js';

export const USER_HEADER = 'x-modelport-user';
export const ROLES_HEADER = 'x-modelport-roles';

export function actorOf(request: FastifyRequest): Actor {
  const user = request.headers[USER_HEADER];
  const roles = request.headers[ROLES_HEADER];
  return {
    user: typeof user === 'string' && user.trim() ? user.trim() : undefined,
    roles: typeof roles === 'string' ? roles.split(',').map((r) => r.trim()).filter((r) => r !== '') : [],
  };
}
