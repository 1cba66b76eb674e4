/** What an apply would change: objects added, removed or changed, with the fields that differ. */
import { redact } from '../config.js';
import type { Change, FeatureRepoSpec } from './types.js';

const KINDS: [Change['kind'], keyof FeatureRepoSpec][] = [
  ['entity', 'entities'],
  ['source', 'sources'],
  ['feature_view', 'feature_views'],
  ['on_demand_feature_view', 'on_demand_feature_views'],
  ['feature_service', 'feature_services'],
];

type Obj = { name: string } & Record<string, unknown>;

export function planChanges(before: FeatureRepoSpec | undefined, after: FeatureRepoSpec): Change[] {
  const changes: Change[] = [];
  for (const [kind, key] of KINDS) {
    const old = new Map(((before?.[key] ?? []) as Obj[]).map((o) => [o.name, o]));
    const now = new Map(((after[key] ?? []) as Obj[]).map((o) => [o.name, o]));
    for (const [name, o] of now) {
      const prev = old.get(name);
      if (!prev) changes.push({ kind, name, action: 'added', diff: fieldDiff(undefined, o, '') });
      else {
        const diff = fieldDiff(prev, o, '');
        if (diff.length) changes.push({ kind, name, action: 'changed', diff });
      }
    }
    for (const [name, o] of old) if (!now.has(name)) changes.push({ kind, name, action: 'removed', diff: fieldDiff(o, undefined, '') });
  }
  return changes;
}

/** Leaf-level differences; arrays of named objects are compared by name, other arrays as a whole. */
function fieldDiff(a: unknown, b: unknown, path: string): Change['diff'] {
  if (isPlain(a) && isPlain(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => fieldDiff(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (isNamedList(a) && isNamedList(b)) {
    const am = new Map(a.map((o) => [o.name, o]));
    const bm = new Map(b.map((o) => [o.name, o]));
    const names = [...new Set([...am.keys(), ...bm.keys()])];
    return names.flatMap((n) => fieldDiff(am.get(n), bm.get(n), `${path}[${n}]`));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const entry: Change['diff'][number] = { path: path || '.' };
  // Compared as stored, shown without passwords: a changed password is a change, but not shown.
  if (a !== undefined) entry.before = JSON.stringify(withoutPasswords(a));
  if (b !== undefined) entry.after = JSON.stringify(withoutPasswords(b));
  return [entry];
}

/** A copy with the password of every URL (a PostgreSQL source's `url`, in its user part or query) masked, for output. */
export function withoutPasswords<T>(x: T): T {
  if (typeof x === 'string') return (/^[a-z][a-z0-9+.-]*:\/\/([^/]*@|.*[?&]password=)/i.test(x) ? redact(x) : x) as T;
  if (Array.isArray(x)) return x.map(withoutPasswords) as T;
  if (isPlain(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, withoutPasswords(v)])) as T;
  return x;
}

const isPlain = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
const isNamedList = (x: unknown): x is Obj[] => Array.isArray(x) && x.every((o) => isPlain(o) && typeof o.name === 'string');
