/**
 * modelport's own registry API: streamed artifact uploads and registration from uploaded files,
 * manifests and file downloads, lineage, aliases, approvals (/api/v1/approvals) and webhooks
 * (/api/v1/webhooks). The caller's identity comes from `x-modelport-user` until auth lands.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import type { Platform } from '../platform.js';
import { invalidArgument } from '../core/errors.js';
import { REGISTRY_EVENTS, STAGES } from '../registry/index.js';
import { actorOf } from './registry-actor.js';
import { limitedUpload } from './upload-limit.js';


const Str = Type.String();
const Opt = Type.Optional;
const Name = Type.String({ minLength: 1, maxLength: 256, description: 'registered model name' });
const Ref = Type.String({ minLength: 1, description: 'a version number, an alias (champion or @champion) or "latest"' });
const Tags = Type.Record(Str, Str);

export const ModelVersionSchema = Type.Object({
  name: Str,
  version: Type.Integer(),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
  userId: Opt(Str),
  stage: Str,
  description: Opt(Str),
  source: Str,
  runId: Opt(Str),
  runLink: Opt(Str),
  status: Str,
  statusMessage: Opt(Str),
  tags: Tags,
  aliases: Type.Array(Str),
  flavor: Opt(Str),
  sha256: Opt(Str),
  size: Opt(Type.Number()),
  signature: Opt(Type.Unknown()),
  inputExample: Opt(Type.Unknown()),
  modelUuid: Opt(Str),
  parents: Type.Array(Type.Object({ name: Str, version: Type.Integer() })),
});

export const RegisteredModelSchema = Type.Object({
  name: Str,
  description: Opt(Str),
  userId: Opt(Str),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
  tags: Tags,
  aliases: Type.Array(Type.Object({ alias: Str, version: Type.Integer() })),
  latestVersions: Type.Array(ModelVersionSchema),
});

const ApprovalSchema = Type.Object({
  id: Str,
  name: Str,
  version: Type.Integer(),
  kind: Str,
  target: Str,
  archiveExistingVersions: Type.Boolean(),
  status: Str,
  requestedBy: Str,
  requestedAt: Type.Number(),
  requestComment: Opt(Str),
  decidedBy: Opt(Str),
  decidedAt: Opt(Type.Number()),
  decisionComment: Opt(Str),
});

const PolicySchema = Type.Object({
  id: Str,
  model: Opt(Str),
  protectedAliases: Type.Array(Str),
  protectedStages: Type.Array(Str),
  approverRoles: Type.Array(Str),
  approvers: Type.Array(Str),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});

const WebhookSchema = Type.Object({
  id: Str,
  url: Str,
  events: Type.Array(Str),
  model: Opt(Str),
  description: Opt(Str),
  status: Str,
  hasSecret: Type.Boolean(),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});

const DeliverySchema = Type.Object({
  id: Str,
  webhookId: Str,
  event: Str,
  payload: Str,
  status: Str,
  attempts: Type.Integer(),
  responseStatus: Opt(Type.Integer()),
  error: Opt(Str),
  nextAttemptAt: Opt(Type.Number()),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});

const LineageSchema = Type.Object({
  root: Str,
  nodes: Type.Array(Type.Object({ id: Str, kind: Str, label: Str, data: Type.Record(Str, Type.Unknown()) })),
  edges: Type.Array(Type.Object({ from: Str, to: Str, relation: Str })),
});

const FileRef = Type.Object({ path: Type.String({ minLength: 1 }), sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) });
const CreateVersionBody = Type.Object({
  files: Opt(Type.Array(FileRef, { description: 'files uploaded with PUT /api/v1/registry/blobs, by path inside the model folder' })),
  source: Opt(Type.String({ description: 'or an artifact URI: models:/NAME/VERSION, runs:/RUN_ID/PATH, mlflow-artifacts:/...' })),
  flavor: Opt(Type.Union([Type.Literal('onnx'), Type.Literal('xgboost'), Type.Literal('js')])),
  runId: Opt(Str),
  runLink: Opt(Str),
  description: Opt(Str),
  tags: Opt(Tags),
  signature: Opt(Type.Unknown({ description: 'MLflow signature {inputs, outputs} (JSON strings or lists), written into the generated MLmodel' })),
  inputExample: Opt(Type.Unknown()),
  parents: Opt(Type.Array(Type.Object({ name: Str, version: Type.Integer({ minimum: 1 }) }))),
  createModel: Opt(Type.Boolean({ default: true, description: 'create the registered model when it does not exist' })),
});

const RawBody = Type.Unsafe<Readable>({ description: 'the file as the raw request body' });
const EventName = Type.String({ description: `one of ${REGISTRY_EVENTS.join(', ')}, or *` });

export const registryRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const registry = platform.services.registry;
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  const tags = ['model registry'];

  app.put(
    '/api/v1/registry/blobs',
    {
      config: { permission: 'edit' },
      bodyLimit: platform.config.limits.uploadLimit,
      schema: {
        summary: 'Upload one artifact file (raw application/octet-stream body, streamed to the artifact store); answers its sha256',
        tags,
        consumes: ['application/octet-stream'],
        body: RawBody,
        querystring: Type.Object({ sha256: Opt(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'expected sha256; the upload fails if the bytes differ' })) }),
        response: { 200: Type.Object({ sha256: Str, size: Type.Number() }) },
      },
    },
    async (request) => {
      const body = request.body as unknown as Readable | undefined;
      if (!body || typeof body.pipe !== 'function') {
        throw invalidArgument('body: send the file as the raw body with content-type application/octet-stream', { httpStatus: 415 });
      }
      const info = await registry.putBlob(limitedUpload(body, request.headers, platform.config.limits.uploadLimit));
      if (request.query.sha256 && request.query.sha256 !== info.sha256) {
        throw invalidArgument(`body: the uploaded bytes hash to ${info.sha256}, not the expected ${request.query.sha256}`);
      }
      return info;
    },
  );

  app.get(
    '/api/v1/registry/models',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Search registered models (MLflow filter grammar)',
        tags,
        querystring: Type.Object({ filter: Opt(Str), maxResults: Opt(Type.Integer()), orderBy: Opt(Type.Array(Str)), pageToken: Opt(Str) }),
        response: { 200: Type.Object({ models: Type.Array(RegisteredModelSchema), nextPageToken: Opt(Str) }) },
      },
    },
    async (request) => registry.searchModels(request.query),
  );

  app.post(
    '/api/v1/registry/models',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Create a registered model',
        tags,
        body: Type.Object({ name: Name, description: Opt(Str), tags: Opt(Tags) }),
        response: { 201: RegisteredModelSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await registry.createModel(request.body, actorOf(request))),
  );

  app.get(
    '/api/v1/registry/models/:name',
    { config: { permission: 'read' }, schema: { summary: 'A registered model', tags, params: Type.Object({ name: Name }), response: { 200: RegisteredModelSchema } } },
    async (request) => registry.getModel(request.params.name),
  );

  app.get(
    '/api/v1/registry/models/:name/versions',
    {
      config: { permission: 'read' },
      schema: {
        summary: "A model's versions, newest first",
        tags,
        params: Type.Object({ name: Name }),
        response: { 200: Type.Object({ versions: Type.Array(ModelVersionSchema) }) },
      },
    },
    async (request) => ({ versions: await registry.listVersions(request.params.name) }),
  );

  app.post(
    '/api/v1/registry/models/:name/versions',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Register a version from uploaded files (or an artifact URI); validates the flavor and writes MLmodel when missing',
        tags,
        params: Type.Object({ name: Name }),
        body: CreateVersionBody,
        response: { 201: ModelVersionSchema },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const version = await registry.createVersion({ ...b, name: request.params.name, createModel: b.createModel ?? true, requireKnownRun: true }, actorOf(request));
      return reply.status(201).send(version);
    },
  );

  const VersionParams = Type.Object({ name: Name, version: Ref });

  app.get(
    '/api/v1/registry/models/:name/versions/:version',
    { config: { permission: 'read' }, schema: { summary: 'A model version (by number, alias or latest)', tags, params: VersionParams, response: { 200: ModelVersionSchema } } },
    async (request) => registry.resolveVersion(request.params.name, request.params.version),
  );

  // force=true deletes the deployments that serve what goes first, so no deployment is left
  // pointing at a version that no longer exists; it answers which ones it deleted.
  const Force = Type.Object({ force: Type.Optional(Type.Boolean({ description: 'also delete the deployments that serve it' })) });
  const undeploy = async (model: string, version?: number): Promise<string[]> => {
    const names = await platform.services.serving.deploymentsServing(model, version);
    for (const name of names) await platform.services.serving.delete(name);
    return names;
  };

  app.delete(
    '/api/v1/registry/models/:name/versions/:version',
    { config: { permission: 'manage' }, schema: { summary: 'Delete a model version (refused while a deployment serves it, unless force)', tags, params: VersionParams, querystring: Force } },
    async (request, reply) => {
      const v = await registry.resolveVersion(request.params.name, request.params.version);
      const deployments = request.query.force ? await undeploy(v.name, v.version) : [];
      await registry.deleteVersion(v.name, v.version, actorOf(request));
      return request.query.force ? { deleted_deployments: deployments } : reply.status(204).send();
    },
  );

  app.delete(
    '/api/v1/registry/models/:name',
    {
      config: { permission: 'manage' },
      schema: { summary: 'Delete a registered model and all its versions (refused while a deployment serves one, unless force)', tags, params: Type.Object({ name: Name }), querystring: Force },
    },
    async (request, reply) => {
      // A forced delete checks the model exists before it touches any deployment.
      if (request.query.force) await registry.getModel(request.params.name);
      const deployments = request.query.force ? await undeploy(request.params.name) : [];
      await registry.deleteModel(request.params.name, actorOf(request));
      return request.query.force ? { deleted_deployments: deployments } : reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/registry/models/:name/versions/:version/manifest',
    {
      config: { permission: 'read' },
      schema: {
        summary: "The version's files (path → sha256, size) and the manifest sha256 that covers them",
        tags,
        params: VersionParams,
        response: { 200: Type.Object({ sha256: Str, files: Type.Array(Type.Object({ path: Str, sha256: Str, size: Type.Number() })) }) },
      },
    },
    async (request) => {
      const v = await registry.resolveVersion(request.params.name, request.params.version);
      return registry.manifest(v.name, v.version);
    },
  );

  app.get(
    '/api/v1/registry/models/:name/versions/:version/files/*',
    {
      config: { permission: 'read' },
      schema: { summary: 'Download one file of the version (verified against its sha256 while streaming)', tags, params: Type.Object({ name: Name, version: Ref, '*': Str }) },
    },
    async (request, reply) => {
      const v = await registry.resolveVersion(request.params.name, request.params.version);
      const { stream, size } = await registry.openFile(v.name, v.version, request.params['*']);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(size))
        .header('content-disposition', 'attachment')
        .header('x-content-type-options', 'nosniff')
        .send(stream);
    },
  );

  app.get(
    '/api/v1/registry/models/:name/versions/:version/lineage',
    {
      config: { permission: 'read' },
      schema: { summary: 'Lineage graph: version → run → datasets, code version; parent models', tags, params: VersionParams, response: { 200: LineageSchema } },
    },
    async (request) => {
      const v = await registry.resolveVersion(request.params.name, request.params.version);
      return registry.lineage(v.name, v.version);
    },
  );

  app.put(
    '/api/v1/registry/models/:name/aliases/:alias',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Point an alias at a version (protected aliases need an approval)',
        tags,
        params: Type.Object({ name: Name, alias: Str }),
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        response: { 200: ModelVersionSchema },
      },
    },
    async (request) => {
      await registry.setAlias(request.params.name, request.params.alias, request.body.version, actorOf(request));
      return registry.getVersion(request.params.name, request.body.version);
    },
  );

  // ---- approvals ---------------------------------------------------------------------------

  const approvalTags = ['approvals'];
  app.get(
    '/api/v1/approvals',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Approval requests, newest first',
        tags: approvalTags,
        querystring: Type.Object({ model: Opt(Str), status: Opt(Type.Union([Type.Literal('PENDING'), Type.Literal('APPROVED'), Type.Literal('REJECTED')])) }),
        response: { 200: Type.Object({ approvals: Type.Array(ApprovalSchema) }) },
      },
    },
    async (request) => ({ approvals: await registry.listApprovals({ name: request.query.model, status: request.query.status }) }),
  );

  app.post(
    '/api/v1/approvals',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Request an alias move or a stage transition; another user approves it',
        tags: approvalTags,
        body: Type.Object({
          name: Name,
          version: Type.Integer({ minimum: 1 }),
          alias: Opt(Str),
          stage: Opt(Type.String({ description: STAGES.join(', ') })),
          archiveExistingVersions: Opt(Type.Boolean()),
          comment: Opt(Str),
        }),
        response: { 201: ApprovalSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await registry.requestApproval(request.body, actorOf(request))),
  );

  app.get(
    '/api/v1/approvals/policies',
    { config: { permission: 'read' }, schema: { summary: 'Approval policies', tags: approvalTags, response: { 200: Type.Object({ policies: Type.Array(PolicySchema) }) } } },
    async () => ({ policies: await registry.listPolicies() }),
  );

  app.put(
    '/api/v1/approvals/policies',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Create or replace a model's approval policy (or the global one, without model)",
        tags: approvalTags,
        body: Type.Object({
          model: Opt(Name),
          protectedAliases: Opt(Type.Array(Str, { description: 'aliases that need approval to move; "*" for all' })),
          protectedStages: Opt(Type.Array(Str, { description: 'stages that need approval to enter, e.g. Production' })),
          approverRoles: Opt(Type.Array(Str)),
          approvers: Opt(Type.Array(Str)),
        }),
        response: { 200: PolicySchema },
      },
    },
    async (request) => registry.putPolicy(request.body),
  );

  app.delete(
    '/api/v1/approvals/policies/:id',
    { config: { permission: 'admin' }, schema: { summary: 'Delete an approval policy', tags: approvalTags, params: Type.Object({ id: Str }) } },
    async (request, reply) => {
      await registry.deletePolicy(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/approvals/:id',
    { config: { permission: 'read' }, schema: { summary: 'One approval request', tags: approvalTags, params: Type.Object({ id: Str }), response: { 200: ApprovalSchema } } },
    async (request) => registry.getApproval(request.params.id),
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/api/v1/approvals/:id/${decision}`,
      {
        config: { permission: 'manage' },
        schema: {
          summary: decision === 'approve' ? 'Approve (and apply) a pending request' : 'Reject a pending request',
          tags: approvalTags,
          params: Type.Object({ id: Str }),
          body: Opt(Type.Object({ comment: Opt(Str) })),
          response: { 200: ApprovalSchema },
        },
      },
      async (request) => {
        const comment = request.body?.comment;
        return decision === 'approve' ? registry.approve(request.params.id, actorOf(request), comment) : registry.reject(request.params.id, actorOf(request), comment);
      },
    );
  }

  // ---- webhooks ----------------------------------------------------------------------------

  const hookTags = ['webhooks'];
  const HookId = Type.Object({ id: Str });
  const HookFields = {
    url: Type.String({ description: 'http(s) URL; loopback and private addresses are refused unless allowPrivateWebhookTargets is set' }),
    events: Type.Array(EventName, { minItems: 1 }),
    secret: Opt(Type.String({ description: 'HMAC-SHA256 key; requests carry x-modelport-signature: sha256=<hex of the body>' })),
    model: Opt(Name),
    description: Opt(Str),
    status: Opt(Type.Union([Type.Literal('ACTIVE'), Type.Literal('DISABLED')])),
  };

  app.post(
    '/api/v1/webhooks',
    { config: { permission: 'admin' }, schema: { summary: 'Create a webhook on registry events', tags: hookTags, body: Type.Object(HookFields), response: { 201: WebhookSchema } } },
    async (request, reply) => reply.status(201).send(await registry.webhooks.create(request.body)),
  );

  app.get(
    '/api/v1/webhooks',
    { config: { permission: 'admin' }, schema: { summary: 'Webhooks', tags: hookTags, response: { 200: Type.Object({ webhooks: Type.Array(WebhookSchema) }) } } },
    async () => ({ webhooks: await registry.webhooks.list() }),
  );

  app.get(
    '/api/v1/webhooks/:id',
    { config: { permission: 'admin' }, schema: { summary: 'One webhook', tags: hookTags, params: HookId, response: { 200: WebhookSchema } } },
    async (request) => registry.webhooks.get(request.params.id),
  );

  app.patch(
    '/api/v1/webhooks/:id',
    {
      config: { permission: 'admin' },
      schema: { summary: 'Change a webhook', tags: hookTags, params: HookId, body: Type.Partial(Type.Object(HookFields)), response: { 200: WebhookSchema } },
    },
    async (request) => registry.webhooks.update(request.params.id, request.body),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    { config: { permission: 'admin' }, schema: { summary: 'Delete a webhook and its delivery log', tags: hookTags, params: HookId } },
    async (request, reply) => {
      await registry.webhooks.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/webhooks/:id/test',
    {
      config: { permission: 'admin' },
      schema: { summary: 'Send a webhook.test event now (one attempt) and return the delivery', tags: hookTags, params: HookId, response: { 200: DeliverySchema } },
    },
    async (request) => registry.webhooks.test(request.params.id),
  );

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "The webhook's delivery log, newest first",
        tags: hookTags,
        params: HookId,
        querystring: Type.Object({ limit: Opt(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }) },
      },
    },
    async (request) => ({ deliveries: await registry.webhooks.deliveries(request.params.id, request.query.limit) }),
  );
};
