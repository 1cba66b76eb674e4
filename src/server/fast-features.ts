/**
 * Online feature reads (`POST /api/v1/features/online`) answered straight from Node's HTTP
 * server, ahead of Fastify's request lifecycle: a one-entity read costs the feature store a few
 * tens of microseconds, and Fastify's per-request work (request and reply objects, hook chains,
 * routing, the body parser's callbacks, onSend and onResponse hooks) cost it several times that,
 * measured.
 *
 * Nothing here is a second implementation: the access check is Fastify's hooks' own
 * (`checkAtOnce`), the body is read under the same limit (fast-http.ts), parsed by the JSON
 * parser Fastify uses with its options, refused for NUL characters on PostgreSQL as the edge
 * check does, validated by the route's own schema through the same compiler (validators.ts),
 * and answered by the route's own `onlineAnswer`; errors become answers through Fastify's error
 * mapping, so both paths answer alike (test/server/fast-features.test.ts holds them to it).
 * Whatever this path does not take goes to Fastify untouched, before any of its body is read:
 * another URL (a query string included), method or content type, an empty or chunked body, a
 * closing server, and the callers only Fastify's hooks can judge at once (a token not cached,
 * one holding grants).
 *
 * A request hook added to the Fastify app does not run for requests answered here: an access
 * check must be added to both (see docs/architecture.md).
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import type { Static } from '@sinclair/typebox';
import type { ModelportError } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { WWW_AUTHENTICATE } from './auth.js';
import { nulStringError } from './edge-checks.js';
import { answerHeaders, errorReply, JSON_ANSWER, JSON_TYPE, logFailure, readBody, type Handler, type Headers } from './fast-http.js';
import { OnlineBody, ONLINE_URL, onlineAnswer } from './features.js';
import { bodyValidator } from './validators.js';

/** Fastify's default JSON parser's options: a body reaching for a prototype is refused. */
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

export interface FastFeaturesOptions {
  features: Platform['services']['features'];
  bodyLimit: number;
  requestId(header: string | string[] | undefined): string;
  isClosing(): boolean;
  /** The access check (auth.ts `checkAtOnce`); none for in-process callers, which act without a token. */
  access?(req: IncomingMessage, id: string): ModelportError | 'fastify' | undefined;
  /** Whether strings holding U+0000 are refused (PostgreSQL cannot store them). */
  refuseNul: boolean;
}

/** A handler that answers online feature reads and returns false for every other request. */
export function fastFeatures(app: FastifyInstance, options: FastFeaturesOptions): Handler {
  const { features, bodyLimit, refuseNul } = options;
  const validate = bodyValidator(ONLINE_URL, OnlineBody);

  /** The validated body, or the error Fastify's preValidation hook or validation gives it. */
  const checked = (body: unknown): Static<typeof OnlineBody> => {
    const nul = refuseNul ? nulStringError([['body', body]]) : undefined;
    if (nul) throw nul;
    if (!validate(body)) throw Object.assign(new Error('body is invalid'), { validation: validate.errors, validationContext: 'body' });
    return body as Static<typeof OnlineBody>;
  };

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== ONLINE_URL || options.isClosing()) return false;
    // A declared, non-empty body: Fastify words the empty and chunked ones.
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '') || !(Number(req.headers['content-length']) > 0)) return false;
    const id = options.requestId(req.headers['x-request-id']);
    const refused = options.access?.(req, id);
    if (refused === 'fastify') return false;
    const started = performance.now();
    const send = (status: number, payload: Buffer | string, headers: Headers) => {
      res.writeHead(status, answerHeaders(id, payload, headers));
      res.end(payload);
    };
    const fail = (err: unknown, headers: Headers = {}) => {
      const { status, payload, headers: typed } = errorReply(app, req, id, err, headers);
      send(status, payload, typed);
      if (status >= 500) logFailure(app, req, id, status, started);
    };
    // Fastify closes the connection after a body it could not read or parse.
    const refuse = (err: unknown, headers: Headers = {}) => fail(err, { ...headers, connection: 'close' });
    const respond = async (body: unknown) => {
      try {
        send(200, await onlineAnswer(features, checked(body)), JSON_ANSWER);
      } catch (err) {
        fail(err);
      }
    };
    if (refused) refuse(refused, refused.code === 'Unauthenticated' ? { 'www-authenticate': WWW_AUTHENTICATE } : {});
    else if (Number(req.headers['content-length']) > bodyLimit) refuse(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    else {
      readBody(
        req,
        bodyLimit,
        (raw) => {
          let body: unknown;
          try {
            body = secureJson.parse(raw.toString(), PARSE_OPTIONS);
          } catch {
            return refuse(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY());
          }
          void respond(body);
        },
        refuse,
      );
    }
    return true;
  };
}
