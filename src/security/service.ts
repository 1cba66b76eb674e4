/**
 * The security domain: tokens, grants, the audit log and the decision whether a request may
 * do what it asks. HTTP concerns (headers, protocols) stay in server/auth.ts.
 */
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { ClusterBus } from '../cluster/bus.js';
import type { Clock } from '../core/clock.js';
import { invalidArgument } from '../core/errors.js';
import { isUniqueViolation, type MetadataStore } from '../storage/metadata.js';
import { AuditLog } from './audit.js';
import { GrantStore } from './grants.js';
import { GuessLimiter } from './guesses.js';
import type { SecurityTables } from './migrations.js';
import { inferenceScope, resourceLevel, roleLevel, routeLevel, type Principal, type ResourceRef, type RoutePermission } from './roles.js';
import { readOrCreateSecretFile } from './secret-file.js';
import { serverSecret } from './encryption.js';
import { newTokenText, TokenStore, type TokenInfo } from './tokens.js';

export const ADMIN_TOKEN_FILE = 'admin-token';
const LIVE_CHECK_MS = 5_000;

/** Names that reach only this machine: a server bound to one keeps auth off until a token exists. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export type Decision = { allowed: true } | { allowed: false; why: 'unauthenticated' | 'forbidden'; message: string };

export class SecurityService {
  readonly tokens: TokenStore;
  readonly grants: GrantStore;
  readonly audit: AuditLog;
  readonly guesses: GuessLimiter;
  private tokensExist = false;
  private checkedAt = -Infinity;
  private checking: Promise<void> | undefined;
  /** Per cached token answer: dropped with it when the token cache lets it go. */
  private readonly principals = new WeakMap<TokenInfo, Principal>();
  private readonly inferenceDecisions = new WeakMap<Principal, { generation: number; by: Map<string, Decision> }>();
  /** Asked on every request: the bound address does not change. */
  private readonly offLoopback: boolean;

  private constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    db: Kysely<SecurityTables>,
    bus: ClusterBus | undefined,
  ) {
    this.offLoopback = !isLoopbackHost(config.host);
    const secret = serverSecret(config);
    const announce = () => void bus?.publish({ type: 'security' }).catch(() => undefined);
    this.tokens = new TokenStore(db, clock, secret, announce);
    this.grants = new GrantStore(db, clock, announce);
    this.audit = new AuditLog(db, clock, secret);
    this.guesses = new GuessLimiter(clock);
  }

  /**
   * With a cluster, a token or grant changed on any replica is announced on its bus and every
   * replica drops what it cached at once: a revoked token is refused everywhere within
   * milliseconds, not only when the cache entry ages out.
   */
  static async create(stores: { config: Config; clock: Clock; metadata: MetadataStore; cluster?: { bus: ClusterBus } }): Promise<SecurityService> {
    const bus = stores.cluster?.bus;
    const service = new SecurityService(stores.config, stores.clock, stores.metadata.db as Kysely<SecurityTables>, bus);
    bus?.subscribe((m) => {
      if (m.type !== 'security') return;
      service.tokens.invalidate();
      service.grants.expire();
      service.checkedAt = -Infinity;
    });
    await service.refresh(true);
    return service;
  }

  /**
   * Whether requests must carry a token: always once a live token exists or auth is switched on,
   * and always off loopback (start-up refuses that case without a token). Reloads what it knows
   * every few seconds, so a token made by another process switches auth on here too.
   */
  authRequired(): boolean {
    void this.refresh(false);
    return this.tokensExist || this.config.auth === 'on' || this.offLoopback;
  }

  /** Brings the token flag and grants up to date when stale (or `force`). */
  refresh(force: boolean): Promise<void> | undefined {
    const grants = this.grants.refresh();
    if (!force && this.clock.now() - this.checkedAt < LIVE_CHECK_MS) return grants;
    this.checkedAt = this.clock.now();
    this.checking ??= Promise.all([this.tokens.anyLive(), grants])
      .then(([live]) => void (this.tokensExist = live))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** After this process made or revoked a token. */
  async tokensChanged(): Promise<void> {
    this.tokens.invalidate();
    await this.refresh(true);
  }

  /**
   * The bootstrap admin token, at a server's start: MODELPORT_ADMIN_TOKEN when set (stored once),
   * else, when auth is switched on and no token exists, a new one written to DATA/admin-token
   * (0600). Returns that file's path when it made one. A server bound beyond loopback with
   * neither refuses to start, saying how to configure it.
   */
  async bootstrap(): Promise<string | undefined> {
    const given = this.config.adminToken;
    if (given !== undefined) {
      if (given.length < 32) throw invalidArgument('MODELPORT_ADMIN_TOKEN: must be at least 32 characters (e.g. `openssl rand -base64 32`)', { field: 'MODELPORT_ADMIN_TOKEN' });
      await this.ensureAdmin(given, 'MODELPORT_ADMIN_TOKEN');
      return undefined;
    }
    if (await this.tokens.anyLive()) return undefined;
    if (this.config.auth !== 'on') {
      if (isLoopbackHost(this.config.host)) return undefined;
      throw invalidArgument(
        `--host: refusing to listen on ${this.config.host} without authentication. Start with --auth on (an admin token is written to ${join(this.config.dataDir, ADMIN_TOKEN_FILE)}), set MODELPORT_ADMIN_TOKEN, or create one first: modelport tokens create --name admin --role admin --data ${this.config.dataDir}`,
        { field: 'host' },
      );
    }
    const path = join(this.config.dataDir, ADMIN_TOKEN_FILE);
    // A file left from an earlier start whose token no longer exists is stored again, not replaced.
    const file = readOrCreateSecretFile(path, newTokenText);
    await this.ensureAdmin(file.value, 'bootstrap');
    return path;
  }

  /** Stores `token` as the bootstrap admin unless it is stored already (by this or a sibling worker). */
  private async ensureAdmin(token: string, createdBy: string): Promise<void> {
    if (!(await this.tokens.verify(token))) {
      await this.tokens.create({ name: 'bootstrap-admin', role: 'admin', createdBy, token }).catch((err: unknown) => {
        if (!isUniqueViolation(err)) throw err;
      });
    }
    await this.tokensChanged();
  }

  /** The principal a live token's answer names; the same object for as long as that answer is cached. */
  principalOf(info: TokenInfo): Principal {
    let principal = this.principals.get(info);
    if (!principal) this.principals.set(info, (principal = { kind: 'token', id: info.id, name: info.name, role: info.role, scopes: info.scopes, groups: info.groups }));
    return principal;
  }

  /**
   * `decide` for an inference call on `deployment`, remembered per principal and deployment
   * until the grants change: the serving path asks it on every request.
   */
  decideInference(principal: Principal, deployment: string): Decision {
    if (principal.kind !== 'token') return this.decide(principal, 'read', { kind: 'deployment', name: deployment }, true);
    const generation = this.grants.generation;
    let memo = this.inferenceDecisions.get(principal);
    if (!memo || memo.generation !== generation) this.inferenceDecisions.set(principal, (memo = { generation, by: new Map() }));
    let decision = memo.by.get(deployment);
    if (!decision) {
      decision = this.decide(principal, 'read', { kind: 'deployment', name: deployment }, true);
      // Bounded by the deployments this token calls; names it may not call are not remembered.
      if (decision.allowed) memo.by.set(deployment, decision);
    }
    return decision;
  }

  /**
   * May `principal` use a route declaring `permission` (on `resource`, when the route names one)?
   * Admin tokens may do everything; a token scoped to inference reaches only its deployments'
   * inference routes; a grant on the resource replaces the role's reach there, widening or
   * narrowing it (admin-only routes stay admin-only).
   */
  decide(principal: Principal, permission: RoutePermission, resource?: ResourceRef, inference = false): Decision {
    if (permission === 'public' || principal.kind === 'local') return { allowed: true };
    if (principal.kind === 'anonymous') return { allowed: false, why: 'unauthenticated', message: 'authentication required: send Authorization: Bearer TOKEN (or HTTP Basic with the token as password)' };
    const forbidden = (message: string): Decision => ({ allowed: false, why: 'forbidden', message });
    const scoped = inferenceScope(principal.scopes);
    if (scoped) {
      if (!inference || !resource || resource.kind !== 'deployment' || !scoped.includes(resource.name)) return forbidden(`token "${principal.name}" may only call inference on ${scoped.join(', ')}`);
    }
    if (principal.role === 'admin') return { allowed: true };
    if (permission === 'admin') return forbidden(`token "${principal.name}" (role ${principal.role}) may not do what needs the admin role`);
    const granted = resource ? this.grants.lookup(principal.id, principal.groups, resource) : undefined;
    if (routeLevel(permission) <= (granted !== undefined ? resourceLevel(granted) : roleLevel(principal.role))) return { allowed: true };
    return forbidden(
      granted !== undefined
        ? `token "${principal.name}" has ${granted} on ${resource!.kind} "${resource!.name}", which does not allow what needs ${permission}`
        : `token "${principal.name}" (role ${principal.role}) may not do what needs the ${permission} permission`,
    );
  }
}
