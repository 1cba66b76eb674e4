/**
 * MLflow 3's logged-model RPCs (`/mlflow/logged-models/...`), as its RestStore calls them: create
 * with a JSON body, get and delete by path, finalize and set tags with PATCH, delete a tag by
 * path with no body, log params, and search. The model id in the path wins over one in the body.
 * Also `runs/outputs`, which MLflow 3's `log_model` calls to link the model to its run; runs/get
 * lists them under `outputs.model_outputs`. As MLflow's stores, it checks the run, not the models.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { LOGGED_MODEL_STATUSES } from '../../tracking/logged-models.js';
import { mlflowRpc, type MlflowRouteSpec } from './rpc.js';

const Str = Type.String();
const KV = Type.Object({ key: Str, value: Type.Optional(Str) });
const ModelPath = Type.Object({ model_id: Str });

/** Proto enums arrive by number (MLflow's handler asserts an int) or by name. */
const statusOf = (s: string | number) => LOGGED_MODEL_STATUSES[Number(s)] ?? String(s);
const pairs = (list: { key: string; value?: string }[] | undefined) => (list ?? []).map((kv) => ({ key: kv.key, value: kv.value ?? '' }));

export const loggedModelRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const models = platform.services.tracking.loggedModels;
  const tracking = platform.services.tracking;
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  const register = mlflowRpc(app, { tag: 'mlflow logged models' });
  const rpc = <S extends TSchema>(spec: MlflowRouteSpec<S>, handler: (input: Static<S>, params: Record<string, string>) => Promise<unknown>) =>
    register(spec, (input, request) => handler(input, request.params as Record<string, string>));

  rpc(
    {
      method: 'POST',
      path: '/logged-models',
      permission: 'edit',
      summary: 'Create a logged model (MLflow 3)',
      input: Type.Object({
        experiment_id: Str,
        name: Type.Optional(Str),
        model_type: Type.Optional(Str),
        source_run_id: Type.Optional(Str),
        params: Type.Optional(Type.Array(KV)),
        tags: Type.Optional(Type.Array(KV)),
      }),
    },
    async (b) => ({ model: await models.create({ ...b, params: pairs(b.params), tags: pairs(b.tags) }) }),
  );

  rpc(
    { method: 'GET', path: '/logged-models/:model_id', permission: 'read', summary: 'Get a logged model', input: Type.Object({}), params: ModelPath },
    async (_q, p) => ({ model: await models.get(p.model_id) }),
  );

  rpc(
    {
      method: 'PATCH',
      path: '/logged-models/:model_id',
      permission: 'edit',
      summary: 'Finalize a logged model (READY or UPLOAD_FAILED)',
      input: Type.Object({ model_id: Type.Optional(Str), status: Type.Union([Type.Integer(), Str]) }),
      params: ModelPath,
    },
    async (b, p) => ({ model: await models.finalize(p.model_id, statusOf(b.status)) }),
  );

  rpc(
    { method: 'DELETE', path: '/logged-models/:model_id', permission: 'manage', summary: 'Delete a logged model', input: Type.Object({ model_id: Type.Optional(Str) }), params: ModelPath },
    async (_b, p) => {
      await models.delete(p.model_id);
    },
  );

  rpc(
    {
      method: 'PATCH',
      path: '/logged-models/:model_id/tags',
      permission: 'edit',
      summary: 'Set tags on a logged model',
      input: Type.Object({ model_id: Type.Optional(Str), tags: Type.Optional(Type.Array(KV)) }),
      params: ModelPath,
    },
    async (b, p) => {
      await models.setTags(p.model_id, pairs(b.tags));
    },
  );

  rpc(
    {
      method: 'DELETE',
      path: '/logged-models/:model_id/tags/:tag_key',
      permission: 'edit',
      summary: 'Delete a tag from a logged model',
      input: Type.Object({}),
      params: Type.Object({ model_id: Str, tag_key: Str }),
    },
    async (_b, p) => {
      await models.deleteTag(p.model_id, p.tag_key);
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/logged-models/:model_id/params',
      permission: 'edit',
      summary: 'Log params of a logged model',
      input: Type.Object({ model_id: Type.Optional(Str), params: Type.Optional(Type.Array(KV)) }),
      params: ModelPath,
    },
    async (b, p) => {
      await models.logParams(p.model_id, pairs(b.params));
    },
  );

  rpc(
    {
      method: 'POST',
      path: '/logged-models/search',
      permission: 'read',
      summary: 'Search logged models',
      input: Type.Object({
        experiment_ids: Type.Optional(Type.Array(Str)),
        filter: Type.Optional(Str),
        // MLflow's store, not its parser, refuses an entry without dataset_name, with its own message.
        datasets: Type.Optional(Type.Array(Type.Object({ dataset_name: Type.Optional(Str), dataset_digest: Type.Optional(Str) }))),
        max_results: Type.Optional(Type.Integer()),
        order_by: Type.Optional(
          Type.Array(Type.Object({ field_name: Str, ascending: Type.Optional(Type.Boolean()), dataset_name: Type.Optional(Str), dataset_digest: Type.Optional(Str) })),
        ),
        page_token: Type.Optional(Str),
      }),
    },
    async (b) => models.search({ experiment_ids: b.experiment_ids ?? [], filter: b.filter, datasets: b.datasets, order_by: b.order_by, max_results: b.max_results, page_token: b.page_token }),
  );

  rpc(
    {
      method: 'POST',
      path: '/runs/outputs',
      permission: 'edit',
      summary: "Log the logged models a run produced (MLflow 3's log_model)",
      input: Type.Object({ run_id: Str, models: Type.Array(Type.Object({ model_id: Str, step: Type.Optional(Type.Integer()) })) }),
    },
    async (b) => {
      // Proto parsing reads an absent step as 0, and MLflow's handler checks only the list.
      await tracking.logOutputs(b.run_id, b.models.map((m) => ({ model_id: m.model_id, step: m.step ?? 0 })));
    },
  );
};
