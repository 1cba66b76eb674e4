import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { MixtureSprt, meanDifference, normalQuantile, proportionDifference, sampleSizePerArm, tQuantile, welchTTest } from '../../src/stats/index.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** Moments of a sample, n − 1 variance. */
function moments(xs: number[]) {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  return { n, mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) };
}

test('quantiles, intervals and sample sizes match SciPy', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-9, 'norm.ppf(0.975)');
  close(tQuantile(0.975, 10), 2.228138851986274, 1e-9, 't.ppf(0.975, 10)');
  // 100/1000 against 130/1000, pooled: z = 2.102740605622114, p = 2·norm.sf(z) = 0.03548845046647471; Wald CI of the difference.
  const p = proportionDifference(100, 1000, 130, 1000);
  close(p.statistic, 2.102740605622114, 1e-9, 'z');
  close(p.pValue, 0.03548845046647471, 1e-9, 'p');
  close(p.ci[0], 0.03 - 1.959964 * Math.sqrt(0.09 / 1000 + 0.1131 / 1000), 1e-9, 'ci low');
  close(p.relative!, 0.3, 1e-12, 'relative lift');
  // scipy.stats.ttest_ind([2,4,6,8,10], [1,2,3,4,5], equal_var=False): t = 1.8974, p = 0.1075, df = 5.882.
  const m = meanDifference(moments([1, 2, 3, 4, 5]), moments([2, 4, 6, 8, 10]));
  close(m.statistic, 1.8973665961010275, 1e-9, 't');
  close(m.pValue, 0.10753119493062728, 1e-8, 'p');
  close(m.df, 5.882352941176471, 1e-9, 'df');
  assert.ok(m.ci[0] < 0 && m.ci[1] > 0);
  close(m.ci[1] - m.diff, tQuantile(0.975, m.df) * Math.sqrt(2.5 / 5 + 10 / 5), 1e-9, 'half width');
  assert.equal(welchTTest(Float64Array.of(2, 4, 6, 8, 10), Float64Array.of(1, 2, 3, 4, 5)).statistic, m.statistic);
  // The classic formula, evaluated with SciPy's quantiles: 14,751 per arm for 10% → 11%.
  assert.equal(sampleSizePerArm(0.1, 0.01, 0.05, 0.8), 14751);
  assert.throws(() => sampleSizePerArm(0.1, 0.95), /mde: 0\.95 must be non-zero and keep baseline \+ mde in \(0, 1\)/);
  assert.throws(() => sampleSizePerArm(1.2, 0.01), /baseline: 1\.2 must be a rate in \(0, 1\)/);
});

test('2,000 A/A experiments at alpha 0.05: fixed-horizon tests reject 3.5-6.5%, the sequential test checked every 100 outcomes at most 6.5%', () => {
  const rnd = mulberry32(2026);
  const runs = 2000;
  let z = 0;
  let welch = 0;
  let sequential = 0;
  for (let r = 0; r < runs; r++) {
    const n = 1000;
    let xa = 0;
    let xb = 0;
    const ra: number[] = [];
    const rb: number[] = [];
    const seq = new MixtureSprt(0.05, 10_000);
    for (let i = 0; i < n; i++) {
      const a = rnd() < 0.1 ? 1 : 0;
      const b = rnd() < 0.1 ? 1 : 0;
      xa += a;
      xb += b;
      // Rewards: exponential with mean 2 in both arms.
      ra.push(-2 * Math.log(1 - rnd()));
      rb.push(-2 * Math.log(1 - rnd()));
      seq.add(0, a);
      seq.add(1, b);
      if ((2 * (i + 1)) % 100 === 0) seq.check();
    }
    if (proportionDifference(xa, n, xb, n).pValue < 0.05) z++;
    if (meanDifference(moments(ra), moments(rb)).pValue < 0.05) welch++;
    if (seq.pValue < 0.05) sequential++;
  }
  for (const [name, hits] of [['z-test', z], ['Welch', welch]] as const) {
    assert.ok(hits / runs >= 0.035 && hits / runs <= 0.065, `${name} false-positive rate ${hits / runs}`);
  }
  assert.ok(sequential / runs <= 0.065, `sequential false-positive rate ${sequential / runs}`);
});

test('a planted 10% lift on a 10% baseline with 20,000 users per arm is detected by the fixed and the sequential test', () => {
  const rnd = mulberry32(11);
  const n = 20_000;
  const seq = new MixtureSprt(0.05, 10_000);
  let xa = 0;
  let xb = 0;
  for (let i = 0; i < n; i++) {
    const a = rnd() < 0.1 ? 1 : 0;
    const b = rnd() < 0.11 ? 1 : 0;
    xa += a;
    xb += b;
    seq.add(0, a);
    seq.add(1, b);
    if ((2 * (i + 1)) % 100 === 0) seq.check();
  }
  const fixed = proportionDifference(xa, n, xb, n);
  assert.ok(fixed.pValue < 0.05, `z-test p ${fixed.pValue}`);
  assert.ok(fixed.ci[0] > 0 && fixed.ci[0] < 0.01 && fixed.ci[1] > 0.01, `interval ${fixed.ci} holds the planted 0.01`);
  assert.ok(seq.pValue < 0.05, `sequential p ${seq.pValue}`);
});
