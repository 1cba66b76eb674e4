/**
 * How request parts are validated: Ajv's options, and Fastify's validator compiler with
 * modelport's edge checks (bounded integers, finite numbers, unknown fields refused). The
 * handlers ahead of Fastify (fast-features.ts) validate with the same compiler, so both paths
 * judge a body alike. Responses are serialized by Fastify's own compiler, compiled lazily too.
 */
import AjvCompiler, { type BuildCompilerFromPool, type ErrorObject } from '@fastify/ajv-compiler';
import SerializerSelector, { type SerializerFactory } from '@fastify/fast-json-stringify-compiler';
import { isStrictRoute, unknownFields, unknownFieldsError } from './strict-body.js';
import { boundIntegers, nonFiniteError } from './edge-checks.js';

export const AJV_OPTIONS = { coerceTypes: 'array' as const, useDefaults: true, removeAdditional: false, allErrors: false };

/**
 * Fastify's own validator compiler, but each route's validator is compiled on its first request
 * instead of at start-up: compiling a hundred-odd route schemas up front costs a server most of
 * its start-up time, and most routes of a given server are never called.
 */
const buildDefaultValidator: BuildCompilerFromPool = AjvCompiler();
/**
 * Bodies whose NaN and ±Infinity are data: MLflow metrics (MLflow's own field rules judge the
 * rest of its bodies) and scoring inputs (missing values, as MLflow's and Triton's clients send them).
 */
const NON_FINITE_BODY = /^\/(ajax-)?api\/2\.0\/mlflow\/|(^|\/)invocations$/;
export const lazyValidators: BuildCompilerFromPool = (externalSchemas, options) => {
  const compile = buildDefaultValidator(externalSchemas, options);
  return (route) => {
    let compiled: ReturnType<typeof compile> | undefined;
    const { httpPart, url, schema } = route as unknown as { httpPart?: string; url: string; schema: unknown };
    const strict = httpPart === 'body' && isStrictRoute(url);
    const validate = ((data: unknown) => {
      compiled ??= compile({ ...(route as object), schema: boundIntegers(schema) } as typeof route);
      const result = compiled(data);
      validate.errors = compiled.errors;
      if (result === true && !(httpPart === 'body' && NON_FINITE_BODY.test(url))) {
        const nonFinite = nonFiniteError(data);
        if (nonFinite) {
          validate.errors = nonFinite as typeof validate.errors;
          return false;
        }
      }
      if (result !== true || !strict) return result;
      const unknown = unknownFields(schema, data);
      if (unknown.length === 0) return result;
      validate.errors = unknownFieldsError(unknown) as typeof validate.errors;
      return false;
    }) as ReturnType<typeof compile>;
    return validate;
  };
};

/** The validator Fastify gives a POST route at `url` with this body schema. */
export function bodyValidator(url: string, schema: unknown): { (data: unknown): boolean; errors?: ErrorObject[] | null } {
  const compile = lazyValidators({}, { customOptions: AJV_OPTIONS, plugins: [] });
  return compile({ schema, url, method: 'POST', httpPart: 'body' } as Parameters<typeof compile>[0]) as { (data: unknown): boolean; errors?: ErrorObject[] | null };
}

const buildDefaultSerializer = SerializerSelector();

/**
 * Fastify's own response serializer compiler, each route's serializer compiled on its first
 * response, for the reason validators are (compiling them all took a third of the app's build).
 */
export const lazySerializers: SerializerFactory = (externalSchemas, options) => {
  const compile = buildDefaultSerializer(externalSchemas, options);
  return (route) => {
    let compiled: ((doc: unknown) => string) | undefined;
    return (doc: unknown) => (compiled ??= compile(route))(doc);
  };
};
