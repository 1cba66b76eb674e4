/**
 * API tokens: 256 random bits shown once, stored only as an HMAC under the server secret, with
 * a role, scopes, an expiry and a last-used time. Checking a token is, on a cache miss, one HMAC
 * and one indexed read. Answers are cached for a few seconds, keyed by the presented text, so
 * that a request carrying a known token is decided synchronously with neither (the serving
 * path's check stays on its fast path); expiry and revocation are still checked per request,
 * and a revocation elsewhere reaches this cache at once over the cluster bus, or within the
 * cache time when a message is missed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { invalidArgument, notFound } from '../core/errors.js';
import { timeOrderedId } from '../core/ids.js';
import { isRole, type Role } from './roles.js';
import type { SecurityTables, TokenTable } from './migrations.js';

const PREFIX = 'mp_';
const CACHE_MS = 5_000;
/** Unknown tokens are cached too (so guessing costs the store nothing): bounded, the oldest lookups go first. */
const CACHE_ENTRIES = 10_000;
/**
 * Texts longer than any token modelport issues are looked up every time, never kept: a full cache
 * of header-sized guesses would hold over 100 MiB.
 */
const CACHED_TEXT_MAX = 256;
/** last-used is written at most this often per token: a write per request would cost the serving path. */
const LAST_USED_EVERY_MS = 60_000;
const SCOPE = /^inference:[A-Za-z0-9._-]{1,255}$/;

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  groups: string[];
  created_ms: number;
  created_by: string;
  expires_ms: number | null;
  last_used_ms: number | null;
  revoked_ms: number | null;
}

export interface NewToken {
  name: string;
  role: string;
  scopes?: string[];
  /** Milliseconds from now; absent: never expires. */
  expiresInMs?: number;
  createdBy: string;
  /** The token text itself, for the bootstrap token taken from MODELPORT_ADMIN_TOKEN. */
  token?: string;
}

type Cached = { info: TokenInfo | undefined; at: number };

export class TokenStore {
  /** Keyed by the token text as presented: a hit needs no HMAC. Held only in memory, like the requests carrying it. */
  private readonly cache = new Map<string, Cached>();
  private readonly reading = new Map<string, Promise<Cached>>();
  /** Bumped by every invalidation, so a store read that raced one is not cached. */
  private epoch = 0;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Kysely<SecurityTables>,
    private readonly clock: Clock,
    private readonly secret: string,
    /** Told after every change, so other replicas can drop what they cached. */
    private readonly changed: () => void = () => undefined,
  ) {}

  hash(token: string): string {
    return createHmac('sha256', this.secret).update(token).digest('hex');
  }

  async create(spec: NewToken): Promise<{ token: string; info: TokenInfo }> {
    const name = spec.name.trim();
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name)) throw invalidArgument('name: use 1-128 letters, digits, ".", "_", "@" or "-"', { field: 'name' });
    if (!isRole(spec.role)) throw invalidArgument(`role: "${spec.role}" is not one of viewer, editor, admin`, { field: 'role' });
    const scopes = spec.scopes ?? [];
    for (const s of scopes) if (!SCOPE.test(s)) throw invalidArgument(`scope: "${s}" is not inference:DEPLOYMENT`, { field: 'scope' });
    if (spec.expiresInMs !== undefined && !(spec.expiresInMs > 0)) throw invalidArgument('expires: must be a positive duration', { field: 'expires' });
    const token = spec.token ?? newTokenText();
    const now = this.clock.now();
    const row: TokenTable = {
      id: timeOrderedId(now),
      name,
      role: spec.role,
      scopes_json: JSON.stringify(scopes),
      hash: this.hash(token),
      created_ms: now,
      created_by: spec.createdBy,
      expires_ms: spec.expiresInMs === undefined ? null : now + spec.expiresInMs,
      last_used_ms: null,
      revoked_ms: null,
    };
    await this.db.insertInto('sec_token').values(row).execute();
    this.changed();
    return { token, info: toInfo(row, []) };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db.selectFrom('sec_token').selectAll().orderBy('id').execute();
    const members = await this.db.selectFrom('sec_group_member').selectAll().execute();
    return rows.map((r) => toInfo(r, members.filter((m) => m.token_id === r.id).map((m) => m.group_name)));
  }

  /** A token by id or, when unique, by name. */
  async find(ref: string): Promise<TokenInfo> {
    const all = await this.list();
    const byId = all.find((t) => t.id === ref);
    if (byId) return byId;
    const byName = all.filter((t) => t.name === ref && t.revoked_ms === null);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw invalidArgument(`token: several live tokens are named "${ref}"; give its id`, { field: 'token' });
    throw notFound(`token "${ref}" does not exist`);
  }

  async revoke(ref: string): Promise<TokenInfo> {
    const found = await this.find(ref);
    if (found.revoked_ms !== null) return found;
    const now = this.clock.now();
    await this.db.updateTable('sec_token').set({ revoked_ms: now }).where('id', '=', found.id).execute();
    this.invalidate();
    this.changed();
    return { ...found, revoked_ms: now };
  }

  /** Whether any live token exists: while none does, a loopback server runs without auth. */
  async anyLive(): Promise<boolean> {
    const row = await this.db.selectFrom('sec_token').select('id').where('revoked_ms', 'is', null).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async addToGroup(ref: string, group: string): Promise<void> {
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(group)) throw invalidArgument('group: use 1-128 letters, digits, ".", "_", "@" or "-"', { field: 'group' });
    const token = await this.find(ref);
    await this.db.insertInto('sec_group_member').values({ group_name: group, token_id: token.id }).onConflict((c) => c.doNothing()).execute();
    this.invalidate();
    this.changed();
  }

  /**
   * The answer for `token` from the cache, without a hash or a store read: its info when live,
   * null when unknown, expired or revoked, undefined when not cached (or cached too long ago)
   * so that `verify` must look it up.
   */
  cached(token: string): TokenInfo | null | undefined {
    const hit = this.cache.get(token);
    const now = this.clock.now();
    if (!hit || now - hit.at > CACHE_MS) return undefined;
    return this.accept(hit.info, now);
  }

  /** The live token a caller presented, or undefined for an unknown, expired or revoked one. */
  async verify(token: string): Promise<TokenInfo | undefined> {
    const known = this.cached(token);
    if (known !== undefined) return known ?? undefined;
    // Requests arriving together with a token not yet cached share one read.
    let read = this.reading.get(token);
    if (!read) this.reading.set(token, (read = this.lookUp(token)));
    return this.accept((await read).info, this.clock.now()) ?? undefined;
  }

  private async lookUp(token: string): Promise<Cached> {
    const epoch = this.epoch;
    try {
      const row = await this.db.selectFrom('sec_token').selectAll().where('hash', '=', this.hash(token)).executeTakeFirst();
      const groups = row ? (await this.db.selectFrom('sec_group_member').select('group_name').where('token_id', '=', row.id).execute()).map((g) => g.group_name) : [];
      const hit = { info: row ? toInfo(row, groups) : undefined, at: this.clock.now() };
      // A read that began before an invalidation may hold what was just changed: answer with it, do not keep it.
      if (epoch !== this.epoch || token.length > CACHED_TEXT_MAX) return hit;
      this.cache.delete(token);
      if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, hit);
      return hit;
    } finally {
      if (epoch === this.epoch) this.reading.delete(token);
    }
  }

  /** `info` when it is live at `now` (recording its use now and then), else null. */
  private accept(info: TokenInfo | undefined, now: number): TokenInfo | null {
    if (!info || info.revoked_ms !== null || (info.expires_ms !== null && info.expires_ms <= now)) return null;
    if (now - (this.lastUsedWritten.get(info.id) ?? 0) >= LAST_USED_EVERY_MS) {
      this.lastUsedWritten.set(info.id, now);
      void this.db.updateTable('sec_token').set({ last_used_ms: now }).where('id', '=', info.id).execute().catch(() => undefined);
    }
    return info;
  }

  /** Forget cached answers (after a change made here or announced by another replica). */
  invalidate(): void {
    this.epoch++;
    this.cache.clear();
    this.reading.clear();
  }
}

function toInfo(r: TokenTable, groups: string[]): TokenInfo {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    scopes: JSON.parse(r.scopes_json) as string[],
    groups,
    created_ms: Number(r.created_ms),
    created_by: r.created_by,
    expires_ms: num(r.expires_ms),
    last_used_ms: num(r.last_used_ms),
    revoked_ms: num(r.revoked_ms),
  };
}

/** A new token's text: 256 random bits. */
export function newTokenText(): string {
  return `${PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `30d`, `12h`, `45m`, `90s` as milliseconds. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw invalidArgument(`${field}: "${text}" is not a duration such as 30d, 12h or 45m`, { field });
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
