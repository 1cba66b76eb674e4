import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { ModelportError } from '../../../src/core/errors.js';
import { readTable, type Table, type TableColumn } from '../../../src/data/read-table.js';
import { analyzeDrift, type ComputedColumn, type DriftReport, type DriftTable } from '../../../src/monitoring/drift/index.js';
import { mulberry32 as rng } from '../../../src/core/random.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/drift/${name}`, import.meta.url));
const expected = JSON.parse(readFileSync(fixture('drift_expected.json'), 'utf8'));
const clock = new ManualClock(Date.UTC(2025, 0, 2));

function close(actual: number, exp: number, what: string, rel = 1e-6): void {
  const tol = exp === 0 ? 1e-12 : rel * Math.abs(exp);
  assert.ok(Math.abs(actual - exp) <= tol, `${what}: got ${actual}, expected ${exp}`);
}

/** Every number anywhere in the report is finite: NaN would serialise as null and pass silently. */
function assertAllFinite(x: unknown, path = 'report'): void {
  if (typeof x === 'number') assert.ok(Number.isFinite(x), `${path} is ${x}`);
  else if (Array.isArray(x)) x.forEach((v, i) => assertAllFinite(v, `${path}[${i}]`));
  else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) assertAllFinite(v, `${path}.${k}`);
}

const col = (report: DriftReport, name: string) => {
  const c = report.columns.find((x) => x.column === name);
  assert.ok(c, `no column ${name}`);
  return c;
};
const computed = (report: DriftReport, name: string): ComputedColumn => {
  const c = col(report, name);
  assert.ok(c.computed, `column ${name} not computed: ${!c.computed && c.reason}`);
  return c;
};

const num = (name: string, values: number[]): TableColumn => ({ name, type: 'number', values: Float64Array.from(values) });
const txt = (name: string, values: (string | null)[]): TableColumn => ({ name, type: 'string', values });
const table = (source: string, ...columns: TableColumn[]): DriftTable => ({ source, rowCount: columns[0]?.values.length ?? 0, columns });


describe('drift on the fixture tables (5,000 vs 4,000 rows)', () => {
  let ref: Table;
  let cur: Table;
  let report: DriftReport;
  before(async () => {
    ref = await readTable(fixture('reference.csv'));
    cur = await readTable(fixture('current.csv'));
    report = analyzeDrift(ref, cur, {}, clock);
  });

  test("Evidently's default method, score and verdict per column", () => {
    for (const [name, exp] of Object.entries<any>(expected.columns)) {
      const c = computed(report, name);
      assert.equal(c.kind, exp.type);
      assert.equal(c.method, exp.evidently_default.test, name);
      assert.equal(c.methodSource, 'default');
      assert.equal(c.threshold, exp.evidently_default.threshold);
      close(c.score, exp.evidently_default.score, `${name} score`);
      assert.equal(c.drift, exp.evidently_default.drift, `${name} drift`);
    }
  });

  test('every statistic in the JSON result matches SciPy', () => {
    for (const [name, exp] of Object.entries<any>(expected.columns)) {
      const c = computed(report, name);
      close(c.reference.missingShare, exp.missing_share.reference, `${name} missing ref`);
      close(c.current.missingShare, exp.missing_share.current, `${name} missing cur`);
      close(c.missingShareChange, exp.missing_share.current - exp.missing_share.reference, `${name} missing change`);
      close(c.stats.psi, exp.psi, `${name} psi`);
      close(c.stats.jensenShannon, exp.jensenshannon, `${name} js`);
      close(c.stats.jensenShannonBase2, exp.jensenshannon_evidently_base2, `${name} js base 2`);
      if (exp.type === 'numerical') {
        assert.equal(c.stats.ks!.method, exp.ks.method_used);
        close(c.stats.ks!.statistic, exp.ks.statistic, `${name} ks D`);
        assert.ok(Math.abs(c.stats.ks!.pvalue - exp.ks.pvalue) <= Math.max(1e-6, 1e-6 * exp.ks.pvalue), `${name} ks p`);
        close(c.stats.wasserstein!, exp.wasserstein, `${name} W`);
        close(c.stats.wassersteinNormed!, exp.wasserstein_normed, `${name} W normed`);
        close(c.reference.std!, exp.reference_std_ddof0, `${name} std`);
        assert.equal(c.reference.distinct, exp.n_unique_reference);
        assert.equal(c.distribution.kind, 'bins');
        assert.deepEqual(c.distribution.reference, exp.binning.reference_counts);
        assert.deepEqual(c.distribution.current, exp.binning.current_counts);
      } else {
        assert.deepEqual(c.distribution, { kind: 'values', values: exp.categories, reference: exp.reference_counts, current: exp.current_counts });
        close(c.stats.chiSquare!.statistic, exp.chisquare.statistic, `${name} chi2`);
        close(c.stats.chiSquare!.pvalue, exp.chisquare.pvalue, `${name} chi2 p`);
      }
    }
    assertAllFinite(report);
  });

  test('dataset verdict: 3 of 7 columns drifted is below the 0.5 share, above 0.4', () => {
    assert.deepEqual(report.summary, { columns: 7, computed: 7, drifted: 3, share: 3 / 7, driftShare: 0.5, datasetDrift: false });
    assert.equal(report.generatedAt, '2025-01-02T00:00:00.000Z');
    assert.equal(analyzeDrift(ref, cur, { driftShare: 0.4 }, clock).summary.datasetDrift, true);
  });

  test('per-column and global overrides of method and threshold', () => {
    const r = analyzeDrift(ref, cur, { perColumn: { age: { method: 'psi', threshold: 0.01 }, region: { threshold: 0.2 } }, numMethod: 'ks' }, clock);
    const age = computed(r, 'age');
    assert.equal(age.method, 'psi');
    assert.equal(age.methodSource, 'override');
    close(age.score, expected.columns.age.psi, 'age psi');
    assert.equal(age.drift, true);
    const region = computed(r, 'region');
    assert.equal(region.method, 'jensenshannon');
    assert.equal(region.drift, false, 'JS 0.160 < 0.2');
    const score = computed(r, 'score');
    assert.equal(score.method, 'ks');
    assert.equal(score.rule, 'p_value <= threshold');
    assert.equal(score.drift, false);
    assert.equal(computed(r, 'income').drift, true);
    const all = analyzeDrift(ref, cur, { method: 'psi', threshold: 0.05 }, clock);
    assert.deepEqual(
      all.columns.filter((c) => c.computed && c.drift).map((c) => c.column),
      ['income', 'balance', 'region'],
    );
  });

  test('small reference (≤ 1,000 rows): KS for numerical, chi-square for categorical', () => {
    const head = (t: Table, n: number): DriftTable => ({
      source: t.source,
      rowCount: n,
      columns: t.columns.map((c) => (c.type === 'number' ? { ...c, values: c.values.slice(0, n) } : { ...c, values: c.values.slice(0, n) })),
    });
    const r = analyzeDrift(head(ref, 800), head(cur, 800), {}, clock);
    assert.deepEqual(
      r.columns.map((c) => [c.column, c.computed && c.method]),
      [['age', 'ks'], ['income', 'ks'], ['score', 'ks'], ['balance', 'ks'], ['tenure', 'ks'], ['region', 'chisquare'], ['channel', 'chisquare']],
    );
    assert.equal(computed(r, 'income').drift, true);
    assertAllFinite(r);
  });

  test('prediction drift is one more column, marked with its role', () => {
    const r = analyzeDrift(ref, cur, { predictionColumn: 'score' }, clock);
    assert.equal(col(r, 'score').role, 'prediction');
    assert.equal(col(r, 'age').role, 'feature');
    assert.equal(r.summary.computed, 7);
  });
});

describe('drift method choice for few distinct values', () => {
  const r = rng(1);
  const binary = (n: number, p: number) => Array.from({ length: n }, () => (r() < p ? 1 : 0));
  const small = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 4));

  test('binary → z-test, 3–5 values → chi-square (small reference); Jensen–Shannon when large', () => {
    const rep = analyzeDrift(
      table('ref', num('flag', binary(500, 0.3)), num('level', small(500)), txt('yes', binary(500, 0.5).map(String))),
      table('cur', num('flag', binary(400, 0.6)), num('level', small(400)), txt('yes', binary(400, 0.5).map(String))),
      {},
      clock,
    );
    assert.equal(computed(rep, 'flag').method, 'z');
    assert.equal(computed(rep, 'flag').drift, true);
    assert.equal(computed(rep, 'level').method, 'chisquare');
    assert.equal(computed(rep, 'level').distribution.kind, 'values');
    assert.equal(computed(rep, 'yes').method, 'z');
    const big = analyzeDrift(table('ref', num('flag', binary(2000, 0.3))), table('cur', num('flag', binary(2000, 0.3))), {}, clock);
    assert.equal(computed(big, 'flag').method, 'jensenshannon');
    assert.equal(computed(big, 'flag').drift, false);
  });
});

describe('bad input: clear errors or per-column reasons, never NaN', () => {
  const ok = num('x', [1, 2, 3, 4, 5, 6, 7]);

  const rejects = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message));

  test('mismatched columns are named', () => {
    const rep = analyzeDrift(table('a.csv', ok, num('only_ref', [1, 2, 3, 4, 5, 6, 7])), table('b.csv', ok, num('only_cur', [1, 2, 3, 4, 5, 6, 7])), {}, clock);
    assert.deepEqual(
      rep.columns.filter((c) => !c.computed).map((c) => !c.computed && c.reason),
      ['column "only_ref" is in a.csv but not in b.csv', 'column "only_cur" is in b.csv but not in a.csv'],
    );
    assert.equal(rep.summary.computed, 1);
    rejects(() => analyzeDrift(table('a.csv', num('p', [1])), table('b.csv', num('q', [1]))), /a\.csv and b\.csv have no column in common \(a\.csv: p; b\.csv: q\)/);
    rejects(() => analyzeDrift(table('a.csv', ok), table('b.csv', ok), { columns: ['x', 'nope'] }), /no column "nope"/);
  });

  test('empty windows', () => {
    rejects(() => analyzeDrift(table('a.csv', num('x', [])), table('b.csv', ok)), /a\.csv: no rows to compare/);
    rejects(() => analyzeDrift(table('a.csv', ok), table('b.csv', num('x', []))), /b\.csv: no rows to compare/);
  });

  test('all-missing columns', () => {
    const rep = analyzeDrift(
      table('a.csv', num('x', [NaN, NaN, NaN]), txt('t', [null, null, null])),
      table('b.csv', num('x', [1, 2, 3]), txt('t', ['a', null, 'b'])),
      {},
      clock,
    );
    assert.deepEqual(rep.columns.map((c) => !c.computed && c.reason), ['all values are missing in a.csv', 'all values are missing in a.csv']);
    assert.deepEqual(rep.summary, { columns: 2, computed: 0, drifted: 0, share: 0, driftShare: 0.5, datasetDrift: false });
  });

  test('constant columns give finite statistics, and notes', () => {
    const same = analyzeDrift(table('a', num('c', [5, 5, 5, 5]), txt('k', ['a', 'a'])), table('b', num('c', [5, 5, 5]), txt('k', ['a', 'a'])), {}, clock);
    const c = computed(same, 'c');
    assert.equal(c.method, 'z');
    assert.equal(c.score, 1);
    assert.equal(c.drift, false);
    assert.equal(c.stats.wassersteinNormed, 0);
    assert.equal(c.stats.ks!.pvalue, 1);
    assert.deepEqual(c.notes.slice(0, 2), ['reference is constant (5)', 'current is constant (5)']);
    assertAllFinite(same);
    const moved = analyzeDrift(table('a', num('c', [5, 5, 5, 5])), table('b', num('c', [6, 6, 6])), { method: 'wasserstein' }, clock);
    const m = computed(moved, 'c');
    assert.equal(m.score, 1000, 'distance 1 over the 0.001 std floor');
    assert.equal(m.drift, true);
    assert.ok(m.notes.some((n) => n.includes('t-test undefined')));
    assertAllFinite(moved);
  });

  test('non-numeric values in a numeric column', () => {
    const rep = analyzeDrift(
      table('a.csv', num('age', [30, 40, 50]), txt('score', ['1.5', 'N/A', '2.5', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21'])),
      table('b.csv', txt('age', ['31', 'abc', '45']), txt('score', ['1', '2'])),
      {},
      clock,
    );
    assert.equal(
      (col(rep, 'age') as { reason: string }).reason,
      'column "age" is numerical but b.csv has a non-numeric value "abc" (row 2); fix the data or declare the column categorical',
    );
    assert.match((col(rep, 'score') as { reason: string }).reason, /looks numerical but a\.csv has a non-numeric value "N\/A" \(row 2\)/);
    const asText = analyzeDrift(table('a.csv', num('age', [30, 40, 50])), table('b.csv', txt('age', ['31', 'abc', '45'])), { columnTypes: { age: 'categorical' } }, clock);
    assert.equal(computed(asText, 'age').kind, 'categorical');
    const parsed = analyzeDrift(table('a.csv', num('age', [30, 40, 50])), table('b.csv', txt('age', ['31', null, ' 45 '])), {}, clock);
    assert.deepEqual(computed(parsed, 'age').current.missing, 1);
  });

  test('infinite values count as missing', () => {
    const rep = analyzeDrift(table('a', num('x', [1, 2, Infinity, 3])), table('b', num('x', [1, 2, 3, -Infinity])), {}, clock);
    const c = computed(rep, 'x');
    assert.equal(c.reference.missing, 1);
    assert.ok(c.notes.includes('1 infinite value(s) in a treated as missing'));
  });

  test('bad options and methods that do not fit the column', () => {
    rejects(() => analyzeDrift(table('a', ok), table('b', ok), { driftShare: 0 }), /drift share must be in \(0, 1\]/);
    rejects(() => analyzeDrift(table('a', ok), table('b', ok), { threshold: -1 }), /threshold must be a finite number >= 0/);
    rejects(() => analyzeDrift(table('a', ok), table('b', ok), { method: 'median' as never }), /unknown method "median"/);
    const rep = analyzeDrift(table('a', txt('k', ['a', 'b'])), table('b', txt('k', ['a', 'b'])), { method: 'ks' }, clock);
    assert.equal((col(rep, 'k') as { reason: string }).reason, 'method ks does not apply to categorical column "k"');
    const one = analyzeDrift(table('a', txt('k', ['a', 'a'])), table('b', txt('k', ['a'])), { method: 'chisquare' }, clock);
    assert.match((col(one, 'k') as { reason: string }).reason, /Chi-square p-value is undefined for column "k" \(1 distinct value/);
  });
});
