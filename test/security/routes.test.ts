/**
 * Every route the server registers, asked by every role and by a caller without credentials:
 * none answers beyond the permission it declares. The routes come from the server itself, so
 * routes added later are covered without touching this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPlatform } from '../helpers/platform.js';
import { buildApp } from '../../src/server/app.js';
import type { RoutePermission } from '../../src/security/index.js';

const ROLES = ['viewer', 'editor', 'admin'] as const;
type Caller = (typeof ROLES)[number] | 'none';

/** What each caller may reach. */
const ALLOWED: Record<RoutePermission, Caller[]> = {
  public: ['none', 'viewer', 'editor', 'admin'],
  read: ['viewer', 'editor', 'admin'],
  edit: ['editor', 'admin'],
  manage: ['editor', 'admin'],
  admin: ['admin'],
};

function messageOf(body: string): string {
  try {
    const b = JSON.parse(body) as { message?: string; error?: string | { message?: string } };
    return typeof b.error === 'string' ? b.error : b.error?.message ?? b.message ?? '';
  } catch {
    return body;
  }
}

/** A refusal by the security layer, as opposed to an answer of the route (a 404, a 400, ...). */
const refusedBySecurity = (status: number, body: string) => status === 401 || (status === 403 && /^token "|authentication required/.test(messageOf(body)));

test('no registered route answers beyond its declared permission, for any role or for no credentials', async () => {
  const platform = await testPlatform();
  const app = await buildApp(platform, { logger: false });
  try {
    await app.ready();
    const tokens: Record<string, string> = {};
    for (const role of ROLES) tokens[role] = (await platform.services.security.tokens.create({ name: role, role, createdBy: 'test' })).token;
    await platform.services.security.tokensChanged();

    const routes = app.securedRoutes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    assert.ok(routes.length > 100, `the server registered ${routes.length} routes`);
    const byPermission = new Map<string, number>();
    const failures: string[] = [];
    for (const route of routes) {
      byPermission.set(route.permission, (byPermission.get(route.permission) ?? 0) + 1);
      const url = route.url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*/g, 'x');
      for (const caller of ['none', ...ROLES] as Caller[]) {
        const headers: Record<string, string> = caller === 'none' ? {} : { authorization: `Bearer ${tokens[caller]}` };
        const withBody = route.method !== 'GET' && route.method !== 'DELETE';
        const res = await app.inject({ method: route.method as 'GET', url, headers: withBody ? { ...headers, 'content-type': 'application/json' } : headers, payload: withBody ? '{}' : undefined });
        const refused = refusedBySecurity(res.statusCode, res.body);
        const allowed = ALLOWED[route.permission].includes(caller);
        if (allowed === refused) failures.push(`${route.method} ${route.url} (${route.permission}) as ${caller}: ${res.statusCode} ${res.body.slice(0, 120)}`);
        if (caller === 'none' && !allowed && res.statusCode !== 401) failures.push(`${route.method} ${route.url}: no credentials got ${res.statusCode}, not 401`);
      }
    }
    assert.deepEqual(failures, []);
    for (const p of ['public', 'read', 'edit', 'manage', 'admin']) assert.ok((byPermission.get(p) ?? 0) > 0, `some route declares ${p}`);
  } finally {
    await app.close();
    await platform.close();
  }
});
