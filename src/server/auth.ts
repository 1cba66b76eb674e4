/**
 * The one enforcement point of `config.permission`: who is calling (Bearer or HTTP Basic with the
 * token as password), whether the route and the resource it names allow it, and the audit entry
 * for every mutating or refused call. Fastify's routes run it as hooks; the V2 inference fast
 * path (fast-infer.ts) calls `checkInference` before it reads a body; it answers synchronously
 * while the caller's token is cached, so an allowed call stays on that path without a pause.
 *
 * With auth off (a loopback server and no token) every caller is `local`, but two browser
 * attacks are still refused: a Host header that is not a loopback name (DNS rebinding) and a
 * state-changing request from another site's page (Origin or Sec-Fetch-Site say so).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ModelportError, permissionDenied, resourceExhausted, unauthenticated } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { isLoopbackHost, type SecurityService } from '../security/service.js';
import type { TokenInfo } from '../security/tokens.js';
import { principalName, type Principal, type ResourceRef, type RoutePermission } from '../security/roles.js';
import type { Permission } from './permissions.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the server registered, with the permission this layer enforces on it. */
    securedRoutes: { method: string; url: string; permission: RoutePermission }[];
  }
  interface FastifyRequest {
    principal: Principal;
    /** Set when the security layer refused the request, so the refusal is audited. */
    denied?: boolean;
    /** Set when access was decided before the body was read. */
    decided?: boolean;
  }
}

export const WWW_AUTHENTICATE = 'Bearer realm="modelport", Basic realm="modelport", charset="UTF-8"';

export interface AuthOptions {
  /** In-process callers (the embedded CLI) hold the data folder already: they act as `local`. */
  trusted?: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The token a request carries: `Bearer TOKEN`, or HTTP Basic with any user name and the token as password. */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const space = authorization.indexOf(' ');
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

function hostName(header: string | undefined): string {
  if (!header) return '';
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d+$/, '');
}

let lastHost: string | undefined;
let lastHostLoopback = false;

/** Whether a Host header names this machine's loopback; clients send the same one every request, so the last answer is kept. */
function loopbackHostHeader(host: string | undefined): boolean {
  if (host !== lastHost) {
    lastHostLoopback = isLoopbackHost(hostName(host));
    lastHost = host;
  }
  return lastHostLoopback;
}

/**
 * Refusals that apply whether or not auth is on: another site's page changing state, and (with
 * auth off) a Host that is not this machine's loopback name.
 */
function checkBrowserOrigin(req: IncomingMessage, authOn: boolean): ModelportError | undefined {
  const host = req.headers.host;
  if (!authOn && !loopbackHostHeader(host)) {
    return permissionDenied(`host: "${hostName(host)}" is not served while authentication is off; use localhost or 127.0.0.1, or configure a token (see SECURITY.md)`);
  }
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  let crossOrigin = site === 'cross-site';
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      crossOrigin ||= new URL(origin).host !== host;
    } catch {
      crossOrigin = true;
    }
  } else if (origin === 'null') crossOrigin = true;
  return crossOrigin ? permissionDenied('origin: requests from another site may not change anything here (CORS is closed)') : undefined;
}

/** The resource a route names in its path: a registered model, dataset, deployment or pipeline. */
function paramResource(request: FastifyRequest): ResourceRef | undefined {
  const url = request.routeOptions.url ?? '';
  const name = (request.params as Record<string, string | undefined>).name;
  if (name === undefined) return undefined;
  if (url.startsWith('/api/v1/registry/models/')) return { kind: 'registered_model', name };
  if (url.startsWith('/api/v1/datasets/')) return { kind: 'dataset', name };
  if (url.startsWith('/api/v1/deployments/') || url.startsWith('/v2/models/') || url.startsWith('/deployments/')) return { kind: 'deployment', name };
  if (url.startsWith('/api/v1/pipelines/')) return { kind: 'pipeline', name };
  return undefined;
}

const isInference = (request: FastifyRequest): boolean => /\/infer$|\/invocations$|^\/v2\/models\//.test(request.routeOptions.url ?? '');

/** The deployment, model, experiment, dataset or pipeline a request acts on, when it names one. */
async function resourceOf(platform: Platform, request: FastifyRequest): Promise<ResourceRef | undefined> {
  const url = request.routeOptions.url ?? '';
  const fromPath = paramResource(request);
  if (fromPath) return fromPath;
  const mlflow = /^\/(?:ajax-)?api\/2\.0\/mlflow\/([a-z-]+)(?:\/|$)/.exec(url)?.[1];
  if (!mlflow) return undefined;
  const field = (key: string): string | undefined => {
    const v = (request.body as Record<string, unknown> | undefined)?.[key] ?? (request.query as Record<string, unknown> | undefined)?.[key];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  };
  if (mlflow === 'registered-models' || mlflow === 'model-versions') {
    const model = field('name');
    return model === undefined ? undefined : { kind: 'registered_model', name: model };
  }
  // A logged model (MLflow 3) belongs to its experiment.
  const loggedModel = (request.params as Record<string, string> | undefined)?.model_id ?? field('model_id');
  if (mlflow === 'logged-models' && loggedModel !== undefined) {
    const [experiment] = await platform.services.tracking.loggedModels.experimentsOf([loggedModel]);
    return experiment === undefined ? undefined : { kind: 'experiment', name: experiment };
  }
  const experiment = field('experiment_id');
  if (experiment !== undefined) return { kind: 'experiment', name: experiment };
  const experimentName = field('experiment_name');
  if (experimentName !== undefined) {
    const found = await platform.services.tracking.getExperimentByName(experimentName).catch(() => undefined);
    return found ? { kind: 'experiment', name: found.experiment_id } : undefined;
  }
  const run = field('run_id') ?? field('run_uuid');
  if (run === undefined) return undefined;
  const found = await platform.services.tracking.getRun(run).catch(() => undefined);
  return found ? { kind: 'experiment', name: found.info.experiment_id } : undefined;
}

type Item = Record<string, unknown>;

/**
 * The experiments of the logged models (MLflow 3) that a run's metrics or a registration also
 * write to, through `model_id`: such a model may sit in another experiment than the run, or
 * under no grant the registered model has, so the route's permission is needed there too.
 */
async function loggedModelsWritten(platform: Platform, request: FastifyRequest): Promise<ResourceRef[]> {
  const route = /^\/(?:ajax-)?api\/2\.0\/mlflow\/(runs\/log-metric|runs\/log-batch|model-versions\/create)$/.exec(request.routeOptions.url ?? '')?.[1];
  if (!route) return [];
  const body = request.body as Item | undefined;
  const named = route === 'runs/log-batch' ? (Array.isArray(body?.metrics) ? (body.metrics as (Item | null)[]).map((m) => m?.model_id) : []) : [body?.model_id];
  const ids = named.filter((id): id is string => typeof id === 'string' && id !== '');
  if (ids.length === 0) return [];
  return (await platform.services.tracking.loggedModels.experimentsOf(ids)).map((name) => ({ kind: 'experiment', name }));
}

/**
 * The routes that list or search resources, the field of their answer holding the items, and
 * the resource each item is. A caller sees only the items it may read: a grant of
 * NO_PERMISSIONS hides an experiment or model from searches as well as from direct reads. A
 * page may then hold fewer items than asked for; its page token still leads on.
 */
const LISTINGS: { url: RegExp; field: string; kind: ResourceRef['kind']; name: (item: Item) => unknown }[] = [
  { url: /^\/(?:ajax-)?api\/2\.0\/mlflow\/experiments\/(?:search|list)$/, field: 'experiments', kind: 'experiment', name: (e) => e.experiment_id },
  { url: /^\/(?:ajax-)?api\/2\.0\/mlflow\/runs\/search$/, field: 'runs', kind: 'experiment', name: (r) => (r.info as Item | undefined)?.experiment_id },
  { url: /^\/(?:ajax-)?api\/2\.0\/mlflow\/logged-models\/search$/, field: 'models', kind: 'experiment', name: (m) => (m.info as Item | undefined)?.experiment_id },
  { url: /^\/(?:ajax-)?api\/2\.0\/mlflow\/registered-models\/search$/, field: 'registered_models', kind: 'registered_model', name: (m) => m.name },
  { url: /^\/(?:ajax-)?api\/2\.0\/mlflow\/model-versions\/search$/, field: 'model_versions', kind: 'registered_model', name: (v) => v.name },
  { url: /^\/api\/v1\/registry\/models$/, field: 'models', kind: 'registered_model', name: (m) => m.name },
  { url: /^\/api\/v1\/datasets$/, field: 'datasets', kind: 'dataset', name: (d) => d.name },
  { url: /^\/api\/v1\/deployments$/, field: 'deployments', kind: 'deployment', name: (d) => d.name },
  { url: /^\/api\/v1\/pipelines$/, field: 'pipelines', kind: 'pipeline', name: (p) => p.name },
];

/**
 * The serialized answer without the items `principal` may not read, when the route lists
 * resources. Works on the text because MLflow's routes send text they wrote themselves; only a
 * caller holding grants pays for the parse.
 */
function visibleOnly(security: SecurityService, request: FastifyRequest, statusCode: number, payload: unknown): unknown {
  const principal = request.principal;
  if (statusCode !== 200 || typeof payload !== 'string' || principal?.kind !== 'token' || principal.role === 'admin') return payload;
  if (!security.grants.holds(principal.id, principal.groups)) return payload;
  const url = request.routeOptions.url ?? '';
  const listing = LISTINGS.find((l) => l.url.test(url));
  if (!listing) return payload;
  const answer = JSON.parse(payload) as Item;
  const items = answer[listing.field];
  if (!Array.isArray(items)) return payload;
  const readable = (item: Item) => security.decide(principal, 'read', { kind: listing.kind, name: String(listing.name(item)) }).allowed;
  return JSON.stringify({ ...answer, [listing.field]: (items as Item[]).filter(readable) });
}

const routePermission = (request: FastifyRequest): RoutePermission => {
  const declared = (request.routeOptions.config as { permission?: Permission } | undefined)?.permission;
  if (declared) return declared;
  // Routes of the docs UI declare none; an unknown URL answers 404 only to a caller who may read.
  return request.url.startsWith('/docs') ? 'public' : 'read';
};

type Caller = Principal | ModelportError;

/**
 * The caller a request's token names, or the refusal to answer with (a wrong token counts
 * against the address). Synchronous, with neither a hash nor a store read, while the token's
 * answer is cached, as it is for every request but a token's first in a few seconds.
 */
function authenticate(security: SecurityService, req: IncomingMessage): Caller | Promise<Caller> {
  const token = presentedToken(req.headers.authorization);
  if (token === undefined) return { kind: 'anonymous' };
  const address = req.socket.remoteAddress ?? '';
  const wait = security.guesses.blockedFor(address);
  if (wait > 0) return resourceExhausted(`too many failed authentication attempts from this address; retry in ${wait} s`, { retryAfterSeconds: wait });
  const known = security.tokens.cached(token);
  if (known !== undefined) return callerOf(security, address, known);
  return security.tokens.verify(token).then((info) => callerOf(security, address, info ?? null));
}

function callerOf(security: SecurityService, address: string, info: TokenInfo | null): Caller {
  if (info) return security.principalOf(info);
  security.guesses.fail(address);
  return unauthenticated('the token is not valid (unknown, expired or revoked)');
}

function refusal(security: SecurityService, principal: Principal, permission: RoutePermission, resource: ResourceRef | undefined, inference: boolean): ModelportError | undefined {
  const decision = security.decide(principal, permission, resource, inference);
  if (decision.allowed) return undefined;
  return decision.why === 'unauthenticated' ? unauthenticated(decision.message) : permissionDenied(decision.message);
}

/** Records a refusal made before Fastify saw the request (the fast path), and returns it. */
function auditedRefusal(security: SecurityService, log: FastifyInstance['log'], req: IncomingMessage, id: string, err: ModelportError, actor: string): ModelportError {
  const status = err.code === 'Unauthenticated' ? 401 : err.code === 'ResourceExhausted' ? 429 : 403;
  security.audit
    .append({ actor, action: `${req.method} ${(req.url ?? '').split('?')[0]}`, target: (req.url ?? '').split('?')[0], outcome: 'denied', status, client: req.socket.remoteAddress ?? '', request_id: id })
    .catch((e: unknown) => log.error({ err: e }, 'audit entry not stored'));
  return err;
}

export function installAuth(app: FastifyInstance, platform: Platform, options: AuthOptions = {}): void {
  const security = platform.services.security;
  app.decorateRequest('principal', null as never);
  app.decorate('securedRoutes', [] as FastifyInstance['securedRoutes']);
  app.addHook('onRoute', (route) => {
    const declared = (route.config as { permission?: Permission } | undefined)?.permission;
    for (const method of [route.method].flat()) app.securedRoutes.push({ method, url: route.url, permission: declared ?? (route.url.startsWith('/docs') ? 'public' : 'read') });
  });

  app.addHook('onRequest', (request, reply, done) => {
    if (options.trusted) {
      request.principal = { kind: 'local' };
      return done();
    }
    const authOn = security.authRequired();
    const fail = (err: ModelportError) => {
      request.denied = true;
      if (err.code === 'Unauthenticated') reply.header('www-authenticate', WWW_AUTHENTICATE);
      done(err);
    };
    const browser = checkBrowserOrigin(request.raw, authOn);
    if (browser) {
      request.principal = { kind: 'anonymous' };
      return fail(browser);
    }
    if (!authOn) {
      request.principal = { kind: 'local' };
      return done();
    }
    const settle = (caller: Caller) => {
      if (caller instanceof ModelportError) {
        request.principal = { kind: 'anonymous' };
        return fail(caller);
      }
      request.principal = caller;
      // Decided now, before any body is read, unless a grant could hinge on a resource named in the body.
      if (caller.kind === 'token' && security.grants.holds(caller.id, caller.groups)) return done();
      request.decided = true;
      const early = refusal(security, caller, routePermission(request), paramResource(request), isInference(request));
      if (early) fail(early);
      else done();
    };
    const caller = authenticate(security, request.raw);
    if (!(caller instanceof Promise)) return settle(caller);
    caller.then(settle, (err: ModelportError) => {
      request.principal = { kind: 'anonymous' };
      fail(err);
    });
  });

  app.addHook('preHandler', (request, reply, done) => {
    const principal = request.principal;
    if (request.decided || principal.kind !== 'token' || principal.role === 'admin') return done();
    Promise.all([resourceOf(platform, request), loggedModelsWritten(platform, request)]).then(
      ([resource, written]) => {
        const permission = routePermission(request);
        const err = refusal(security, principal, permission, resource, isInference(request)) ?? written.map((r) => refusal(security, principal, permission, r, false)).find(Boolean);
        if (err) request.denied = true;
        done(err);
      },
      (err: Error) => done(err),
    );
  });

  app.addHook('onSend', (request, reply, payload, done) => done(null, visibleOnly(security, request, reply.statusCode, payload)));

  app.addHook('onResponse', (request, reply, done) => {
    const permission = routePermission(request);
    const mutating = !SAFE_METHODS.has(request.method) && permission !== 'public' && permission !== 'read';
    if (!mutating && !request.denied) return done();
    const status = reply.statusCode;
    const path = request.url.split('?')[0];
    security.audit
      .append({
        actor: principalName(request.principal ?? { kind: 'anonymous' }),
        action: `${request.method} ${request.routeOptions.url ?? path}`,
        target: path,
        outcome: request.denied ? 'denied' : status < 400 ? 'ok' : 'failed',
        status,
        client: request.ip,
        request_id: request.id,
      })
      .catch((err: unknown) => request.log.error({ err }, 'audit entry not stored'));
    done();
  });
}

/**
 * Code models (the js flavor) run their author's code in the server: with auth on, only admins
 * deploy them unless the server allows code models (MODELPORT_ALLOW_CODE_MODELS).
 */
export async function checkCodeModel(platform: Platform, request: FastifyRequest, model: string | undefined, ref: { version?: number | string; alias?: string }): Promise<void> {
  const p = request.principal;
  if (model === undefined || p.kind !== 'token' || p.role === 'admin' || platform.config.allowCodeModels) return;
  const { registry } = platform.services;
  const version = ref.alias !== undefined ? await registry.getVersionByAlias(model, ref.alias) : await registry.getVersion(model, ref.version ?? 'latest');
  if (version.flavor === 'js') throw permissionDenied(`model "${model}" version ${version.version} is a code model (js flavor): deploying it needs the admin role`);
}

/**
 * The fast inference path's check, before it reads the body: resolves to nothing when the call
 * may go ahead, or to the refusal to answer with (and audits it). Undefined at once, letting the
 * call go ahead, while auth is off or the caller's token is cached and allowed.
 */
export function checkInference(app: FastifyInstance, platform: Platform, req: IncomingMessage, id: string, deployment: string): Promise<ModelportError | undefined> | undefined {
  const security = platform.services.security;
  const authOn = security.authRequired();
  const browser = checkBrowserOrigin(req, authOn);
  if (browser) return Promise.resolve(auditedRefusal(security, app.log, req, id, browser, 'anonymous'));
  if (!authOn) return undefined;
  const caller = authenticate(security, req);
  if (caller instanceof Promise) {
    return caller.then(
      (known) => inferenceRefusal(security, app.log, req, id, deployment, known),
      (err: ModelportError) => auditedRefusal(security, app.log, req, id, err, 'anonymous'),
    );
  }
  // Module-level helpers, not closures: this runs on every inference request.
  const refused = inferenceRefusal(security, app.log, req, id, deployment, caller);
  return refused && Promise.resolve(refused);
}

function inferenceRefusal(security: SecurityService, log: FastifyInstance['log'], req: IncomingMessage, id: string, deployment: string, caller: Caller): ModelportError | undefined {
  if (caller instanceof ModelportError) return auditedRefusal(security, log, req, id, caller, 'anonymous');
  const decision = security.decideInference(caller, deployment);
  if (decision.allowed) return undefined;
  const err = decision.why === 'unauthenticated' ? unauthenticated(decision.message) : permissionDenied(decision.message);
  return auditedRefusal(security, log, req, id, err, principalName(caller));
}

/**
 * What Fastify's hooks decide, before the body is read, of a request to a route that declares
 * `permission` and names no resource in its path, for a handler ahead of Fastify
 * (fast-features.ts): nothing when the call may go ahead, the refusal to answer with (audited),
 * or 'fastify' when only Fastify's hooks can tell: a token whose answer is not cached waits on
 * the store, and a caller holding grants is judged once the body is validated.
 */
export function checkAtOnce(app: FastifyInstance, platform: Platform, req: IncomingMessage, id: string, permission: RoutePermission): ModelportError | 'fastify' | undefined {
  const security = platform.services.security;
  const authOn = security.authRequired();
  const browser = checkBrowserOrigin(req, authOn);
  if (browser) return auditedRefusal(security, app.log, req, id, browser, 'anonymous');
  if (!authOn) return undefined;
  const token = presentedToken(req.headers.authorization);
  if (token !== undefined && security.guesses.blockedFor(req.socket.remoteAddress ?? '') <= 0 && security.tokens.cached(token) === undefined) return 'fastify';
  // Answered at once: no token, a blocked address, or a token whose answer is cached.
  const caller = authenticate(security, req) as Caller;
  if (caller instanceof ModelportError) return auditedRefusal(security, app.log, req, id, caller, 'anonymous');
  if (caller.kind === 'token' && security.grants.holds(caller.id, caller.groups)) return 'fastify';
  const refused = refusal(security, caller, permission, undefined, false);
  return refused && auditedRefusal(security, app.log, req, id, refused, principalName(caller));
}
