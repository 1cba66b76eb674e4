/**
 * The MLflow scoring protocol: `POST /deployments/{name}/invocations`, and `POST /invocations`,
 * `GET /ping` and `GET /version` when exactly one deployment exists (what `mlflow models serve`
 * clients call). Errors answer MLflow's `{error_code, message}`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErrorCode } from '../core/errors.js';
import { invalidArgument, notFound, unavailable } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { VERSION } from '../core/version.js';
import { decodeCsv, decodeInvocation, encodePredictions, type PredictionsShape, type ServingService } from '../serving/index.js';
import { addErrorFormat } from './errors.js';
import { parseScoringBody } from './invocations-json.js';
import { countServingRequests, inferenceRequest, runInference, type InferenceRequest } from './serving-http.js';

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
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    let value: unknown;
    try {
      value = parseScoringBody(String(body));
    } catch (err) {
      return done(err as Error, undefined);
    }
    // The common small body is parsed without a promise to wait on.
    if (value instanceof Promise) value.then((parsed) => done(null, parsed), (err: Error) => done(err, undefined));
    else done(null, value);
  });
  // MLflow's scoring server reads JSON and CSV only; a plain-text body is refused, not read as CSV.
  app.addContentTypeParser('text/plain', (request, _payload, done) =>
    done(
      invalidArgument(`This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got '${request.headers['content-type']}'.`, { httpStatus: 415 }),
      undefined,
    ),
  );

  const score = async (request: FastifyRequest, reply: FastifyReply, deployment: string) => {
    const format = (request.query as { format?: PredictionsShape }).format;
    const { answer, warnings } = await scoreInvocation(serving, inferenceRequest(request, 'mlflow'), deployment, request.body, format);
    // One call: a header set again replaces the one before it in Fastify.
    if (warnings.length > 0) reply.header('warning', warnings.map(warningHeader));
    return reply.send(answer);
  };
  const schema = {
    summary: 'Score rows (MLflow scoring protocol)',
    tags: TAGS,
    body: Body,
    querystring: Type.Object({
      format: Type.Optional(
        Type.Union([Type.Literal('flavor'), Type.Literal('records')], {
          description: "the answer's shape: as the model's MLflow flavor answers (default), or one {output: value} record per row",
        }),
      ),
    }),
    response: { 200: Type.Unknown({ description: '{"predictions": ...}' }), 400: ErrorBody, 404: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody },
  };

  app.post('/deployments/:name/invocations', {
    config: { permission: 'read' },
    schema: { ...schema, params: Type.Object({ name: Type.String() }) },
  }, async (request, reply) => score(request, reply, request.params.name));

  const onlyDeployment = () => soleDeployment(serving);

  app.post('/invocations', { config: { permission: 'read' }, schema }, async (request, reply) => score(request, reply, onlyDeployment()));

  // MLflow's scoring server answers "\n" with 200 once its model is loaded, 404 before; its
  // client's wait_server_ready polls this until /invocations can answer.
  app.get('/ping', { config: { permission: 'public' }, schema: { summary: 'Whether /invocations can score (MLflow scoring server)', tags: TAGS } }, async (_request, reply) => {
    let ready = true;
    try {
      onlyDeployment();
    } catch {
      ready = false;
    }
    return reply.status(ready ? 200 : 404).type('application/json').send('\n');
  });
  app.get('/version', { config: { permission: 'public' }, schema: { summary: 'The server version (MLflow scoring server)', tags: TAGS } }, async (_request, reply) =>
    reply.type('application/json').send(VERSION),
  );
};

/**
 * Scores one MLflow request (a parsed JSON body, or CSV text) whichever HTTP layer received it:
 * the answer to send as JSON, and what was ignored, for Warning headers.
 */
export async function scoreInvocation(
  serving: ServingService,
  request: InferenceRequest,
  deployment: string,
  body: unknown,
  format: PredictionsShape | undefined,
): Promise<{ answer: unknown; warnings: string[] }> {
  const warnings: string[] = [];
  const answer = await runInference(serving, request, {
    protocol: 'mlflow',
    deployment,
    decode: (signature) => {
      warnings.length = 0;
      return { batch: typeof body === 'string' ? decodeCsv(body, signature, warnings) : decodeInvocation(body, signature, warnings) };
    },
    encode: (out, target) => encodePredictions(out, target.version.predictor.flavor, format),
  });
  return { answer, warnings };
}

/** RFC 7234's Warning header; header values must be Latin-1, so other characters become '?'. */
export function warningHeader(warning: string): string {
  return `299 modelport "${warning.replace(/[^\x20-\x7e]|"/g, '?')}"`;
}

/**
 * The one deployment `/invocations` scores, or why there is none: those this replica serves,
 * which follow the store, rather than a read of the store on every scoring request. A replica
 * just started knows none until its first read, which a client should wait out, not take as
 * "no deployment".
 */
export function soleDeployment(serving: ServingService): string {
  const names = serving.deploymentNames();
  if (names.length === 0 && serving.readingStore()) throw unavailable('this server is still reading its deployments from the store; retry shortly');
  if (names.length === 0) throw notFound('no deployment exists; create one with `modelport deploy NAME`');
  if (names.length > 1) throw invalidArgument(`/invocations needs exactly one deployment, there are ${names.length}; use /deployments/{name}/invocations`);
  return names[0];
}
