/**
 * The Fastify application: one plugin per domain, schemas that validate requests and produce
 * the OpenAPI document, request ids, structured logs, and error mapping in one place.
 */
import { VERSION } from '../core/version.js';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import { timeOrderedId } from '../core/ids.js';
import { invalidArgument } from '../core/errors.js';
import { installErrorHandling } from './errors.js';
import { fastInference } from './fast-infer.js';
import { fastFeatures } from './fast-features.js';
import { requireDeclaredPermissions } from './permissions.js';
import { refuseNulStrings } from './edge-checks.js';
import { AJV_OPTIONS, lazySerializers, lazyValidators } from './validators.js';
import { applyServerLimits, closeIdleConnections, bodyMemoryGate, clientErrorHandler, limitTrackingBodies } from './limits.js';
import { healthRoutes } from './health.js';
import { servingRoutes } from './serving.js';
import { v2Routes } from './v2.js';
import { invocationsRoutes } from './invocations.js';
import { metricsRoutes } from './metrics.js';
import { datasetRoutes } from './datasets.js';
import { installMlflowErrors } from './mlflow/errors.js';
import { trackingRoutes } from './mlflow/tracking.js';
import { mlflowRegistryRoutes } from './mlflow/registry.js';
import { registryRoutes } from './registry.js';
import { monitoringRoutes } from './monitoring.js';
import { uiRoutes } from './ui.js';
import { featureRoutes, ONLINE_PERMISSION } from './features.js';
import { explainRoutes } from './explain.js';
import { securityRoutes } from './security.js';
import { checkAtOnce, checkInference, installAuth } from './auth.js';
import { jobRoutes } from './jobs.js';
import { pipelineRoutes } from './pipelines.js';
import { rolloutRoutes } from './rollouts.js';

export interface AppOptions {
  /** pino logger options (a level, and a stream to write to) or false to silence; defaults to the Config's log level. */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** Folder of the built web UI (default: the package's dist/ui). */
  uiDir?: string;
  /** In-process callers that hold the data folder (the embedded CLI) act without a token. */
  trusted?: boolean;
}

/** One plugin per domain, each given the platform. */
const DOMAIN_ROUTES: FastifyPluginAsync<{ platform: Platform }>[] = [healthRoutes, datasetRoutes, trackingRoutes, mlflowRegistryRoutes, registryRoutes, servingRoutes, v2Routes, invocationsRoutes, metricsRoutes, monitoringRoutes, featureRoutes, explainRoutes, securityRoutes, jobRoutes, pipelineRoutes, rolloutRoutes];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A client's own request id is kept (so logs join across services) when it is sane; new ones
 * are time-ordered, which keeps the prediction log's id index append-only.
 */
function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : timeOrderedId();
}

/** The options Fastify gives a server factory: the ones it applies to servers it makes itself. */
interface ServerOptions {
  http?: http.ServerOptions;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
}

function readTls(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalidArgument(`--${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export async function buildApp(platform: Platform, options: AppOptions = {}): Promise<FastifyInstance> {
  const level = platform.config.logLevel;
  // V2 inference is answered ahead of Fastify (fast-infer.ts); the handler exists once the routes do.
  let fast: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
  // So are online feature reads (fast-features.ts).
  let fastRead: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
  let closing = false;
  const limits = platform.config.limits;
  const admitBody = bodyMemoryGate(limits);
  const app = Fastify({
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    clientErrorHandler,
    logger: options.logger ?? (level === 'silent' ? false : { level }),
    bodyLimit: platform.config.bodyLimit,
    // Serving answers thousands of requests a second: one debug line per response (below) is enough.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => requestIdOf(req.headers['x-request-id']),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: { compilersFactory: { buildValidator: lazyValidators, buildSerializer: lazySerializers } },
    // The server Fastify would make, with the inference handler in front of Fastify's own.
    serverFactory: (handler, given) => {
      const opts = given as unknown as ServerOptions;
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!admitBody(req, res)) return;
        if (!fast?.(req, res) && !fastRead?.(req, res)) handler(req, res);
      };
      const tls = platform.config.tls;
      const server = tls
        ? https.createServer({ ...opts.http, cert: readTls(tls.cert, 'tls-cert'), key: readTls(tls.key, 'tls-key') }, onRequest)
        : http.createServer(opts.http ?? {}, onRequest);
      server.keepAliveTimeout = opts.keepAliveTimeout;
      server.requestTimeout = opts.requestTimeout;
      closeIdleConnections(server, opts.connectionTimeout);
      if (opts.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
      applyServerLimits(server, limits);
      return server;
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  installMlflowErrors(app);
  requireDeclaredPermissions(app);
  installAuth(app, platform, { trusted: options.trusted });
  if (platform.metadata.dialect === 'postgres') refuseNulStrings(app);
  limitTrackingBodies(app, limits);

  // Callback hooks: an async hook costs every request a promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const fields = { reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime };
    if (reply.statusCode >= 500) request.log.error(fields, 'request failed');
    else request.log.debug(fields, 'request');
    done();
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'modelport', version: VERSION, description: 'MLOps platform: tracking, registry, serving, monitoring.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () => app.swagger());

  for (const routes of DOMAIN_ROUTES) await app.register(routes, { platform });
  await app.register(uiRoutes, { dir: options.uiDir });
  fast = fastInference(app, {
    serving: platform.services.serving,
    bodyLimit: platform.config.bodyLimit,
    requestId: requestIdOf,
    isClosing: () => closing,
    authorize: (req, id, deployment) => checkInference(app, platform, req, id, deployment),
    open: () => !platform.services.security.authRequired(),
  });
  fastRead = fastFeatures(app, {
    features: platform.services.features,
    bodyLimit: platform.config.bodyLimit,
    requestId: requestIdOf,
    isClosing: () => closing,
    access: options.trusted ? undefined : (req, id) => checkAtOnce(app, platform, req, id, ONLINE_PERMISSION),
    refuseNul: platform.metadata.dialect === 'postgres',
  });
  return app;
}
