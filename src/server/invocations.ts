/**
 * The MLflow scoring protocol: `POST /deployments/{name}/invocations`, and `POST /invocations`
 * when exactly one deployment exists (what `mlflow models serve` clients call). Errors answer
 * MLflow's `{error_code, message}`.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErrorCode } from '../core/errors.js';
import { invalidArgument, notFound } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { decodeCsv, decodeInvocation, encodePredictions } from '../serving/index.js';
import { addErrorFormat } from './errors.js';
import { countServingRequests, inferenceRequest, runInference } from './serving-http.js';

const MLFLOW_CODES: Record<ErrorCode, string> = {
  InvalidArgument: 'BAD_REQUEST',
  NotFound: 'RESOURCE_DOES_NOT_EXIST',
  AlreadyExists: 'RESOURCE_ALREADY_EXISTS',
  FailedPrecondition: 'BAD_REQUEST',
  PermissionDenied: 'PERMISSION_DENIED',
  Unauthenticated: 'UNAUTHENTICATED',
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  Unavailable: 'TEMPORARILY_UNAVAILABLE',
  Internal: 'INTERNAL_ERROR',
};

const Body = Type.Union(
  [
    Type.Object(
      {
        dataframe_split: Type.Optional(Type.Unknown({ description: 'pandas orient="split": {columns, data}' })),
        dataframe_records: Type.Optional(Type.Unknown({ description: 'pandas orient="records": [{column: value}, ...]' })),
        instances: Type.Optional(Type.Unknown({ description: 'TF-serving rows: [[...], ...] or [{...}, ...]' })),
        inputs: Type.Optional(Type.Unknown({ description: 'tensors: a list of rows or {name: rows}' })),
        params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      { additionalProperties: true },
    ),
    Type.String({ description: 'a CSV body (content-type text/csv), header first' }),
  ],
  { description: 'exactly one of dataframe_split, dataframe_records, instances, inputs; or CSV' },
);
const ErrorBody = Type.Object({ error_code: Type.String(), message: Type.String() });
const TAGS = ['inference (MLflow scoring)'];

export const invocationsRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const serving = platform.services.serving;
  for (const prefix of ['/invocations', '/deployments/']) {
    addErrorFormat(root, {
      prefix,
      format: (err, status) => ({
        status,
        body: { error_code: status >= 500 && status !== 503 ? 'INTERNAL_ERROR' : MLFLOW_CODES[err.code], message: err.message },
      }),
    });
  }
  countServingRequests(app, serving, 'mlflow');
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  const score = (request: FastifyRequest, deployment: string) =>
    runInference(serving, inferenceRequest(request, 'mlflow'), {
      protocol: 'mlflow',
      deployment,
      decode: (signature) => {
        const body = request.body;
        return { batch: typeof body === 'string' ? decodeCsv(body, signature) : decodeInvocation(body, signature) };
      },
      encode: (out) => encodePredictions(out),
    });
  const schema = {
    summary: 'Score rows (MLflow scoring protocol)',
    tags: TAGS,
    body: Body,
    response: { 200: Type.Unknown({ description: '{"predictions": ...}' }), 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody },
  };

  app.post('/deployments/:name/invocations', {
    config: { permission: 'read' },
    schema: { ...schema, params: Type.Object({ name: Type.String() }) },
  }, async (request, reply) => reply.send(await score(request, request.params.name)));

  app.post('/invocations', { config: { permission: 'read' }, schema }, async (request, reply) => {
    const names = (await serving.list()).map((d) => d.name);
    if (names.length === 0) throw notFound('no deployment exists; create one with `modelport deploy NAME`');
    if (names.length > 1) throw invalidArgument(`/invocations needs exactly one deployment, there are ${names.length}; use /deployments/{name}/invocations`);
    return reply.send(await score(request, names[0]));
  });
};
