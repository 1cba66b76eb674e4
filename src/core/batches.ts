/**
 * Long id lists go to the database in slices: one `in (...)` list or multi-row insert per slice
 * keeps every statement far below SQLite's and PostgreSQL's bound-parameter limits.
 */
export const SQL_BATCH = 400;

/** `items` in consecutive slices of at most `size`. */
export function* batches<T>(items: readonly T[], size = SQL_BATCH): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
