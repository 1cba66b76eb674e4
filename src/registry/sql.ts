/**
 * Turns parsed filter comparisons into SQL fragments with bound parameters, the same on SQLite
 * and PostgreSQL: LIKE is case-sensitive on both (SQLite's LIKE is not, so it becomes GLOB there)
 * and ILIKE is case-insensitive on both.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../storage/metadata.js';
import type { Comparison } from './filter.js';

/** MLflow's LIKE pattern (% and _) as a GLOB pattern, with GLOB's own specials made literal. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const c of pattern) {
    if (c === '%') out += '*';
    else if (c === '_') out += '?';
    else if (c === '*' || c === '?' || c === '[') out += `[${c}]`;
    else out += c;
  }
  return out;
}

const NUMERIC_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);

/** `column <comparator> value` for one comparison; the column is a trusted identifier. */
export function compare(dialect: Dialect, column: string, c: Pick<Comparison, 'comparator' | 'value'>): RawBuilder<boolean> {
  const ref = sql.ref(column);
  switch (c.comparator) {
    case 'LIKE':
      return dialect === 'sqlite' ? sql<boolean>`${ref} GLOB ${likeToGlob(String(c.value))}` : sql<boolean>`${ref} LIKE ${String(c.value)}`;
    case 'ILIKE':
      return dialect === 'sqlite' ? sql<boolean>`lower(${ref}) LIKE lower(${String(c.value)})` : sql<boolean>`${ref} ILIKE ${String(c.value)}`;
    case 'IN':
      return sql<boolean>`${ref} IN (${sql.join((c.value as string[]).map((v) => sql`${v}`))})`;
    default:
      if (!NUMERIC_OPS.has(c.comparator)) throw new Error(`unexpected comparator ${c.comparator}`);
      // The operator comes from the fixed set above, never from user text.
      return sql<boolean>`${ref} ${sql.raw(c.comparator === '!=' ? '<>' : c.comparator)} ${c.value}`;
  }
}
