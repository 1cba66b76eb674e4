/**
 * Open Inference Protocol (KServe V2) REST: health, server and model metadata, model
 * readiness and inference, with errors as `{"error": "..."}`. The model name is the deployment
 * name; a version in the path must be one the deployment serves.
 */
import { VERSION } from '../core/version.js';
import { errorCodes, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { isModelportError } from '../core/errors.js';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import { decodeV2, isScalarRequest, v2Metadata, writeV2Response, V2_TYPES, type V2Answer, type V2Request } from '../serving/index.js';
import { isV2BodyType, readV2Body, v2Reply } from './v2-http.js';
import { v2TritonRoutes } from './v2-triton.js';
import { addErrorFormat } from './errors.js';
import { countServingRequests, inferenceRequest, parseVersion, runInference, type InferenceRequest } from './serving-http.js';
import type { ServingService } from '../serving/index.js';

const Parameters = Type.Record(Type.String(), Type.Unknown());
const Tensor = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  shape: Type.Array(Type.Integer({ minimum: 0, maximum: 2 ** 31 }), { maxItems: 16, description: '[] for a scalar' }),
  datatype: Type.Union(V2_TYPES.map((t) => Type.Literal(t))),
  parameters: Type.Optional(Parameters),
  data: Type.Optional(Type.Array(Type.Unknown(), { description: 'required unless parameters.binary_data_size gives the bytes that follow the JSON' })),
});
export const InferRequest = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 1024 })),
  parameters: Type.Optional(Parameters),
  inputs: Type.Array(Tensor, { minItems: 1, maxItems: 4096 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), parameters: Type.Optional(Parameters) }), { maxItems: 4096 })),
});
const ErrorBody = Type.Object({ error: Type.String() });
const TensorMeta = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMeta),
  outputs: Type.Array(TensorMeta),
});
const ReadyBody = Type.Object({ name: Type.String(), ready: Type.Boolean(), error: Type.Optional(Type.String()) });
const ModelPath = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) });
const TAGS = ['inference (Open Inference Protocol V2)'];

/** Triton's names for the protocol extensions served here. */
export const V2_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics'];

const PLATFORMS: Record<string, string> = { onnx: 'onnx_onnxv1', xgboost: 'xgboost_json', js: 'modelport_js' };

export const v2Routes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.services.serving;
  addErrorFormat(root, { prefix: '/v2', contentType: 'application/json', format: (err, status) => ({ status, body: { error: err.message } }) });
  countServingRequests(app, serving, 'v2');
  app.addHook('onListen', async () => serving.start());

  // KServe's client reads an error body only when the content type is exactly application/json.
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    done();
  });

  const serverMetadata = {
    config: { permission: 'public' as const },
    schema: { summary: 'Server metadata', tags: TAGS, response: { 200: Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) }) } },
  };
  const describeServer = async () => ({ name: 'modelport', version: VERSION, extensions: V2_EXTENSIONS });
  app.get('/v2', serverMetadata, describeServer);
  app.get('/v2/', serverMetadata, describeServer);

  app.get('/v2/health/live', {
    config: { permission: 'public' },
    schema: { summary: 'Server liveness', tags: TAGS, response: { 200: Type.Object({ live: Type.Boolean() }) } },
  }, async () => ({ live: true }));

  app.get('/v2/health/ready', {
    config: { permission: 'public' },
    schema: {
      summary: 'Server readiness: every deployment serves a model version (400 while one does not, as the V2 spec and Triton answer)',
      tags: TAGS,
      response: { 200: Type.Object({ ready: Type.Boolean() }), 400: Type.Object({ ready: Type.Boolean() }) },
    },
  }, async (_request, reply) => {
    const ready = serving.allReady();
    return reply.status(ready ? 200 : 400).send({ ready });
  });

  const metadata = async (name: string, versionText: string | undefined) => {
    const target = await serving.target(name, parseVersion(name, versionText));
    const p = target.version.predictor;
    return {
      name,
      versions: [String(target.version.version)],
      platform: PLATFORMS[p.flavor] ?? p.flavor,
      inputs: p.signature.inputs.map(v2Metadata),
      outputs: p.signature.outputs.map(v2Metadata),
    };
  };
  const metaSchema = { summary: 'Model metadata: inputs and outputs from the signature', tags: TAGS, params: ModelPath, response: { 200: ModelMetadata, 404: ErrorBody } };
  app.get('/v2/models/:name', { config: { permission: 'read' }, schema: metaSchema }, async (request) => metadata(request.params.name, undefined));
  app.get('/v2/models/:name/versions/:version', { config: { permission: 'read' }, schema: metaSchema }, async (request) =>
    metadata(request.params.name, request.params.version),
  );

  const readySchema = {
    summary: 'Model readiness',
    tags: TAGS,
    params: ModelPath,
    response: { 200: ReadyBody, 400: ReadyBody, 404: ErrorBody },
  };
  // A model that exists but serves no version is "not ready": 400 with the reason, per the spec.
  const modelReady = async (name: string, version: string | undefined, reply: FastifyReply) => {
    try {
      await serving.target(name, parseVersion(name, version));
      return reply.send({ name, ready: true });
    } catch (err) {
      if (!isModelportError(err) || err.code !== 'Unavailable') throw err;
      return reply.status(400).send({ name, ready: false, error: err.message });
    }
  };
  app.get('/v2/models/:name/ready', { config: { permission: 'read' }, schema: readySchema }, async (request, reply) => modelReady(request.params.name, undefined, reply));
  app.get('/v2/models/:name/versions/:version/ready', { config: { permission: 'read' }, schema: readySchema }, async (request, reply) =>
    modelReady(request.params.name, request.params.version, reply),
  );

  const inferSchema = {
    summary: 'Inference',
    tags: TAGS,
    params: ModelPath,
    body: InferRequest,
    response: { 200: Type.Unknown({ description: 'inference response: model_name, model_version, id, outputs' }), 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody },
  };
  await app.register(v2TritonRoutes, { platform });

  // The body is read by the V2 reader (v2-http.ts), which checks what the schema says: the
  // schema documents the route and is not run a second time.
  const bodyLimit = platform.config.bodyLimit;
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      const type = request.headers['content-type'];
      if (isV2BodyType(type)) done(null, body);
      else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(type), undefined);
    });
    const route = { config: { permission: 'read' as const }, schema: inferSchema, validatorCompiler: () => () => true };
    const infer = async (request: FastifyRequest<{ Params: Static<typeof ModelPath> }>, reply: FastifyReply) => {
      const body = await readV2Body(request.body as Buffer | undefined, request.headers, bodyLimit);
      const answer = await v2Infer(serving, inferenceRequest(request, 'v2'), request.params.name, request.params.version, body);
      const { headers, payload } = await v2Reply(answer, request.headers['accept-encoding']);
      // Bytes: Fastify would add a charset to the content type of a text body.
      return reply.headers(headers).send(typeof payload === 'string' ? Buffer.from(payload) : payload);
    };
    scope.post('/v2/models/:name/infer', route, infer);
    scope.post('/v2/models/:name/versions/:version/infer', route, infer);
  });
};

/** One V2 inference: `body` as readV2Request read it; `version` as the path gave it. */
export function v2Infer(serving: ServingService, request: InferenceRequest, name: string, version: string | undefined, body: V2Request): Promise<V2Answer> {
  return runInference(serving, request, {
    protocol: 'v2',
    deployment: name,
    version: parseVersion(name, version),
    decode: (signature) => decodeV2(body, signature),
    encode: (out, target) => writeV2Response(out, target.deployment, target.version.version, body, isScalarRequest(body)),
  }) as Promise<V2Answer>;
}
