import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export function readJson<T = Record<string, unknown>>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixture(...parts), 'utf8')) as T;
}

/** A fixture CSV: header of column names, float cells, the literal NaN for a missing value. */
export function readCsv(...parts: string[]): { names: string[]; rows: number; columns: Float64Array[]; matrix: Float64Array } {
  const lines = readFileSync(fixture(...parts), 'utf8').trim().split('\n');
  const names = lines[0].split(',');
  const rows = lines.length - 1;
  const columns = names.map(() => new Float64Array(rows));
  const matrix = new Float64Array(rows * names.length);
  lines.slice(1).forEach((line, r) => {
    line.split(',').forEach((cell, j) => {
      const v = cell === 'NaN' ? NaN : Number(cell);
      columns[j][r] = v;
      matrix[r * names.length + j] = v;
    });
  });
  return { names, rows, columns, matrix };
}

/** |actual - expected| <= rel * |expected| + abs, element by element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= rel * Math.abs(e) + abs, `${what}[${i}]: ${a} vs expected ${e}`);
  }
}
