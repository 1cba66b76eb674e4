/**
 * Long id lists go to the database in slices: one `in (...)` list or multi-row insert per slice
 * keeps every statement far below SQLite's and PostgreSQL's bound-parameter limits.
 */
export const SQL_BATCH = 400;

/** `items` in consecutive slices of at most `size`. */
export function* batches<T>(items: readonly T[], size = SQL_BATCH): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Every row of a table read a page at a time by keyset: `page(after, size)` answers up to `size`
 * rows ordered by key, all with keys after `after`, so a large table is never held whole and
 * rows rewritten in place are not met again.
 */
export async function* keysetRows<T, K>(page: (after: K, size: number) => Promise<T[]>, keyOf: (row: T) => K, start: K, size: number): AsyncGenerator<T> {
  for (let after = start; ; ) {
    const rows = await page(after, size);
    yield* rows;
    if (rows.length < size) return;
    after = keyOf(rows[rows.length - 1]);
  }
}
