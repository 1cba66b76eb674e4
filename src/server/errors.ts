/**
 * The one place where errors become HTTP answers. Domain errors carry a code; each protocol
 * (MLflow, Open Inference V2, scoring, modelport's own API) chooses its body shape by URL prefix.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelportError, type ErrorCode } from '../core/errors.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  InvalidArgument: 400,
  Unauthenticated: 401,
  PermissionDenied: 403,
  NotFound: 404,
  AlreadyExists: 409,
  FailedPrecondition: 412,
  ResourceExhausted: 429,
  Unavailable: 503,
  Internal: 500,
};

/** A protocol's error body; it may also adjust the status (MLflow answers 400 where we say 409). */
export interface ErrorFormat {
  prefix: string;
  /** The content type of its error bodies, exactly (application/json; charset=utf-8 when not given). */
  contentType?: string;
  format(err: ModelportError, status: number, requestId: string): { status: number; body: unknown };
}

const SNAKE: Record<ErrorCode, string> = {
  InvalidArgument: 'INVALID_ARGUMENT',
  Unauthenticated: 'UNAUTHENTICATED',
  PermissionDenied: 'PERMISSION_DENIED',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  FailedPrecondition: 'FAILED_PRECONDITION',
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
};

const defaultFormat: ErrorFormat = {
  prefix: '',
  format: (err, status, requestId) => ({
    status,
    body: { error: { code: SNAKE[err.code], message: err.message, request_id: requestId } },
  }),
};

declare module 'fastify' {
  interface FastifyInstance {
    errorFormats: ErrorFormat[];
  }
}

/** SQLSTATEs of numeric_value_out_of_range, character_not_in_repertoire and untranslatable_character. */
const VALUE_REFUSED_BY_STORE = new Set(['22003', '22021', '22P05']);

/** Turns whatever was thrown into a ModelportError, or undefined for a genuine server fault. */
export function toModelportError(err: unknown): ModelportError | undefined {
  if (err instanceof ModelportError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e.validation) {
    const first = e.validation[0];
    const field = `${e.validationContext ?? 'body'}${first?.instancePath ?? ''}`.replace(/\//g, '.');
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const where = missing ? `${field}.${missing}` : field;
    const what = missing ? 'is required' : first?.message ?? 'is invalid';
    return new ModelportError('InvalidArgument', `${where} ${what}`, { field: where });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ModelportError('InvalidArgument', `body: malformed JSON (${e.message})`, { field: 'body' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ModelportError('InvalidArgument', 'body: request body is larger than the server accepts', { httpStatus: 413, field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ModelportError('InvalidArgument', `content-type: ${e.message}`, { httpStatus: 415, field: 'content-type' });
  }
  // PostgreSQL refusing a value (a number out of a column's range, a character it cannot store)
  // that slipped past the edge checks: the request's fault, not the server's.
  if (typeof e.code === 'string' && VALUE_REFUSED_BY_STORE.has(e.code) && (err as { severity?: unknown }).severity !== undefined) {
    return new ModelportError('InvalidArgument', `a value of the request cannot be stored: ${e.message}`);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ModelportError('InvalidArgument', e.message, { httpStatus: e.statusCode });
  }
  return undefined;
}

/** An error's answer: status, body in the format of the protocol that owns `url`, and Retry-After when it has one. */
export function errorAnswer(
  app: FastifyInstance,
  url: string,
  err: ModelportError,
  requestId: string,
): { status: number; body: unknown; retryAfter?: string; contentType?: string } {
  const status = typeof err.details.httpStatus === 'number' ? err.details.httpStatus : HTTP_STATUS[err.code];
  const format = app.errorFormats.find((f) => url.startsWith(f.prefix)) ?? defaultFormat;
  const answer = { ...format.format(err, status, requestId), contentType: format.contentType };
  return typeof err.details.retryAfterSeconds === 'number' ? { ...answer, retryAfter: String(Math.ceil(err.details.retryAfterSeconds)) } : answer;
}

/** Whatever was thrown as a ModelportError; a genuine server fault is logged and becomes Internal. */
export function asModelportError(err: unknown, requestId: string, log: { error(o: object, msg: string): void }): ModelportError {
  const mapped = toModelportError(err);
  if (mapped) return mapped;
  log.error({ err }, 'unhandled error');
  return new ModelportError('Internal', `internal error (request id ${requestId})`);
}

export function sendError(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, err: ModelportError): FastifyReply {
  const { status, body, retryAfter, contentType } = errorAnswer(app, request.url, err, request.id);
  if (retryAfter) reply.header('retry-after', retryAfter);
  // An answer given before the body was read (413, 415, an early 4xx): the client's remaining
  // bytes would otherwise be read as its next request, or be drained at the server's cost.
  if (!request.raw.complete) reply.header('connection', 'close');
  // Fastify adds a charset to any JSON type it serializes; bytes keep the type as set.
  if (contentType) return reply.status(status).type(contentType).send(Buffer.from(JSON.stringify(body)));
  // The body is the protocol's error shape, not the route's: a route whose response schema
  // describes its own 400 (V2 readiness) must not make every other 400 unserializable.
  return reply.status(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.decorate('errorFormats', [] as ErrorFormat[]);
  app.setErrorHandler((err, request, reply) => sendError(app, request, reply, asModelportError(err, request.id, request.log)));
  app.setNotFoundHandler((request, reply) =>
    sendError(app, request, reply, new ModelportError('NotFound', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** Registers a protocol's error shape for every URL under `prefix` (longest prefixes first). */
export function addErrorFormat(app: FastifyInstance, format: ErrorFormat): void {
  app.errorFormats.push(format);
  app.errorFormats.sort((a, b) => b.prefix.length - a.prefix.length);
}
