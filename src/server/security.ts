/**
 * Security routes: tokens, grants and the audit log (/api/v1/security, /api/v1/audit), and
 * MLflow's permission REST routes for experiments and registered models, where `username` is a
 * token's name.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../platform.js';
import { principalName, type ResourceKind } from '../security/roles.js';
import { parseDuration } from '../security/tokens.js';

const Str = Type.String();
const Opt = Type.Optional;
const Num = Type.Union([Type.Number(), Type.Null()]);

const TokenSchema = Type.Object({
  id: Str,
  name: Str,
  role: Str,
  scopes: Type.Array(Str),
  groups: Type.Array(Str),
  created_ms: Type.Number(),
  created_by: Str,
  expires_ms: Num,
  last_used_ms: Num,
  revoked_ms: Num,
});

const GrantSchema = Type.Object({ subject_kind: Str, subject: Str, resource_kind: Str, resource: Str, permission: Str });

const AuditEntrySchema = Type.Object({
  seq: Type.Number(),
  time_ms: Type.Number(),
  actor: Str,
  action: Str,
  target: Str,
  outcome: Str,
  status: Type.Number(),
  client: Str,
  request_id: Str,
  prev_hash: Str,
  hash: Str,
});

const tags = ['security'];

export const securityRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const security = platform.services.security;

  app.get('/api/v1/security/whoami', {
    config: { permission: 'public' },
    schema: { summary: 'Who the server takes the caller for', tags, response: { 200: Type.Object({ principal: Str, role: Opt(Str), auth: Type.Boolean() }) } },
  }, async (request) => {
    const p = request.principal;
    return { principal: principalName(p), role: p.kind === 'token' ? p.role : undefined, auth: security.authRequired() };
  });

  app.post('/api/v1/security/tokens', {
    config: { permission: 'admin' },
    schema: {
      summary: 'Create a token (its text is in this answer only)',
      tags,
      body: Type.Object({ name: Str, role: Str, scopes: Opt(Type.Array(Str)), expires: Opt(Type.String({ description: 'e.g. 30d, 12h' })) }),
      response: { 201: Type.Object({ token: Str, info: TokenSchema }) },
    },
  }, async (request, reply) => {
    const b = request.body;
    const created = await security.tokens.create({
      name: b.name,
      role: b.role,
      scopes: b.scopes,
      expiresInMs: b.expires === undefined ? undefined : parseDuration(b.expires, 'expires'),
      createdBy: principalName(request.principal),
    });
    await security.tokensChanged();
    return reply.status(201).send(created);
  });

  app.get('/api/v1/security/tokens', {
    config: { permission: 'admin' },
    schema: { summary: 'Tokens (never their text)', tags, response: { 200: Type.Object({ tokens: Type.Array(TokenSchema) }) } },
  }, async () => ({ tokens: await security.tokens.list() }));

  app.delete('/api/v1/security/tokens/:ref', {
    config: { permission: 'admin' },
    schema: { summary: 'Revoke a token (by id or name)', tags, params: Type.Object({ ref: Str }), response: { 200: TokenSchema } },
  }, async (request) => {
    const revoked = await security.tokens.revoke(request.params.ref);
    await security.tokensChanged();
    return revoked;
  });

  app.post('/api/v1/security/tokens/:ref/groups', {
    config: { permission: 'admin' },
    schema: { summary: 'Add a token to a group', tags, params: Type.Object({ ref: Str }), body: Type.Object({ group: Str }) },
  }, async (request, reply) => {
    await security.tokens.addToGroup(request.params.ref, request.body.group);
    return reply.status(204).send();
  });

  app.put('/api/v1/security/grants', {
    config: { permission: 'admin' },
    schema: { summary: 'Grant a token or group a permission on a resource', tags, body: GrantSchema, response: { 200: GrantSchema } },
  }, async (request) => {
    const b = request.body;
    // A token is named by id or name; grants hold its id, which outlives a rename or a second token of that name.
    return security.grants.set({ ...b, subject: b.subject_kind === 'token' ? (await security.tokens.find(b.subject)).id : b.subject });
  });

  app.get('/api/v1/security/grants', {
    config: { permission: 'admin' },
    schema: { summary: 'Every grant', tags, response: { 200: Type.Object({ grants: Type.Array(GrantSchema) }) } },
  }, async () => ({ grants: await security.grants.list() }));

  app.get('/api/v1/audit', {
    config: { permission: 'admin' },
    schema: {
      summary: 'Audit entries, oldest first',
      tags,
      querystring: Type.Object({ since: Opt(Type.Number({ description: 'epoch milliseconds' })), actor: Opt(Str), limit: Opt(Type.Integer({ minimum: 1, maximum: 10000 })) }),
      response: { 200: Type.Object({ entries: Type.Array(AuditEntrySchema) }) },
    },
  }, async (request) => ({ entries: await security.audit.list({ sinceMs: request.query.since, actor: request.query.actor, limit: request.query.limit }) }));

  app.get('/api/v1/audit/verify', {
    config: { permission: 'admin' },
    schema: {
      summary: 'Check the audit chain; names the first broken entry',
      tags,
      response: { 200: Type.Object({ ok: Type.Boolean(), entries: Type.Number(), brokenAt: Opt(Type.Number()), reason: Opt(Str) }) },
    },
  }, async () => security.audit.verify());

  // MLflow's auth app: /api/2.0/mlflow/{experiments,registered-models}/permissions/{create,get,update,delete}.
  const mlflowKinds: { path: string; kind: ResourceKind; key: 'experiment_id' | 'name'; answer: string }[] = [
    { path: 'experiments', kind: 'experiment', key: 'experiment_id', answer: 'experiment_permission' },
    { path: 'registered-models', kind: 'registered_model', key: 'name', answer: 'registered_model_permission' },
  ];
  for (const { path, kind, key, answer } of mlflowKinds) {
    const base = `/api/2.0/mlflow/${path}/permissions`;
    const Ref = Type.Object({ [key]: Str, username: Str });
    const WithPermission = Type.Object({ [key]: Str, username: Str, permission: Str });
    const subjectOf = async (username: string) => (await security.tokens.find(username)).id;
    const shape = (resource: string, username: string, permission: string) => ({ [answer]: { [key]: resource, user_id: username, permission } });
    const upsert = async (body: Record<string, string>) => {
      const resource = body[key];
      const grant = await security.grants.set({ subject_kind: 'token', subject: await subjectOf(body.username), resource_kind: kind, resource, permission: body.permission });
      return shape(resource, body.username, grant.permission);
    };
    const manage = { permission: 'manage' as const };
    app.post(`${base}/create`, { config: manage, schema: { summary: `Grant a user a permission on one of ${path}`, tags: ['mlflow auth'], body: WithPermission } }, async (request) => upsert(request.body as Record<string, string>));
    app.patch(`${base}/update`, { config: manage, schema: { summary: `Change a user's permission on one of ${path}`, tags: ['mlflow auth'], body: WithPermission } }, async (request) => {
      const body = request.body as Record<string, string>;
      await security.grants.get('token', await subjectOf(body.username), { kind, name: body[key] });
      await upsert(body);
      return {};
    });
    app.get(`${base}/get`, { config: manage, schema: { summary: `A user's permission on one of ${path}`, tags: ['mlflow auth'], querystring: Ref } }, async (request) => {
      const q = request.query as Record<string, string>;
      const grant = await security.grants.get('token', await subjectOf(q.username), { kind, name: q[key] });
      return shape(q[key], q.username, grant.permission);
    });
    app.delete(`${base}/delete`, { config: manage, schema: { summary: `Remove a user's permission on one of ${path}`, tags: ['mlflow auth'], body: Ref } }, async (request) => {
      const body = request.body as Record<string, string>;
      await security.grants.remove('token', await subjectOf(body.username), { kind, name: body[key] });
      return {};
    });
  }
};
