/**
 * Triton's model-repository, model-configuration and statistics extensions, mapped onto
 * deployments: the repository is the set of deployments, `load` deploys a registered model of
 * that name (its newest version) or reloads the deployment, `unload` deletes the deployment, a
 * model's configuration is written from its signature and batching settings, and statistics
 * count this replica's requests and model calls with Triton's field names.
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { errorCodes, type FastifyPluginAsync } from 'fastify';
import secureJson from 'secure-json-parse';
import { isModelportError, notFound } from '../core/errors.js';
import type { DType, TensorSpec } from '../models/index.js';
import type { Platform } from '../platform.js';
import { parseVersion } from './serving-http.js';

const TAGS = ['inference (Open Inference Protocol V2)'];
const TRITON_TYPES: Record<DType, string> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
  string: 'TYPE_STRING',
};
const PLATFORMS: Record<string, { platform: string; backend: string }> = {
  onnx: { platform: 'onnxruntime_onnx', backend: 'onnxruntime' },
  xgboost: { platform: '', backend: 'fil' },
};
const Name = Type.Object({ name: Type.String() });
const NameVersion = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) });

const configDims = (spec: TensorSpec) => ({ name: spec.name, data_type: TRITON_TYPES[spec.dtype], dims: spec.shape.length === 0 ? [1] : [...spec.shape] });

export const v2TritonRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.services.serving;
  // tritonclient posts its load and unload bodies without a content type.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(body as string, { protoAction: 'error', constructorAction: 'error' }));
    } catch {
      done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
    }
  });

  app.post('/v2/repository/index', {
    config: { permission: 'read' },
    // No body schema: Triton's clients post an empty body, or {"ready": true}.
    schema: { summary: 'Model repository index (Triton): every deployment, its serving version and state', tags: TAGS },
  }, async (request) => {
    const index = [];
    for (const d of await serving.list()) {
      const status = serving.isDeployed(d.name) ? (await serving.get(d.name)).status : d.status;
      const primary = status.variants[0];
      const ready = status.state === 'ready';
      if ((request.body as { ready?: unknown } | null | undefined)?.ready === true && !ready) continue;
      const entry: Record<string, string> = { name: d.name, version: String(primary?.servingVersion ?? primary?.loadingVersion ?? ''), state: ready ? 'READY' : status.state === 'failed' ? 'UNAVAILABLE' : 'LOADING' };
      if (status.message) entry.reason = status.message;
      index.push(entry);
    }
    return index;
  });

  app.post('/v2/repository/models/:name/load', {
    config: { permission: 'manage' },
    schema: { summary: 'Load (Triton): deploy the registered model of this name at its newest version, or reload its deployment', tags: TAGS, params: Name },
  }, async (request, reply) => {
    const { name } = request.params;
    if (serving.isDeployed(name)) await serving.reload(name);
    else {
      const versions = await platform.services.registry.listVersions(name).catch((err) => {
        throw isModelportError(err) && err.code === 'NotFound' ? notFound(`failed to load '${name}', no deployment or registered model of that name`) : err;
      });
      if (versions.length === 0) throw notFound(`failed to load '${name}', the registered model has no version`);
      await serving.create({ name, model: name, version: versions[0].version });
    }
    const status = (await serving.get(name)).status;
    if (status.state === 'failed') return reply.status(400).send({ error: `failed to load '${name}': ${status.message ?? 'unknown reason'}` });
    return reply.send(Buffer.alloc(0));
  });

  app.post('/v2/repository/models/:name/unload', {
    config: { permission: 'manage' },
    schema: { summary: 'Unload (Triton): delete the deployment', tags: TAGS, params: Name },
  }, async (request, reply) => {
    await serving.delete(request.params.name);
    return reply.send(Buffer.alloc(0));
  });

  const modelConfig = async (name: string, versionText: string | undefined) => {
    const target = await serving.target(name, parseVersion(name, versionText));
    const d = await serving.get(name);
    const p = target.version.predictor;
    const batching = d.batching.maxBatchSize > 1;
    return {
      name,
      ...(PLATFORMS[p.flavor] ?? { platform: '', backend: p.flavor }),
      version_policy: { specific: { versions: [target.version.version] } },
      max_batch_size: d.batching.maxBatchSize,
      input: p.signature.inputs.map(configDims),
      output: p.signature.outputs.map(configDims),
      ...(batching ? { dynamic_batching: { max_queue_delay_microseconds: d.batching.maxQueueDelayUs, default_queue_policy: { max_queue_size: d.batching.maxQueueSize } } } : {}),
    };
  };
  const configSchema = { summary: 'Model configuration (Triton): from the signature and the batching settings', tags: TAGS, params: NameVersion };
  app.get('/v2/models/:name/config', { config: { permission: 'read' }, schema: configSchema }, async (request) => modelConfig(request.params.name, undefined));
  app.get('/v2/models/:name/versions/:version/config', { config: { permission: 'read' }, schema: configSchema }, async (request) =>
    modelConfig(request.params.name, request.params.version),
  );

  /** Statistics of one deployment, or all; a served version that answered nothing yet reports zeros, as Triton's do. */
  const stats = async (name: string | undefined, versionText: string | undefined) => {
    const names = name === undefined ? serving.deploymentNames() : [name];
    for (const n of names) {
      const target = name === undefined ? serving.targetNow(n) : await serving.target(n, parseVersion(n, versionText));
      if (target) serving.metrics.inference.touch(n, String(target.version.version));
    }
    if (name !== undefined && !serving.isDeployed(name)) throw notFound(`deployment "${name}" does not exist`);
    return { model_stats: serving.metrics.inference.report(name, versionText) };
  };
  const statsSummary = { summary: "Inference statistics (Triton's statistics extension) on this replica", tags: TAGS };
  const statsSchema = { ...statsSummary, params: NameVersion };
  app.get('/v2/models/stats', { config: { permission: 'read' }, schema: statsSummary }, async () => stats(undefined, undefined));
  app.get('/v2/models/:name/stats', { config: { permission: 'read' }, schema: statsSchema }, async (request) => stats(request.params.name, undefined));
  app.get('/v2/models/:name/versions/:version/stats', { config: { permission: 'read' }, schema: statsSchema }, async (request) =>
    stats(request.params.name, request.params.version),
  );
};
