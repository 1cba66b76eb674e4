import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixturePath = (name: string) =>
  fileURLToPath(new URL(`../fixtures/drift/${name}`, import.meta.url));

/** The fixture CSVs are plain (no quotes); empty cells are missing. */
export function readFixtureCsv(name: string): Record<string, string[]> {
  const [header, ...rows] = readFileSync(fixturePath(name), 'utf8').trim().split('\n');
  const names = header.split(',');
  const out: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const row of rows) row.split(',').forEach((v, i) => out[names[i]].push(v));
  return out;
}

export const numbers = (cells: string[]) => Float64Array.from(cells.filter((c) => c !== '').map(Number));

/** Statistics: relative 1e-6, absolute 1e-12 where the expected value is 0 (fixture README). */
export function assertClose(actual: number, expected: number, what: string, rel = 1e-6): void {
  const tol = expected === 0 ? 1e-12 : rel * Math.abs(expected);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** p-values: 1e-6 absolute or relative, whichever is larger (fixture README). */
export function assertPValue(actual: number, expected: number, what: string): void {
  const tol = Math.max(1e-6, 1e-6 * Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
}

export function assertAllClose(actual: ArrayLike<number>, expected: number[], what: string, rel = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assertClose(actual[i], expected[i], `${what}[${i}]`, rel);
}
