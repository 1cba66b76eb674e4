/**
 * The Fastify application: one plugin per domain, schemas that validate requests and produce
 * the OpenAPI document, request ids, structured logs, and error mapping in one place.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import AjvCompiler from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import { timeOrderedId } from '../core/ids.js';
import { installErrorHandling } from './errors.js';
import { requireDeclaredPermissions } from './permissions.js';
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

export interface AppOptions {
  /** pino logger options or false to silence; defaults to the Config's log level. */
  logger?: boolean | { level: string };
}

/** One plugin per domain, each given the platform. */
const DOMAIN_ROUTES: FastifyPluginAsync<{ platform: Platform }>[] = [healthRoutes, datasetRoutes, trackingRoutes, mlflowRegistryRoutes, registryRoutes, servingRoutes, v2Routes, invocationsRoutes, metricsRoutes, monitoringRoutes];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's own validator compiler, but each route's validator is compiled on its first request
 * instead of at start-up: compiling a hundred-odd route schemas up front costs a server most of
 * its start-up time, and most routes of a given server are never called.
 */
const buildDefaultValidator = AjvCompiler();
const lazyValidators: typeof buildDefaultValidator = (externalSchemas, options) => {
  const compile = buildDefaultValidator(externalSchemas, options);
  return (route) => {
    let compiled: ReturnType<typeof compile> | undefined;
    const validate = ((data: unknown) => {
      compiled ??= compile(route);
      const result = compiled(data);
      validate.errors = compiled.errors;
      return result;
    }) as ReturnType<typeof compile>;
    return validate;
  };
};

export async function buildApp(platform: Platform, options: AppOptions = {}): Promise<FastifyInstance> {
  const level = platform.config.logLevel;
  const app = Fastify({
    logger: options.logger ?? (level === 'silent' ? false : { level }),
    bodyLimit: platform.config.bodyLimit,
    // Serving answers thousands of requests a second: one debug line per response (below) is enough.
    logController: new LogController({ disableRequestLogging: true }),
    // A client's own request id is kept (so logs join across services) when it is sane; new
    // ones are time-ordered, which keeps the prediction log's id index append-only.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : timeOrderedId();
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidators } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  installMlflowErrors(app);
  requireDeclaredPermissions(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const fields = { reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime };
    if (reply.statusCode >= 500) request.log.error(fields, 'request failed');
    else request.log.debug(fields, 'request');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'modelport', version: '0.1.0', description: 'MLOps platform: tracking, registry, serving, monitoring.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () => app.swagger());

  for (const routes of DOMAIN_ROUTES) await app.register(routes, { platform });
  return app;
}
