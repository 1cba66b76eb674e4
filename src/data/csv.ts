/**
 * One CSV cell as DuckDB reads it back: null is an empty field, an empty string is `""`, and a
 * value holding a quote, comma or line break is quoted.
 */
export function csvCell(v: string | null): string {
  if (v === null) return '';
  return /[",\n\r]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v;
}
