import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  chiSquareDrift,
  compareSortedSamples,
  countDistinctSorted,
  countDistinctUnionSorted,
  histogramSorted,
  jensenShannon,
  ks2Samp,
  ks2SampSorted,
  meanVariance,
  normedWasserstein,
  proportions,
  psi,
  sortedFinite,
  sturgesEdges,
  wassersteinDistance,
  EMPTY_BIN_SHARE,
} from '../../src/stats/index.js';
import { assertAllClose, assertClose, assertPValue, fixturePath, numbers, readFixtureCsv } from './helpers.js';

const expected = JSON.parse(readFileSync(fixturePath('drift_expected.json'), 'utf8'));
const ref = readFixtureCsv('reference.csv');
const cur = readFixtureCsv('current.csv');

/** Beyond the README's tolerance: p-values must also agree with SciPy to 1e-8 relative. */
function assertPValueTight(actual: number, exp: number, what: string): void {
  assertPValue(actual, exp, what);
  assertClose(actual, exp, `${what} (relative)`, 1e-8);
}

for (const [name, col] of Object.entries<any>(expected.columns).filter(([, c]) => c.type === 'numerical')) {
  describe(`numerical column ${name}`, () => {
    const a = numbers(ref[name]);
    const b = numbers(cur[name]);
    const sa = sortedFinite(a, name);
    const sb = sortedFinite(b, name);

    test('sizes, missing shares, distinct counts', () => {
      assert.equal(a.length, col.n_reference);
      assert.equal(b.length, col.n_current);
      assertClose(1 - a.length / ref[name].length, col.missing_share.reference, 'missing ref');
      assertClose(1 - b.length / cur[name].length, col.missing_share.current, 'missing cur');
      assert.equal(countDistinctSorted(sa), col.n_unique_reference);
      assert.equal(countDistinctUnionSorted(sa, sb), col.n_unique_combined);
    });

    test('KS, method auto (SciPy took the exact path)', () => {
      const r = ks2Samp(a, b);
      assert.equal(r.method, col.ks.method_used);
      assertClose(r.statistic, col.ks.statistic, 'D');
      assertPValueTight(r.pvalue, col.ks.pvalue, 'p');
      assert.equal(r.statisticLocation, col.ks.statistic_location);
      assert.equal(r.statisticSign, col.ks.statistic_sign);
    });

    test('KS, asymptotic p-value', () => {
      const r = ks2SampSorted(sa, sb, 'asymp');
      assert.equal(r.method, 'asymp');
      assertClose(r.statistic, col.ks_asymp.statistic, 'D');
      assertPValueTight(r.pvalue, col.ks_asymp.pvalue, 'p');
      assert.equal(r.statisticLocation, col.ks_asymp.statistic_location);
      assert.equal(r.statisticSign, col.ks_asymp.statistic_sign);
    });

    test('KS, exact on the first 40 / 30 values', () => {
      const x = Float64Array.from(col.ks_exact.reference_values as number[]);
      const y = Float64Array.from(col.ks_exact.current_values as number[]);
      assert.deepEqual(Array.from(x), Array.from(a.subarray(0, 40)));
      assert.deepEqual(Array.from(y), Array.from(b.subarray(0, 30)));
      const r = ks2Samp(x, y, 'exact');
      assertClose(r.statistic, col.ks_exact.statistic, 'D');
      assertPValueTight(r.pvalue, col.ks_exact.pvalue, 'p');
      assert.equal(r.statisticLocation, col.ks_exact.statistic_location);
      assert.equal(r.statisticSign, col.ks_exact.statistic_sign);
    });

    test('Wasserstein, raw and normed by the reference std', () => {
      assertClose(wassersteinDistance(a, b), col.wasserstein, 'W');
      assertClose(compareSortedSamples(sa, sb).wasserstein, col.wasserstein, 'W (merge)');
      assertClose(Math.sqrt(meanVariance(a).variance), col.reference_std_ddof0, 'std');
      assertClose(normedWasserstein(col.wasserstein, a), col.wasserstein_normed, 'W normed');
    });

    test('Sturges bins, counts, proportions, PSI, Jensen-Shannon', () => {
      const edges = sturgesEdges(Math.min(sa[0], sb[0]), Math.max(sa[sa.length - 1], sb[sb.length - 1]), a.length + b.length);
      assert.equal(edges.length - 1, col.binning.n_bins);
      assertAllClose(edges, col.binning.edges, 'edges');
      const rc = histogramSorted(sa, edges);
      const cc = histogramSorted(sb, edges);
      assert.deepEqual(Array.from(rc), col.binning.reference_counts);
      assert.deepEqual(Array.from(cc), col.binning.current_counts);
      const rp = proportions(rc, a.length, EMPTY_BIN_SHARE);
      const cp = proportions(cc, b.length, EMPTY_BIN_SHARE);
      assertAllClose(rp, col.binning.reference_proportions, 'ref p');
      assertAllClose(cp, col.binning.current_proportions, 'cur p');
      assertClose(psi(rp, cp), col.psi, 'psi');
      assertClose(jensenShannon(rp, cp), col.jensenshannon, 'js');
      assertClose(
        jensenShannon(proportions(rc, a.length), proportions(cc, b.length), 2),
        col.jensenshannon_evidently_base2,
        'js base 2 (Evidently)',
      );
    });
  });
}

function categoryCounts(cells: string[], keys: string[]): Float64Array {
  const index = new Map(keys.map((k, i) => [k, i]));
  const counts = new Float64Array(keys.length);
  for (const c of cells) if (c !== '') counts[index.get(c)!]++;
  return counts;
}

for (const [name, col] of Object.entries<any>(expected.columns).filter(([, c]) => c.type === 'categorical')) {
  test(`categorical column ${name}: counts, shares, chi-square, PSI, Jensen-Shannon`, () => {
    const keys = [...new Set([...ref[name], ...cur[name]].filter((c) => c !== ''))].sort();
    assert.deepEqual(keys, col.categories);
    const rc = categoryCounts(ref[name], keys);
    const cc = categoryCounts(cur[name], keys);
    assert.deepEqual(Array.from(rc), col.reference_counts);
    assert.deepEqual(Array.from(cc), col.current_counts);
    const rp = proportions(rc, col.n_reference, EMPTY_BIN_SHARE);
    const cp = proportions(cc, col.n_current, EMPTY_BIN_SHARE);
    assertAllClose(rp, col.reference_proportions, 'ref p');
    assertAllClose(cp, col.current_proportions, 'cur p');
    const chi = chiSquareDrift(rc, cc);
    assert.deepEqual(Array.from(cc), col.chisquare.observed);
    assertAllClose(chi.expected, col.chisquare.expected, 'expected');
    assert.equal(chi.dof, col.chisquare.dof);
    assertClose(chi.statistic, col.chisquare.statistic, 'chi2');
    assertPValueTight(chi.pvalue, col.chisquare.pvalue, 'chi2 p');
    assertClose(psi(rp, cp), col.psi, 'psi');
    assertClose(jensenShannon(rp, cp), col.jensenshannon, 'js');
    assertClose(
      jensenShannon(proportions(rc, col.n_reference), proportions(cc, col.n_current), 2),
      col.jensenshannon_evidently_base2,
      'js base 2',
    );
  });
}
