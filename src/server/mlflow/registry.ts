/**
 * MLflow REST API 2.0 model-registry endpoints, path for path, under both `/api/2.0/mlflow` and
 * `/ajax-api/2.0/mlflow`. GET takes query parameters; POST, PATCH and DELETE a JSON body (MLflow
 * clients send DELETE with a body). Answers are MLflow's proto JSON: snake_case, versions as
 * strings, timestamps as numbers, unset fields omitted.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import type { ModelVersion, RegisteredModel } from '../../registry/index.js';
import { LOGGED_MODEL_URI } from '../../registry/index.js';
import { actorOf } from '../registry-actor.js';
import { invalidArgument, isModelportError } from '../../core/errors.js';
import { mlflowRpc } from './rpc.js';
import { required } from './params.js';
import { installMlflowJson } from './fields.js';

const Str = Type.String();
const Int = Type.Integer();
const KV = Type.Object({ key: Str, value: Type.Optional(Str) });

const MvJson = Type.Object(
  {
    name: Str,
    version: Str,
    creation_timestamp: Int,
    last_updated_timestamp: Int,
    user_id: Type.Optional(Str),
    current_stage: Str,
    description: Type.Optional(Str),
    source: Str,
    run_id: Type.Optional(Str),
    status: Str,
    status_message: Type.Optional(Str),
    tags: Type.Array(KV),
    run_link: Type.Optional(Str),
    aliases: Type.Array(Str),
    model_id: Type.Optional(Str),
  },
);
const RmJson = Type.Object({
  name: Str,
  creation_timestamp: Int,
  last_updated_timestamp: Int,
  user_id: Type.Optional(Str),
  description: Type.Optional(Str),
  latest_versions: Type.Array(MvJson),
  tags: Type.Array(KV),
  aliases: Type.Array(Type.Object({ alias: Str, version: Str })),
});

const kv = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));

export function mlflowVersion(v: ModelVersion): Static<typeof MvJson> {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.createdAt,
    last_updated_timestamp: v.updatedAt,
    user_id: v.userId,
    current_stage: v.stage,
    description: v.description,
    source: v.source,
    run_id: v.runId,
    status: v.status,
    status_message: v.statusMessage,
    tags: kv(v.tags),
    run_link: v.runLink,
    aliases: v.aliases,
    model_id: LOGGED_MODEL_URI.exec(v.source)?.[1],
  };
}

export function mlflowModel(m: RegisteredModel): Static<typeof RmJson> {
  return {
    name: m.name,
    creation_timestamp: m.createdAt,
    last_updated_timestamp: m.updatedAt,
    user_id: m.userId,
    description: m.description,
    latest_versions: m.latestVersions.map(mlflowVersion),
    tags: kv(m.tags),
    aliases: m.aliases.map((a) => ({ alias: a.alias, version: String(a.version) })),
  };
}

const tagMap = (tags: { key: string; value?: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.key, t.value ?? '']));
const Version = Type.Union([Str, Int]);

export const mlflowRegistryRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const registry = platform.services.registry;
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  installMlflowJson(app);

  const rpc = mlflowRpc(app, { tag: 'mlflow model registry' });
  const actor = actorOf;

  // ---- registered models ---------------------------------------------------------------------

  rpc(
    {
      method: 'POST',
      path: '/registered-models/create',
      permission: 'edit',
      summary: 'Create a registered model',
      input: Type.Object({ name: Str, tags: Type.Optional(Type.Array(KV)), description: Type.Optional(Str) }),
      response: Type.Object({ registered_model: RmJson }),
    },
    async (b, req) => ({
      registered_model: mlflowModel(await registry.createModel({ name: required(b.name, 'name'), tags: tagMap(b.tags), description: b.description || undefined }, actor(req))),
    }),
  );

  rpc(
    {
      method: 'GET',
      path: '/registered-models/get',
      permission: 'read',
      summary: 'Get a registered model',
      input: Type.Object({ name: Str }),
      response: Type.Object({ registered_model: RmJson }),
    },
    async (q) => ({ registered_model: mlflowModel(await registry.getModel(required(q.name, 'name'))) }),
  );

  rpc(
    {
      method: 'GET',
      path: '/registered-models/search',
      permission: 'read',
      summary: 'Search registered models (filter on name and tags.<key>)',
      input: Type.Object({ filter: Type.Optional(Str), max_results: Type.Optional(Int), order_by: Type.Optional(Type.Array(Str)), page_token: Type.Optional(Str) }),
      response: Type.Object({ registered_models: Type.Optional(Type.Array(RmJson)), next_page_token: Type.Optional(Str) }),
    },
    async (q) => {
      const { models, nextPageToken } = await registry.searchModels({ filter: q.filter, maxResults: q.max_results, orderBy: q.order_by, pageToken: q.page_token || undefined });
      return { registered_models: models.map(mlflowModel), next_page_token: nextPageToken };
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/registered-models/rename',
      permission: 'manage',
      summary: 'Rename a registered model',
      input: Type.Object({ name: Str, new_name: Type.Optional(Str) }),
      response: Type.Object({ registered_model: RmJson }),
    },
    async (b, req) => ({ registered_model: mlflowModel(await registry.renameModel(required(b.name, 'name'), required(b.new_name, 'new_name'), actor(req))) }),
  );

  rpc(
    {
      method: 'PATCH',
      path: '/registered-models/update',
      permission: 'edit',
      summary: "Update a registered model's description",
      input: Type.Object({ name: Str, description: Type.Optional(Str) }),
      response: Type.Object({ registered_model: RmJson }),
    },
    async (b) => ({ registered_model: mlflowModel(await registry.updateModel(required(b.name, 'name'), { description: b.description })) }),
  );

  rpc(
    { method: 'DELETE', path: '/registered-models/delete', permission: 'manage', summary: 'Delete a registered model and its versions', input: Type.Object({ name: Str }) },
    async (b, req) => {
      await registry.deleteModel(required(b.name, 'name'), actor(req));
    },
  );

  for (const method of ['POST', 'GET'] as const) {
    rpc(
      {
        method,
        path: '/registered-models/get-latest-versions',
        permission: 'read',
        summary: 'Latest version in each stage (legacy stages)',
        input: Type.Object({ name: Str, stages: Type.Optional(Type.Array(Str)) }),
        response: Type.Object({ model_versions: Type.Array(MvJson) }),
      },
      async (i) => ({ model_versions: (await registry.getLatestVersions(required(i.name, 'name'), i.stages)).map(mlflowVersion) }),
    );
  }

  rpc(
    { method: 'POST', path: '/registered-models/set-tag', permission: 'edit', summary: 'Set a registered model tag', input: Type.Object({ name: Str, key: Str, value: Str }) },
    async (b) => {
      await registry.setModelTag(required(b.name, 'name'), required(b.key, 'key'), b.value);
    },
  );

  rpc(
    { method: 'DELETE', path: '/registered-models/delete-tag', permission: 'edit', summary: 'Delete a registered model tag', input: Type.Object({ name: Str, key: Str }) },
    async (b) => {
      await registry.deleteModelTag(required(b.name, 'name'), required(b.key, 'key'));
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/registered-models/alias',
      permission: 'edit',
      summary: 'Point an alias at a version (moves it if it exists)',
      input: Type.Object({ name: Str, alias: Str, version: Version }),
    },
    async (b, req) => {
      await registry.setAlias(required(b.name, 'name'), required(b.alias, 'alias'), required(b.version, 'version'), actor(req));
    },
  );

  rpc(
    { method: 'DELETE', path: '/registered-models/alias', permission: 'edit', summary: 'Delete an alias', input: Type.Object({ name: Str, alias: Str }) },
    async (b, req) => {
      await registry.deleteAlias(required(b.name, 'name'), required(b.alias, 'alias'), actor(req));
    },
  );

  rpc(
    {
      method: 'GET',
      path: '/registered-models/alias',
      permission: 'read',
      summary: 'Get the version an alias points at',
      input: Type.Object({ name: Str, alias: Str }),
      response: Type.Object({ model_version: MvJson }),
    },
    async (q) => {
      const version = await registry.getVersionByAlias(required(q.name, 'name'), required(q.alias, 'alias')).catch((err) => {
        // MLflow answers an alias that points nowhere as a bad parameter, not a missing resource.
        if (isModelportError(err) && err.code === 'NotFound' && /alias/.test(err.message)) throw invalidArgument(err.message);
        throw err;
      });
      return { model_version: mlflowVersion(version) };
    },
  );

  // ---- model versions ------------------------------------------------------------------------

  rpc(
    {
      method: 'POST',
      path: '/model-versions/create',
      permission: 'edit',
      summary: 'Register a model version from an artifact URI (runs:/, mlflow-artifacts:/, models:/)',
      input: Type.Object({
        name: Str,
        source: Str,
        run_id: Type.Optional(Str),
        tags: Type.Optional(Type.Array(KV)),
        run_link: Type.Optional(Str),
        description: Type.Optional(Str),
        // MLflow 3 names the logged model it registers; its source `models:/<model_id>` says the same.
        model_id: Type.Optional(Str),
      }),
      response: Type.Object({ model_version: MvJson }),
    },
    async (b, req) => {
      // The logged model is checked first: once the version exists, listing it there must not fail.
      if (b.model_id) await platform.services.tracking.loggedModels.requireActive(b.model_id);
      const version = await registry.createVersion(
        {
          name: required(b.name, 'name'),
          source: required(b.source, 'source'),
          runId: b.run_id || undefined,
          runLink: b.run_link || undefined,
          description: b.description || undefined,
          tags: tagMap(b.tags),
        },
        actor(req),
      );
      // As MLflow's handler: a version created with a model_id is listed on that logged model.
      if (b.model_id) await platform.services.tracking.loggedModels.recordVersion(b.model_id, version.name, version.version);
      return { model_version: mlflowVersion(version) };
    },
  );

  rpc(
    {
      method: 'GET',
      path: '/model-versions/get',
      permission: 'read',
      summary: 'Get a model version',
      input: Type.Object({ name: Str, version: Str }),
      response: Type.Object({ model_version: MvJson }),
    },
    async (q) => ({ model_version: mlflowVersion(await registry.getVersion(required(q.name, 'name'), required(q.version, 'version'))) }),
  );

  rpc(
    {
      method: 'GET',
      path: '/model-versions/search',
      permission: 'read',
      summary: 'Search model versions (filter on name, run_id, source_path, version_number, tags.<key>)',
      input: Type.Object({ filter: Type.Optional(Str), max_results: Type.Optional(Int), order_by: Type.Optional(Type.Array(Str)), page_token: Type.Optional(Str) }),
      response: Type.Object({ model_versions: Type.Optional(Type.Array(MvJson)), next_page_token: Type.Optional(Str) }),
    },
    async (q) => {
      const { versions, nextPageToken } = await registry.searchVersions({ filter: q.filter, maxResults: q.max_results, orderBy: q.order_by, pageToken: q.page_token || undefined });
      return { model_versions: versions.map(mlflowVersion), next_page_token: nextPageToken };
    },
  );

  rpc(
    {
      method: 'PATCH',
      path: '/model-versions/update',
      permission: 'edit',
      summary: "Update a model version's description",
      input: Type.Object({ name: Str, version: Version, description: Type.Optional(Str) }),
      response: Type.Object({ model_version: MvJson }),
    },
    async (b) => ({ model_version: mlflowVersion(await registry.updateVersion(required(b.name, 'name'), required(b.version, 'version'), { description: b.description })) }),
  );

  rpc(
    {
      method: 'POST',
      path: '/model-versions/transition-stage',
      permission: 'edit',
      summary: 'Move a version to a stage (None, Staging, Production, Archived)',
      input: Type.Object({ name: Str, version: Version, stage: Str, archive_existing_versions: Type.Boolean() }),
      response: Type.Object({ model_version: MvJson }),
    },
    async (b, req) => ({
      model_version: mlflowVersion(
        await registry.transitionStage(required(b.name, 'name'), required(b.version, 'version'), required(b.stage, 'stage'), b.archive_existing_versions, actor(req)),
      ),
    }),
  );

  rpc(
    { method: 'DELETE', path: '/model-versions/delete', permission: 'manage', summary: 'Delete a model version', input: Type.Object({ name: Str, version: Version }) },
    async (b, req) => {
      await registry.deleteVersion(required(b.name, 'name'), required(b.version, 'version'), actor(req));
    },
  );

  rpc(
    {
      method: 'GET',
      path: '/model-versions/get-download-uri',
      permission: 'read',
      summary: "Where a version's artifacts are downloaded from",
      input: Type.Object({ name: Str, version: Str }),
      response: Type.Object({ artifact_uri: Str }),
    },
    async (q) => {
      const uri = await registry.downloadUri(required(q.name, 'name'), required(q.version, 'version'));
      // A logged model's version downloads from the model's own artifact location, as MLflow 3's stores answer.
      const logged = LOGGED_MODEL_URI.exec(uri);
      return { artifact_uri: logged ? await platform.services.tracking.loggedModels.artifactLocation(logged[1]) : uri };
    },
  );

  rpc(
    { method: 'POST', path: '/model-versions/set-tag', permission: 'edit', summary: 'Set a model version tag', input: Type.Object({ name: Str, version: Version, key: Str, value: Str }) },
    async (b, req) => {
      await registry.setVersionTag(required(b.name, 'name'), required(b.version, 'version'), required(b.key, 'key'), b.value, actor(req));
    },
  );

  rpc(
    { method: 'DELETE', path: '/model-versions/delete-tag', permission: 'edit', summary: 'Delete a model version tag', input: Type.Object({ name: Str, version: Version, key: Str }) },
    async (b, req) => {
      await registry.deleteVersionTag(required(b.name, 'name'), required(b.version, 'version'), required(b.key, 'key'), actor(req));
    },
  );
};
