/**
 * Who may do what. A route declares the permission it needs (public, read, edit, manage,
 * admin); a token carries a role, optional scopes and, through grants to it or its groups,
 * per-resource permissions as MLflow's auth app has them (READ, EDIT, MANAGE, NO_PERMISSIONS).
 */
export type Role = 'viewer' | 'editor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];

export type RoutePermission = 'public' | 'read' | 'edit' | 'manage' | 'admin';

export type ResourcePermission = 'READ' | 'EDIT' | 'MANAGE' | 'NO_PERMISSIONS';
export const RESOURCE_PERMISSIONS: readonly ResourcePermission[] = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'];

export type ResourceKind = 'experiment' | 'registered_model' | 'dataset' | 'deployment' | 'pipeline';
export const RESOURCE_KINDS: readonly ResourceKind[] = ['experiment', 'registered_model', 'dataset', 'deployment', 'pipeline'];

export interface ResourceRef {
  kind: ResourceKind;
  name: string;
}

/** What a route permission asks of a resource permission, as levels. */
const ROUTE_LEVEL: Record<RoutePermission, number> = { public: 0, read: 1, edit: 2, manage: 3, admin: 4 };
const RESOURCE_LEVEL: Record<ResourcePermission, number> = { NO_PERMISSIONS: 0, READ: 1, EDIT: 2, MANAGE: 3 };
/** A role's reach where no grant says otherwise: viewers read, editors change and delete, admins do everything. */
const ROLE_LEVEL: Record<Role, number> = { viewer: 1, editor: 3, admin: 4 };

export const routeLevel = (p: RoutePermission): number => ROUTE_LEVEL[p];
export const resourceLevel = (p: ResourcePermission): number => RESOURCE_LEVEL[p];
export const roleLevel = (r: Role): number => ROLE_LEVEL[r];

export const isRole = (text: string): text is Role => (ROLES as readonly string[]).includes(text);
export const isResourcePermission = (text: string): text is ResourcePermission => (RESOURCE_PERMISSIONS as readonly string[]).includes(text);
export const isResourceKind = (text: string): text is ResourceKind => (RESOURCE_KINDS as readonly string[]).includes(text);

/** The caller of a request once its credentials are checked. */
export type Principal =
  | { kind: 'token'; id: string; name: string; role: Role; scopes: readonly string[]; groups: readonly string[] }
  /** Auth is off (loopback, no token) or the caller holds the data folder (the embedded CLI). */
  | { kind: 'local' }
  | { kind: 'anonymous' };

/** The name audit entries and approvals record for a principal. */
export function principalName(p: Principal): string {
  if (p.kind === 'token') return `token:${p.name}`;
  return p.kind;
}

/** A scope limiting a token to one deployment's inference routes: `inference:NAME`. */
export function inferenceScope(scopes: readonly string[]): string[] | undefined {
  const names = scopes.filter((s) => s.startsWith('inference:')).map((s) => s.slice('inference:'.length));
  return names.length ? names : undefined;
}
