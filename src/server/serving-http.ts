/**
 * What the prediction protocols (V2, MLflow scoring) share on the HTTP side: finding the
 * deployment, the rate limit, decode → predict → encode, and the request metrics, which are
 * counted when the answer has gone out so that every status code is seen.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../core/errors.js';
import type { Batch, Signature } from '../models/index.js';
import type { ServingService, Target } from '../serving/index.js';

export type Protocol = 'v2' | 'mlflow';

interface ServingInfo {
  protocol: Protocol;
  deployment: string;
  version: string;
  started: number;
}

const INFO = new WeakMap<FastifyRequest, ServingInfo>();

/**
 * Counts every answered prediction request of the routes in this plugin, including those
 * refused before their handler ran (schema validation, body limits). A deployment label is only
 * given for deployments that exist, so random names cannot grow the label set.
 */
export function countServingRequests(app: FastifyInstance, serving: ServingService, protocol: Protocol): void {
  // Callback hooks: an async hook costs a promise per request on the hottest path.
  app.addHook('onRequest', (request, _reply, done) => {
    const name = (request.params as { name?: unknown } | undefined)?.name;
    INFO.set(request, { protocol, deployment: typeof name === 'string' ? name : '', version: '', started: performance.now() });
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const info = INFO.get(request);
    if (info) {
      const deployment = serving.isDeployed(info.deployment) ? info.deployment : '';
      serving.metrics.countRequest(deployment, info.version, info.protocol, reply.statusCode, (performance.now() - info.started) / 1000);
    }
    done();
  });
}

/** The bearer token (rate-limit key) and the client address of a request. */
export function clientOf(request: FastifyRequest): { token?: string; address: string } {
  const auth = request.headers.authorization;
  const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() || undefined : undefined;
  return { token, address: request.ip };
}

export interface InferenceCall {
  protocol: Protocol;
  deployment: string;
  version?: number;
  decode(signature: Signature): { batch: Batch; outputs?: string[] };
  encode(out: Batch, target: Target): unknown;
}

/** Runs one prediction request; errors propagate to the protocol's error format. */
export async function runInference(serving: ServingService, request: FastifyRequest, call: InferenceCall): Promise<unknown> {
  const info = INFO.get(request) ?? { protocol: call.protocol, deployment: '', version: '', started: performance.now() };
  INFO.set(request, info);
  info.deployment = call.deployment;
  const target = await serving.target(call.deployment, call.version);
  info.deployment = target.deployment;
  info.version = String(target.version.version);
  serving.admit(target.deployment, clientOf(request));
  const gauge = serving.metrics.inFlightOf(target.deployment);
  gauge.inc();
  try {
    const { batch, outputs } = call.decode(target.version.signature);
    const { output, target: answered } = await serving.predict(target, batch, outputs, request.id);
    info.version = String(answered.version.version);
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
