/**
 * What the prediction protocols (V2, MLflow scoring) share on the HTTP side: finding the
 * deployment, the rate limit, decode → predict → encode, and the request metrics, which are
 * counted when the answer has gone out so that every status code is seen.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../core/errors.js';
import type { Batch, Signature } from '../models/index.js';
import { inputKey, type ServingService, type Target } from '../serving/index.js';

export type Protocol = 'v2' | 'mlflow';

/** What the request metrics need of one prediction request; the deployment and version fill in as they are found. */
export interface ServingInfo {
  protocol: Protocol;
  deployment: string;
  version: string;
  /** The variant that answered ('' until one did). */
  variant: string;
  started: number;
}

const INFO = new WeakMap<FastifyRequest, ServingInfo>();

/**
 * Counts one answered prediction request. A deployment label is only given for deployments
 * that exist, so random names cannot grow the label set.
 */
export function countAnswer(serving: ServingService, info: ServingInfo, status: number): void {
  const deployment = serving.isDeployed(info.deployment) ? info.deployment : '';
  serving.metrics.countRequest(deployment, info.version, info.variant, info.protocol, status, (performance.now() - info.started) / 1000);
}

/**
 * Counts every answered prediction request of the routes in this plugin, including those
 * refused before their handler ran (schema validation, body limits).
 */
export function countServingRequests(app: FastifyInstance, serving: ServingService, protocol: Protocol): void {
  // Callback hooks: an async hook costs a promise per request on the hottest path.
  app.addHook('onRequest', (request, _reply, done) => {
    const name = (request.params as { name?: unknown } | undefined)?.name;
    INFO.set(request, { protocol, deployment: typeof name === 'string' ? name : '', version: '', variant: '', started: performance.now() });
    done();
  });
  app.addHook('onSend', (request, reply, _payload, done) => {
    const variant = INFO.get(request)?.variant;
    if (variant) reply.header('x-modelport-variant', variant);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const info = INFO.get(request);
    if (info) countAnswer(serving, info, reply.statusCode);
    done();
  });
}

export interface Client {
  /** The bearer token: the rate-limit key when there is one. */
  token?: string;
  address: string;
}

/** The client of a request, from its Authorization header and its address. */
export function clientOf(authorization: string | undefined, address: string): Client {
  const token = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7).trim() || undefined : undefined;
  return { token, address };
}

/** One prediction request as runInference sees it, whichever HTTP layer received it. */
export interface InferenceRequest {
  id: string;
  client: Client;
  info: ServingInfo;
  /** The request's headers (a deployment may route by a user id in one); an object, not a lookup closure made per request. */
  headers: Record<string, string | string[] | undefined>;
}

/** A header's single value from Node's header object. */
export function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A Fastify request as an InferenceRequest; its metrics entry is the one its hooks count. */
export function inferenceRequest(request: FastifyRequest, protocol: Protocol): InferenceRequest {
  let info = INFO.get(request);
  if (!info) INFO.set(request, (info = { protocol, deployment: '', version: '', variant: '', started: performance.now() }));
  return { id: request.id, client: clientOf(request.headers.authorization, request.ip), info, headers: request.headers };
}

export interface InferenceCall {
  protocol: Protocol;
  deployment: string;
  version?: number;
  decode(signature: Signature): { batch: Batch; outputs?: string[] };
  encode(out: Batch, target: Target): unknown;
}

/**
 * Runs one prediction request; errors propagate to the protocol's error format. The variant is
 * chosen by the request's key: the deployment's input field when it routes by one (known only
 * once the body is decoded), else its user header, else the request id.
 */
export async function runInference(serving: ServingService, request: InferenceRequest, call: InferenceCall): Promise<unknown> {
  const info = request.info;
  info.deployment = call.deployment;
  const routing = serving.routingOf(call.deployment);
  const key = (routing && headerOf(request.headers, routing.header)) ?? request.id;
  let target = serving.targetNow(call.deployment, call.version, key) ?? (await serving.target(call.deployment, call.version, key));
  info.deployment = target.deployment;
  info.version = String(target.version.version);
  info.variant = target.variant;
  const admitting = serving.admit(target.deployment, request.client);
  if (admitting) await admitting;
  const gauge = serving.metrics.inFlightOf(target.deployment);
  gauge.inc();
  try {
    let rewrite = serving.inputHook?.(target.deployment, target.version.signature);
    let { batch, outputs } = call.decode(rewrite ? rewrite.requestSignature : target.version.signature);
    const byField = routing && call.version === undefined ? inputKey(routing, batch) : undefined;
    if (byField !== undefined) {
      const chosen = serving.targetNow(call.deployment, undefined, byField) ?? target;
      if (chosen.version.signature !== target.version.signature) {
        rewrite = serving.inputHook?.(chosen.deployment, chosen.version.signature);
        ({ batch, outputs } = call.decode(rewrite ? rewrite.requestSignature : chosen.version.signature));
      }
      target = chosen;
    }
    const inputs = rewrite ? await rewrite.assemble(batch) : batch;
    const { output, target: answered } = await serving.predict(target, inputs, outputs, request.id);
    info.version = String(answered.version.version);
    info.variant = answered.variant;
    return call.encode(output, answered);
  } finally {
    gauge.dec();
  }
}

/** A version path segment: a whole number, else a 404 naming it. */
export function parseVersion(deployment: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw notFound(`deployment "${deployment}" has no version "${text}"`);
  return Number(text);
}
