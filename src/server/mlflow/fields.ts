/**
 * MLflow's per-field presence and type rules (mlflow/server/handlers.py `_get_request_message`
 * with its `_assert_required`, `_assert_string`, `_assert_intlike`, ... validators), derived from
 * each route's TypeBox schema so that one declaration serves OpenAPI, Ajv and MLflow's checks.
 * They run on the request as the client sent it, before Ajv's type coercion could turn
 * `{"name": 123}` into `"123"`, and answer with MLflow's wording, which MLflow's own tests read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { invalidArgument } from '../../core/errors.js';

/** A proto `double`: a JSON number, or the strings proto JSON uses ("NaN", "Infinity", numeric text). */
export const Double = Type.Union([Type.Number(), Type.String()], { title: 'double' });

interface Schema {
  type?: string;
  title?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
}

const SEE_DOCS = ' See the API docs for more information about request parameters.';

/** A value as Python's `str()` prints it (top level) or `repr()` (inside containers). */
function py(value: unknown, nested = false, literal?: string): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return nested ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : value;
  if (typeof value === 'number') {
    // JSON.parse forgets that `9.0` was a float; Python keeps and prints it so.
    const isFloat = literal !== undefined ? /[.eE]/.test(literal) : !Number.isInteger(value);
    if (isFloat && Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => py(v, true)).join(', ')}]`;
  return `{${Object.entries(value as object).map(([k, v]) => `'${k}': ${py(v, true)}`).join(', ')}}`;
}

function pyType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return { string: 'str', boolean: 'bool', object: 'dict' }[typeof value as 'string'] ?? typeof value;
}

export function missingValue(path: string): string {
  return `Missing value for required parameter '${path}'.`;
}

function invalid(path: string, value: unknown, literal?: string, reason?: string): Error {
  const hint = reason ? `: ${reason}` : `. Hint: Value was of type '${pyType(value)}'.`;
  return invalidArgument(`Invalid value ${py(value, false, literal)} for parameter '${path}' supplied${hint}${SEE_DOCS}`);
}

const INT_TEXT = /^\s*[+-]?\d+\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf|infinity)\s*$/i;

/** Whether `value` passes the type rule of `schema`; query-string values are always text. */
function typeOk(schema: Schema, value: unknown, query: boolean): boolean {
  if (schema.anyOf) return schema.title === 'double' ? typeof value === 'number' || (typeof value === 'string' && FLOAT_TEXT.test(value)) : schema.anyOf.some((s) => typeOk(s, value, query));
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' || (query && Array.isArray(value));
    case 'integer':
      return (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && INT_TEXT.test(value));
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && FLOAT_TEXT.test(value));
    case 'boolean':
      return typeof value === 'boolean' || (query && (value === 'true' || value === 'false'));
    case 'array':
      return Array.isArray(value) || query;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

const absent = (v: unknown) => v === undefined || v === null || v === '';

/** The first nested rule `value` breaks (a missing or mistyped field of an element), as a message. */
function nestedProblem(schema: Schema, value: unknown, path: string): string | undefined {
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const problem = nestedProblem(schema.items, value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    if (schema.items.type === 'string' && !value.every((v) => typeof v === 'string')) return `every item of '${path}' must be a string`;
  }
  if (schema.type === 'object' && schema.properties) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `'${path}' must be an object`;
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (absent(record[name])) return missingValue(`${path}.${name}`);
    for (const [name, sub] of Object.entries(schema.properties)) {
      const v = record[name];
      if (absent(v)) continue;
      if (!typeOk(sub, v, false)) return `Invalid value ${py(v)} for parameter '${path}.${name}' supplied. Hint: Value was of type '${pyType(v)}'.`;
      const problem = nestedProblem(sub, v, `${path}.${name}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

const rawBodies = new WeakMap<FastifyRequest, string>();

/** The literal text of a top-level number field, so that a message can print `9.0` as the client wrote it. */
function numberLiteral(request: FastifyRequest, field: string): string | undefined {
  const raw = rawBodies.get(request);
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return raw?.match(new RegExp(`"${escaped}"\\s*:\\s*(-?[\\d.eE+-]+)`))?.[1];
}

/**
 * Checks an MLflow request against its route schema: required fields present (MLflow counts an
 * empty string as absent, and `run_uuid` stands in for `run_id`), then each present field's type,
 * then the fields of array elements (a log-batch metric without a timestamp, for one).
 */
export function checkMlflowFields(schema: TSchema, input: unknown, request: FastifyRequest, query: boolean): void {
  const s = schema as Schema;
  const record = (input ?? {}) as Record<string, unknown>;
  const props = s.properties ?? {};
  const required = new Set(s.required ?? []);
  if (props.run_id && props.run_uuid) required.add('run_id');
  for (const name of required) {
    const value = name === 'run_id' && absent(record.run_id) ? record.run_uuid : record[name];
    if (absent(value)) throw invalidArgument(`${missingValue(name)}${SEE_DOCS}`);
  }
  for (const [name, sub] of Object.entries(props)) {
    const value = record[name];
    if (value === undefined || value === null) continue;
    if (!typeOk(sub, value, query)) throw invalid(name, value, typeof value === 'number' ? numberLiteral(request, name) : undefined);
    if (query) continue;
    const problem = nestedProblem(sub, value, name);
    if (problem) throw invalid(name, value, undefined, problem);
  }
}

/**
 * MLflow's JSON body parsing for a plugin's routes: an empty body is `{}`, a body that is a JSON
 * string holding JSON is decoded again (older clients double-encode), and the text is kept for
 * messages that quote a number as it was written.
 */
export function installMlflowJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    rawBodies.set(request, text);
    parse(request, text, (err: Error | null, value?: unknown) => {
      if (err || typeof value !== 'string') return done(err, value);
      parse(request, value, done);
    });
  });
}
