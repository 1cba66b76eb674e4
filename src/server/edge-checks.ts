/**
 * Checks every route gets at the edge, whatever its own schema says, so that a value the stores
 * cannot hold is a 400 naming the field instead of a database error (a 500):
 * - integer fields are bounded to the integers a JavaScript number holds exactly (±2^53), which
 *   both engines' 64-bit columns hold too;
 * - a value coerced to a number must be finite (Ajv coerces "Infinity" and "1e309" to Infinity
 *   and lets it through `integer` and `maximum`);
 * - on PostgreSQL, which cannot store U+0000 in text, no string of a request may hold one.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { invalidArgument, type ModelportError } from '../core/errors.js';

const SAFE = Number.MAX_SAFE_INTEGER;

/** A copy of `schema` in which every integer without its own bounds is bounded to ±2^53. */
export function boundIntegers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundIntegers);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = boundIntegers(v);
  const type = out.type;
  if (type === 'integer' || (Array.isArray(type) && type.includes('integer'))) {
    if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = SAFE;
    if (out.minimum === undefined && out.exclusiveMinimum === undefined) out.minimum = -SAFE;
  }
  return out;
}

function isJsonContainer(value: object): boolean {
  return !(value instanceof EventEmitter) && !ArrayBuffer.isView(value);
}

/**
 * Where the first non-finite number in `value` sits, as an Ajv instance path below it. The path
 * is spelt only on the way back from a find: every body of every route is walked, and a path
 * per value would be most of the walk's cost.
 */
function nonFinitePath(value: unknown, depth: number): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : '';
  // A raw upload's body is a stream whose object graph reaches the socket and the server: only
  // data is walked.
  if (!value || typeof value !== 'object' || depth > 64 || !isJsonContainer(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'number' ? Number.isFinite(v) : !v || typeof v !== 'object') continue;
      const found = nonFinitePath(v, depth + 1);
      if (found !== undefined) return `/${i}${found}`;
    }
    return undefined;
  }
  for (const k of Object.keys(value)) {
    const found = nonFinitePath((value as Record<string, unknown>)[k], depth + 1);
    if (found !== undefined) return `/${k}${found}`;
  }
  return undefined;
}

/**
 * The Ajv-style error of the first non-finite number in validated data, if any. JSON cannot
 * spell one, so it can only come from Ajv coercing text ("Infinity", "1e309") in a query, a
 * path or a body field.
 */
export function nonFiniteError(data: unknown): { instancePath: string; message: string }[] | undefined {
  const path = nonFinitePath(data, 0);
  return path === undefined ? undefined : [{ instancePath: path, message: 'must be a finite number' }];
}

/** The path of the first string (or object key) holding U+0000, if any. */
function nulPath(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (!value || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return `${path}.${k.replace(/\u0000/g, '\\0')}`;
    const found = nulPath(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Prediction payloads never reach the metadata store as text (the prediction log stores them
 * as binary segments), so the bodies of serving's routes keep whatever strings a model takes.
 */
const SERVING = /^\/(v2\/|invocations|deployments\/[^/]+\/invocations)/;

/** Refuses NUL in any string of a request when the metadata store is PostgreSQL. */
export function refuseNulStrings(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    const parts: [string, unknown][] = [
      ['params', request.params],
      ['querystring', request.query],
    ];
    if (!SERVING.test(request.url)) parts.push(['body', request.body]);
    done(nulStringError(parts));
  });
}

/** The refusal of the first string holding U+0000 in the named parts of a request, if any. */
export function nulStringError(parts: [string, unknown][]): ModelportError | undefined {
  for (const [part, value] of parts) {
    const path = nulPath(value, part);
    if (path) return invalidArgument(`${path}: text may not contain the NUL character (U+0000), which PostgreSQL cannot store`, { field: path });
  }
  return undefined;
}
