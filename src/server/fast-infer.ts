/**
 * Open Inference Protocol V2 inference (`POST /v2/models/{name}[/versions/{v}]/infer`) and MLflow
 * scoring of JSON bodies (`POST /deployments/{name}/invocations`, and `POST /invocations` while
 * no access check needs a token) answered straight from Node's HTTP server, ahead of Fastify's
 * request lifecycle. At full load Fastify's
 * per-request work (request and reply objects, hook chains, routing, the body parser's
 * callbacks) cost a one-row prediction about a tenth of its server CPU, measured; this is the
 * route serving traffic takes.
 *
 * Nothing here is a second implementation: the body is read under the same limit, decoded and
 * checked by the same V2 reader (v2-http.ts) or scoring parser (invocations-json.ts), run through
 * the same `v2Infer` or `scoreInvocation`, answered with the same headers, and errors become answers through the same mapping, with Fastify's own error
 * codes, so both paths answer alike (test/server/fast-infer.test.ts holds them to it). Whatever
 * this path does not take (another method or content type, a query string on a scoring request,
 * which Fastify's schema checks, a closing server) goes to Fastify untouched, before any of its
 * body is read.
 *
 * A request hook added to the Fastify app does not run for requests answered here: an access
 * check must be added to both (see docs/architecture.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCodes, type FastifyInstance } from 'fastify';
import type { ServingService } from '../serving/index.js';
import type { ModelportError } from '../core/errors.js';
import { WWW_AUTHENTICATE } from './auth.js';
import { answerHeaders, errorReply, JSON_ANSWER, JSON_TYPE, logFailure, readBody, type Handler, type Headers } from './fast-http.js';
import { countAnswer, clientOf, type ServingInfo } from './serving-http.js';
import { v2Infer } from './v2.js';
import { isV2BodyType, readV2Body, v2Reply } from './v2-http.js';
import { scoreInvocation, soleDeployment, warningHeader } from './invocations.js';
import { parseScoringBody } from './invocations-json.js';
import { invalidArgument } from '../core/errors.js';

const INFER_URL = /^\/v2\/models\/([^/?#]+)(?:\/versions\/([^/?#]+))?\/infer(?:\?.*)?$/;
const SCORING_URL = /^\/(?:deployments\/([^/?#]+)\/)?invocations$/;

/** A path segment percent-decoded; most names have no escape, and decodeURIComponent costs ten times the check. */
function decoded(segment: string): string {
  return segment.includes('%') ? decodeURIComponent(segment) : segment;
}

export interface FastInferOptions {
  serving: ServingService;
  bodyLimit: number;
  requestId(header: string | string[] | undefined): string;
  isClosing(): boolean;
  /** The access check (server/auth.ts): a refusal, or nothing; undefined at once when auth is off. */
  authorize?(req: IncomingMessage, id: string, deployment: string): Promise<ModelportError | undefined> | undefined;
  /**
   * Whether requests need no token. `/invocations` names no deployment, so Fastify's check of
   * it differs from the per-deployment one here: it is taken only then.
   */
  open?(): boolean;
}

/** A handler that answers V2 inference requests and returns false for every other request. */
export function fastInference(app: FastifyInstance, options: FastInferOptions): Handler {
  const { serving, bodyLimit } = options;

  const answer = (res: ServerResponse, id: string, info: ServingInfo, status: number, payload: Buffer | string, headers: Headers) => {
    const flat = answerHeaders(id, payload, headers);
    if (info.variant) flat.push('x-modelport-variant', info.variant);
    res.writeHead(status, flat);
    res.end(payload);
    countAnswer(serving, info, status);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, id: string, info: ServingInfo, err: unknown, headers: Headers = {}) => {
    const { status, payload, headers: typed } = errorReply(app, req, id, err, headers);
    answer(res, id, info, status, payload, typed);
    if (status >= 500) logFailure(app, req, id, status, info.started);
  };

  const score = async (req: IncomingMessage, res: ServerResponse, id: string, info: ServingInfo, name: string, raw: Buffer) => {
    try {
      const read = parseScoringBody(raw.toString());
      const body = read instanceof Promise ? await read : read;
      // What the route's body schema (an object, or CSV text) says of a list. Fastify lets other
      // values through (null unvalidated, a number or boolean coerced only in its own copy), and
      // the decoder refuses them.
      if (Array.isArray(body)) throw invalidArgument('body must be object', { field: 'body' });
      const params = body !== null && typeof body === 'object' ? (body as { params?: unknown }).params : undefined;
      if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
        throw invalidArgument('body.params must be object', { field: 'body.params' });
      }
      const client = clientOf(req.headers.authorization, req.socket.remoteAddress ?? '');
      const { answer: scored, warnings } = await scoreInvocation(serving, { id, client, info, headers: req.headers }, name, body, undefined);
      answer(res, id, info, 200, JSON.stringify(scored), warnings.length === 0 ? JSON_ANSWER : { ...JSON_ANSWER, warning: warnings.map(warningHeader) });
    } catch (err) {
      fail(req, res, id, info, err);
    }
  };

  const run = async (req: IncomingMessage, res: ServerResponse, id: string, info: ServingInfo, name: string, version: string | undefined, raw: Buffer) => {
    try {
      // Small plain bodies are read, and small answers made, without a promise to wait on.
      const read = readV2Body(raw, req.headers, bodyLimit);
      const body = read instanceof Promise ? await read : read;
      const client = clientOf(req.headers.authorization, req.socket.remoteAddress ?? '');
      const reply = v2Reply(await v2Infer(serving, { id, client, info, headers: req.headers }, name, version, body), req.headers['accept-encoding']);
      const { headers, payload } = reply instanceof Promise ? await reply : reply;
      answer(res, id, info, 200, payload, headers);
    } catch (err) {
      fail(req, res, id, info, err);
    }
  };

  /** What this path takes of a request: V2 inference, or MLflow scoring of a JSON body; undefined for everything else. */
  const route = (req: IncomingMessage): { protocol: 'v2' | 'mlflow'; name: string; version?: string } | undefined => {
    const url = req.url ?? '';
    const v2 = INFER_URL.exec(url);
    if (v2) {
      if (!isV2BodyType(req.headers['content-type'])) return undefined;
      return { protocol: 'v2', name: decoded(v2[1]), version: v2[2] === undefined ? undefined : decoded(v2[2]) };
    }
    const scoring = SCORING_URL.exec(url);
    // A declared, non-empty body: Fastify words the empty and chunked ones.
    if (!scoring || !JSON_TYPE.test(req.headers['content-type'] ?? '') || !(Number(req.headers['content-length']) > 0)) return undefined;
    if (scoring[1] !== undefined) return { protocol: 'mlflow', name: decoded(scoring[1]) };
    if (!options.open?.() || serving.deploymentNames().length !== 1) return undefined;
    return { protocol: 'mlflow', name: soleDeployment(serving) };
  };

  return (req, res) => {
    if (req.method !== 'POST' || options.isClosing()) return false;
    let taken: ReturnType<typeof route>;
    try {
      taken = route(req);
    } catch {
      return false;
    }
    if (!taken) return false;
    const { protocol, name, version } = taken;
    const id = options.requestId(req.headers['x-request-id']);
    const info: ServingInfo = { protocol, deployment: name, version: '', variant: '', started: performance.now() };
    // A body error leaves the rest of the body unread: the connection cannot carry another request.
    const refuse = (err: unknown, headers: Headers = {}) => fail(req, res, id, info, err, { ...headers, connection: 'close' });
    const received = (raw: Buffer) => void (protocol === 'v2' ? run(req, res, id, info, name, version, raw) : score(req, res, id, info, name, raw));
    // After the access check, as on Fastify's routes (its hooks run before the body is parsed):
    // a stranger learns nothing of the server's limits.
    const read = () => {
      if (Number(req.headers['content-length']) > bodyLimit) refuse(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      else readBody(req, bodyLimit, received, refuse);
    };
    const allowed = options.authorize?.(req, id, name);
    if (allowed) {
      req.pause();
      allowed.then((refused) => {
        if (refused) refuse(refused, refused.code === 'Unauthenticated' ? { 'www-authenticate': WWW_AUTHENTICATE } : {});
        else read();
      }, refuse);
    } else read();
    return true;
  };
}
