/**
 * One MLflow RPC registered under both of MLflow's prefixes (the ajax copy hidden from the
 * OpenAPI document), its input read from the query string of a GET and the JSON body otherwise,
 * and checked with MLflow's own field rules before the route's schema sees it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Permission } from '../permissions.js';
import { MLFLOW_PREFIXES } from './errors.js';
import { checkMlflowFields } from './fields.js';

export interface MlflowRouteSpec<S extends TSchema> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  permission: Permission;
  summary: string;
  /** The query string of a GET, the JSON body otherwise. */
  input: S;
  params?: TSchema;
  response?: TSchema;
  onRequest?: (request: FastifyRequest) => Promise<void>;
}

export interface MlflowRpcOptions {
  /** The OpenAPI tag of the routes. */
  tag: string;
  /** How a handler's result is sent (default: as it is, `{}` for nothing). */
  send?: (reply: FastifyReply, out: unknown) => unknown;
}

export type MlflowHandler<S extends TSchema> = (input: Static<S>, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** A route registrar for one group of MLflow RPCs. */
export function mlflowRpc(app: FastifyInstance, options: MlflowRpcOptions) {
  return function rpc<S extends TSchema>(spec: MlflowRouteSpec<S>, handler: MlflowHandler<S>): void {
    const query = spec.method === 'GET';
    for (const prefix of MLFLOW_PREFIXES) {
      app.route({
        method: spec.method,
        url: `${prefix}${spec.path}`,
        config: { permission: spec.permission },
        schema: {
          // A DELETE may come with no body at all (requests sends none for json=None): MLflow's field checks alone read it.
          ...(spec.method === 'DELETE' ? {} : { [query ? 'querystring' : 'body']: spec.input }),
          ...(spec.params ? { params: spec.params } : {}),
          ...(spec.response ? { response: { 200: spec.response } } : {}),
          summary: spec.summary,
          tags: [options.tag],
          hide: prefix !== MLFLOW_PREFIXES[0],
        },
        onRequest: spec.onRequest,
        preValidation: async (request: FastifyRequest) => checkMlflowFields(spec.input, query ? request.query : request.body, request, query),
        handler: async (request, reply) => {
          const out = await handler((query ? request.query : (request.body ?? {})) as Static<S>, request, reply);
          // A handler that sent its own answer returns the reply, a thenable that awaits to undefined.
          if (reply.sent) return reply;
          return options.send ? options.send(reply, out ?? {}) : (out ?? {});
        },
      });
    }
  };
}
