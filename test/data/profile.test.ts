/** Profile numbers checked against values computed here, independently, from the same rows. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckSession, describeSource, readerSql, resolveSource } from '../../src/data/source.js';
import { profileRelation, rawColumns, QUANTILES } from '../../src/data/profile.js';
import { loadColumns } from '../../src/data/memory.js';
import type { ColumnProfile, Profile } from '../../src/data/types.js';
import { tempDir } from '../helpers/services.js';

const LOANS = fileURLToPath(new URL('../fixtures/loans/loans.csv', import.meta.url));

function readLoans(): Record<string, string[]> {
  const [header, ...lines] = readFileSync(LOANS, 'utf8').trim().split('\n');
  const names = header.split(',');
  const cols: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const line of lines) line.split(',').forEach((v, i) => cols[names[i]].push(v));
  return cols;
}

/** numpy.quantile's default ("linear") on sorted values. */
function quantile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

function moments(xs: number[]) {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return { mean, std };
}

/** Ten equal-width buckets; the first includes min, each includes its upper edge. */
function histogram(xs: number[]): number[] {
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const edges = Array.from({ length: 11 }, (_, k) => (k === 10 ? max : min + ((max - min) * k) / 10));
  const counts = new Array(10).fill(0);
  for (const x of xs) {
    let k = 1;
    while (k < 10 && x > edges[k]) k++;
    counts[k - 1]++;
  }
  return counts;
}

function topValues(values: string[], n: number) {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([value, count]) => ({ value, count }));
}

const close = (actual: number | undefined, expected: number, what: string, rel = 1e-9) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('profiles of loans.csv', () => {
  let session: DuckSession;
  let profile: Profile;
  const cols = readLoans();
  const col = (name: string) => profile.columns.find((c) => c.name === name) as ColumnProfile;

  before(async () => {
    session = await DuckSession.open();
    const source = resolveSource(LOANS);
    profile = await profileRelation(session, readerSql(source), rawColumns(await describeSource(session, source)));
  });
  after(() => session.close());

  test('row and column counts, types', () => {
    assert.equal(profile.rowCount, 20000);
    assert.equal(profile.columnCount, 13);
    assert.deepEqual(
      profile.columns.map((c) => c.type),
      ['string', 'int', 'timestamp', 'float', 'int', 'float', 'float', 'float', 'int', 'int', 'string', 'string', 'int'],
    );
  });

  for (const name of ['amount', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years']) {
    test(`numeric column ${name}: moments, quantiles, histogram, distinct`, () => {
      const xs = cols[name].map(Number);
      const sorted = [...xs].sort((a, b) => a - b);
      const p = col(name);
      const { mean, std } = moments(xs);
      assert.equal(p.count, 20000);
      assert.equal(p.missing, 0);
      assert.equal(p.min, sorted[0]);
      assert.equal(p.max, sorted.at(-1));
      close(p.mean, mean, 'mean');
      close(p.std, std, 'std');
      assert.deepEqual(p.quantiles!.map((q) => q.q), [...QUANTILES]);
      for (const q of p.quantiles!) close(q.value, quantile(sorted, q.q), `q${q.q}`);
      assert.deepEqual(p.histogram!.map((b) => b.count), histogram(xs));
      assert.equal(p.histogram![0].low, sorted[0]);
      assert.equal(p.histogram![9].high, sorted.at(-1));
      assert.equal(p.distinct, new Set(xs).size);
    });
  }

  test('categorical columns: distinct, top values and the full value counts', () => {
    for (const name of ['home_ownership', 'purpose', 'loan_id']) {
      const p = col(name);
      assert.equal(p.distinct, new Set(cols[name]).size, name);
      assert.deepEqual(p.topValues, topValues(cols[name], 20), name);
      assert.deepEqual(p.categories, topValues(cols[name], 1000), name);
    }
    assert.equal(col('purpose').min, 'credit_card');
    assert.equal(col('purpose').max, 'small_business');
  });

  test('int top values read as whole numbers', () => {
    assert.deepEqual(col('term_months').topValues, topValues(cols.term_months, 20));
    assert.deepEqual(col('defaulted').topValues, topValues(cols.defaulted, 20));
  });

  test('timestamps: min and max', () => {
    const p = col('event_timestamp');
    assert.equal(p.min, '2025-01-01 00:02:20+00');
    assert.equal(p.max, '2025-06-30 23:36:02+00');
    assert.equal(p.distinct, new Set(cols.event_timestamp).size);
  });
});

describe('profiles with missing values, NaN and a constant column', () => {
  test('missing share, NaN left out of the statistics, constant histogram', async () => {
    const session = await DuckSession.open();
    try {
      const rel = await loadColumns(session, [
        { name: 'x', values: new Float64Array([1, 2, NaN, 4, 10]) },
        { name: 'k', values: [7, 7, 7, 7, 7] },
        { name: 's', values: ['a', null, 'b', 'a', null] },
        { name: 'flag', values: [true, false, true, null, true] },
      ]);
      // NaN in a typed array means missing (the Batch convention); a NaN inside the data is counted apart.
      const p = await profileRelation(session, rel.from, [
        ...rel.columns.map((c) => ({ ...c, expr: `"${c.name}"` })),
        { name: 'nan', type: 'float', sourceType: 'DOUBLE', expr: `CASE WHEN "k" = 7 AND "x" = 2 THEN 'NaN'::DOUBLE ELSE "x" END` },
      ]);
      const [x, k, s, flag, nan] = p.columns;
      assert.equal(x.missing, 1);
      assert.equal(x.missingShare, 0.2);
      close(x.mean, (1 + 2 + 4 + 10) / 4, 'mean');
      close(x.std, moments([1, 2, 4, 10]).std, 'std');
      close(x.quantiles!.find((q) => q.q === 0.5)!.value, 3, 'median');
      assert.deepEqual(k.histogram, [{ low: 7, high: 7, count: 5 }]);
      assert.equal(k.std, 0);
      assert.equal(s.missing, 2);
      assert.deepEqual(s.categories, [{ value: 'a', count: 2 }, { value: 'b', count: 1 }]);
      assert.equal(flag.type, 'bool');
      assert.deepEqual(flag.topValues, [{ value: 'true', count: 3 }, { value: 'false', count: 1 }]);
      assert.equal(nan.nan, 1);
      assert.equal(nan.count, 4, 'a NaN is present, not missing');
      close(nan.mean, (1 + 4 + 10) / 3, 'mean without NaN');
    } finally {
      session.close();
    }
  });

  test('past the limits: t-digest quantiles, and no value counts for near-unique columns', async () => {
    const session = await DuckSession.open();
    try {
      const n = 5000;
      const xs = Float64Array.from({ length: n }, (_, i) => (i * 7919) % n);
      const rel = await loadColumns(session, [
        { name: 'x', values: xs },
        { name: 'id', values: Array.from({ length: n }, (_, i) => `id${i}`) },
        { name: 'g', values: Array.from({ length: n }, (_, i) => `g${i % 3}`) },
      ]);
      const cols = rel.columns.map((c) => ({ ...c, expr: `"${c.name}"` }));
      const p = await profileRelation(session, rel.from, cols, { exactRows: 1000, valueCountLimit: 100 });
      assert.equal(p.exact, false);
      const sorted = [...xs].sort((a, b) => a - b);
      for (const q of p.columns[0].quantiles!) assert.ok(Math.abs(q.value - quantile(sorted, q.q)) <= 0.01 * n, `q${q.q}: ${q.value}`);
      assert.equal(p.columns[0].distinct, n);
      assert.deepEqual(p.columns[0].topValues, []);
      assert.equal(p.columns[1].distinct, n);
      assert.equal(p.columns[1].categories, undefined);
      assert.deepEqual(p.columns[2].categories!.map((c) => c.count), [1667, 1667, 1666]);
      assert.equal((await profileRelation(session, rel.from, cols)).exact, true);
    } finally {
      session.close();
    }
  });

  test('a folder of CSV files is profiled as one table', async () => {
    const dir = tempDir('ds-folder');
    writeFileSync(join(dir, 'a.csv'), 'v,c\n1,x\n2,y\n');
    writeFileSync(join(dir, 'b.csv'), 'v,c\n3,x\n');
    writeFileSync(join(dir, '.hidden'), 'junk');
    writeFileSync(join(dir, '_SUCCESS'), '');
    const session = await DuckSession.open();
    try {
      const source = resolveSource(dir);
      assert.equal(source.kind, 'folder');
      assert.equal(source.files.length, 2);
      const p = await profileRelation(session, readerSql(source), rawColumns(await describeSource(session, source)));
      assert.equal(p.rowCount, 3);
      assert.equal(p.columns[0].mean, 2);
      assert.deepEqual(p.columns[1].categories, [{ value: 'x', count: 2 }, { value: 'y', count: 1 }]);
    } finally {
      session.close();
    }
  });
});
