/**
 * Every route declares the permission it needs next to its schema. The security issue enforces
 * them with one hook; until then the declaration is checked at start-up so none is forgotten.
 */
import type { FastifyInstance } from 'fastify';

export type Permission = 'public' | 'read' | 'edit' | 'manage' | 'admin';
export const PERMISSIONS: readonly Permission[] = ['public', 'read', 'edit', 'manage', 'admin'];

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
  }
}

/** Routes added by third-party plugins (the docs UI) are public documentation. */
const THIRD_PARTY_PUBLIC = ['/docs'];

export function requireDeclaredPermissions(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const declared = (route.config as { permission?: Permission } | undefined)?.permission;
    if (declared && PERMISSIONS.includes(declared)) return;
    if (THIRD_PARTY_PUBLIC.some((p) => route.url === p || route.url.startsWith(`${p}/`))) return;
    throw new Error(`route ${String(route.method)} ${route.url} declares no permission (config.permission)`);
  });
}
