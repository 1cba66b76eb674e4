/**
 * modelport's own API refuses body fields it does not know, all of them named in one 400,
 * instead of dropping them silently (a misspelt setting would otherwise look applied). The
 * check is derived from each route's TypeBox schema, so a route opts out only by declaring
 * `additionalProperties` itself. Routes of other tools' protocols (MLflow, V2, scoring) stay
 * lenient, as their clients expect.
 */

interface ObjectSchema {
  type?: unknown;
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
  patternProperties?: unknown;
  items?: unknown;
  allOf?: unknown[];
}

/** URL prefixes whose bodies are checked. */
const STRICT_PREFIXES = ['/api/v1/'];

export function isStrictRoute(url: string): boolean {
  return STRICT_PREFIXES.some((p) => url.startsWith(p));
}

/** Every field of `data` (dotted paths) that `schema` does not declare. */
export function unknownFields(schema: unknown, data: unknown, path = ''): string[] {
  if (schema === null || typeof schema !== 'object' || data === null || typeof data !== 'object') return [];
  const s = schema as ObjectSchema;
  if (Array.isArray(data)) {
    return s.items === undefined ? [] : data.flatMap((item, i) => unknownFields(s.items, item, `${path}[${i}]`));
  }
  const parts = [s, ...((s.allOf ?? []) as ObjectSchema[])];
  if (!parts.some((p) => p.properties) || parts.some((p) => p.additionalProperties !== undefined || p.patternProperties !== undefined)) return [];
  const properties = Object.assign({}, ...parts.map((p) => p.properties ?? {})) as Record<string, unknown>;
  const out: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(properties, key)) out.push(at);
    else out.push(...unknownFields(properties[key], value, at));
  }
  return out;
}

/** An Ajv-shaped error for the unknown fields, which server/errors.ts turns into a 400 naming them. */
export function unknownFieldsError(fields: readonly string[]): { instancePath: string; message: string; keyword: string; params: object }[] {
  return [{ instancePath: '', keyword: 'additionalProperties', params: { fields }, message: `has unknown field${fields.length > 1 ? 's' : ''}: ${fields.join(', ')}` }];
}
