import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  chiSquareHomogeneity,
  chiSquareTest,
  jensenShannon,
  kolmogornSf,
  ks2Samp,
  twoProportionZTest,
  wassersteinDistance,
  welchTTest,
  type KsMethod,
} from '../../src/stats/index.js';
import { assertClose, assertPValue, fixturePath } from './helpers.js';

// SciPy 1.10.1 values for branches the drift fixture does not reach (test/fixtures/drift/make_stats_cases.py).
const cases = JSON.parse(readFileSync(fixturePath('stats_cases.json'), 'utf8'));

describe('kstwo survival function (every branch of SciPy _kolmogn)', () => {
  test('matches SciPy to 1e-9 relative (1e-14 absolute near 0)', () => {
    for (const [n, x, p] of cases.kstwo_sf as [number, number, number][]) {
      const got = kolmogornSf(n, x);
      const tol = Math.max(1e-14, 1e-9 * Math.abs(p));
      assert.ok(Math.abs(got - p) <= tol, `kstwo.sf(${x}, ${n}): got ${got}, SciPy ${p}`);
    }
  });
});

describe('ks_2samp on tied integer samples', () => {
  for (const c of cases.ks_2samp) {
    test(`${c.a.length} vs ${c.b.length}, method ${c.method}`, () => {
      const a = Float64Array.from(c.a as number[]);
      const b = Float64Array.from(c.b as number[]);
      const r = ks2Samp(a, b, c.method as KsMethod);
      assertClose(r.statistic, c.statistic, 'D');
      assertPValue(r.pvalue, c.pvalue, 'p');
      assertClose(r.pvalue, c.pvalue, 'p relative', 1e-8);
      assert.equal(r.statisticLocation, c.location);
      assert.equal(r.statisticSign, c.sign);
      assertClose(wassersteinDistance(a, b), c.wasserstein, 'W');
    });
  }
});

test('Welch t-test', () => {
  for (const c of cases.welch) {
    const r = welchTTest(Float64Array.from(c.a as number[]), Float64Array.from(c.b as number[]));
    assertClose(r.statistic, c.statistic, 't');
    assertClose(r.pvalue, c.pvalue, 'p', 1e-8);
  }
});

test('two-proportion z-test', () => {
  for (const c of cases.ztest) {
    const r = twoProportionZTest(c.x1, c.n1, c.x2, c.n2);
    assertClose(r.statistic, c.statistic, 'z');
    assertClose(r.pvalue, c.pvalue, 'p', 1e-8);
  }
});

test('chi-square test of homogeneity (2 x k)', () => {
  for (const c of cases.homogeneity) {
    const r = chiSquareHomogeneity(Float64Array.from(c.reference as number[]), Float64Array.from(c.current as number[]));
    assert.equal(r.dof, c.dof);
    assertClose(r.statistic, c.statistic, 'chi2');
    assertClose(r.pvalue, c.pvalue, 'p', 1e-8);
  }
});

test('chi-square goodness of fit, including p-values far below 1e-16', () => {
  for (const c of cases.chisquare) {
    const r = chiSquareTest(Float64Array.from(c.observed as number[]), Float64Array.from(c.expected as number[]));
    assertClose(r.statistic, c.statistic, 'chi2');
    assertClose(r.pvalue, c.pvalue, 'p', 1e-8);
  }
});

test('Jensen-Shannon distance with zeros, unnormalised input and base 2', () => {
  for (const c of cases.jensenshannon) {
    const got = jensenShannon(Float64Array.from(c.p as number[]), Float64Array.from(c.q as number[]), c.base ?? undefined);
    assertClose(got, c.value, 'js');
  }
});

test('bad input is an error, never NaN', () => {
  assert.throws(() => ks2Samp(new Float64Array(0), Float64Array.of(1)), /non-empty/);
  assert.throws(() => ks2Samp(Float64Array.of(1, Number.NaN), Float64Array.of(1)), /finite/);
  assert.throws(() => wassersteinDistance(Float64Array.of(Infinity), Float64Array.of(1)), /finite/);
  assert.throws(() => welchTTest(Float64Array.of(1), Float64Array.of(1, 2)), /at least 2/);
  assert.throws(() => chiSquareTest(Float64Array.of(1, 2), Float64Array.of(0, 3)), /positive/);
  assert.deepEqual(twoProportionZTest(5, 5, 7, 7), { statistic: 0, pvalue: 1 });
});
