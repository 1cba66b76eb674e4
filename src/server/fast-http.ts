/**
 * What the handlers answering ahead of Fastify (fast-infer.ts, fast-features.ts) share: which
 * JSON bodies they take, the body read under the route's limit with Fastify's errors, and
 * answers, errors included, written as Fastify's error handler and hooks write them.
 */
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { errorCodes, type FastifyInstance } from 'fastify';
import { asModelportError, errorAnswer } from './errors.js';
import { byteSize } from './v2-http.js';

export type Headers = Record<string, string | string[]>;

/** A handler ahead of Fastify: true when it took the request, false to leave it to Fastify. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The JSON content types both paths read alike (Fastify's JSON parser takes these and more). */
export const JSON_TYPE = /^application\/json\s*(?:;\s*charset=utf-8\s*)?$/i;
export const JSON_ANSWER = { 'content-type': 'application/json; charset=utf-8' };

/** An answer's headers as flat name, value pairs (no header object is built and spread per answer): its length, request id, then `headers`. */
export function answerHeaders(id: string, payload: Buffer | string, headers: Headers): OutgoingHttpHeader[] {
  const flat: OutgoingHttpHeader[] = ['content-length', byteSize(payload), 'x-request-id', id];
  for (const name in headers) flat.push(name, headers[name]);
  return flat;
}

/** What Fastify's error handler answers to `err` on this request: status, JSON text, and headers (content type, Retry-After, then `headers`). */
export function errorReply(app: FastifyInstance, req: IncomingMessage, id: string, err: unknown, headers: Headers): { status: number; payload: string; headers: Headers } {
  const mapped = asModelportError(err, id, app.log);
  const { status, body, retryAfter, contentType } = errorAnswer(app, req.url ?? '', mapped, id);
  const typed = { 'content-type': contentType ?? 'application/json; charset=utf-8', ...headers };
  return { status, payload: JSON.stringify(body), headers: retryAfter ? { ...typed, 'retry-after': retryAfter } : typed };
}

/** The line the app's response hook logs of a failed request (`started` from performance.now()). */
export function logFailure(app: FastifyInstance, req: IncomingMessage, id: string, status: number, started: number): void {
  app.log.error({ reqId: id, method: req.method, url: req.url, status, ms: performance.now() - started }, 'request failed');
}

/**
 * Reads a request's body as Fastify's body reader does: at most `limit` bytes (else 413), as
 * many as its Content-Length declares (else 400). `refuse` gets those errors, Fastify's own.
 */
export function readBody(req: IncomingMessage, limit: number, done: (raw: Buffer) => void, refuse: (err: unknown) => void): void {
  const declared = Number(req.headers['content-length']);
  const chunks: Buffer[] = [];
  let received = 0;
  let ended = false;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) {
      stop();
      refuse(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    chunks.push(chunk);
  };
  // Once the body has ended no data follows, and 'end' fires once: the listeners stay (removing
  // three cost each request more than its other stream work), and a late error is ignored.
  const onEnd = (err?: Error) => {
    if (ended) return;
    ended = true;
    if (err) {
      stop();
      return refuse(Object.assign(err, { statusCode: 400 }));
    }
    if (!Number.isNaN(declared) && received !== declared) return refuse(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
  };
  const stop = () => {
    ended = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onEnd);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onEnd);
  // Paused while an access check ran; a data listener alone does not resume an explicitly paused stream.
  req.resume();
}
