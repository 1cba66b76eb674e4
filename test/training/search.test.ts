import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelportError } from '../../src/core/errors.js';
import { bestSoFar, optimizeFunction } from '../../src/training/search/optimize.js';
import { ashaPruner, medianPruner } from '../../src/training/search/pruners.js';
import { readFileSync } from 'node:fs';
import { defaultGamma, defaultWeights, gridSampler, makeSampler, Parzen, randomSampler, scaleOf, tpeSampler, type TrialRecord } from '../../src/training/search/samplers.js';
import { parseSpace, type SearchSpace } from '../../src/training/search/space.js';

const refused = (raw: unknown, pattern: RegExp) =>
  assert.throws(() => parseSpace(raw, 'space.json'), (e: unknown) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message));

describe('search spaces', () => {
  test('bad spaces are refused naming the parameter and the problem', () => {
    refused({ eta: { type: 'float', low: 0.3, high: 0.1 } }, /parameter "eta": the range \[0.3, 0.1\] is empty/);
    refused({ eta: { type: 'float', low: 0, high: 1, log: true } }, /"eta": a log scale needs low > 0/);
    refused({ depth: { type: 'int', low: 1.5, high: 4 } }, /"depth": an int range needs whole-number bounds/);
    refused({ policy: { type: 'categorical', choices: [] } }, /"policy": "choices" must be a non-empty list/);
    refused({ leaves: { type: 'int', low: 2, high: 8, when: { policy: 'lossguide' } } }, /depends on "policy", which is not in the space/);
    refused({ x: { type: 'normal' } }, /type "normal" is not one of/);
    refused({}, /no parameters to search/);
  });

  test('conditional parameters are sampled only when their condition holds', async () => {
    const space = parseSpace({
      grow_policy: { choices: ['depthwise', 'lossguide'] },
      max_leaves: { type: 'int', low: 4, high: 64, when: { grow_policy: 'lossguide' } },
      eta: { type: 'loguniform', low: 0.01, high: 0.3 },
    });
    const trials = await optimizeFunction((p) => Number(p.eta), space, { sampler: tpeSampler(), trials: 40, seed: 1 });
    for (const t of trials) {
      assert.equal('max_leaves' in t.params, t.params.grow_policy === 'lossguide');
      assert.ok(Number(t.params.eta) >= 0.01 && Number(t.params.eta) <= 0.3);
      if ('max_leaves' in t.params) assert.ok(Number.isInteger(t.params.max_leaves));
    }
    assert.ok(trials.some((t) => t.params.grow_policy === 'lossguide') && trials.some((t) => t.params.grow_policy === 'depthwise'));
  });
});

describe('samplers', () => {
  test("Optuna's TPE defaults: γ(n) = min(⌈0.1·n⌉, 25); weights equal below 25 trials, a ramp before the newest 25", () => {
    assert.deepEqual([1, 10, 11, 100, 300].map(defaultGamma), [1, 1, 2, 10, 25]);
    assert.deepEqual(defaultWeights(3), [1, 1, 1]);
    const w = defaultWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs(w[0] - 1 / 30) < 1e-12);
    assert.deepEqual(w.slice(5), new Array(25).fill(1));
    // numpy.linspace(1/n, 1, n − 25): the ramp ends at 1.
    assert.ok(Math.abs(w[4] - 1) < 1e-12 && w[1] > w[0] && w[1] < 1);
  });

  test("Parzen estimators give Optuna 3.1's log-densities: floats, log floats, integer cells, steps, choices, the weights ramp, joint kernels", () => {
    // Made by test/fixtures/tpe/make_parzen.py with Debian's python3-optuna 3.1.
    const cases = JSON.parse(readFileSync(new URL('../fixtures/tpe/optuna-3.1-parzen.json', import.meta.url), 'utf8')) as {
      name: string;
      joint: boolean;
      space: SearchSpace;
      observations: Record<string, (number | string)[]>;
      x: Record<string, (number | string)[]>;
      logPdf: number[];
    }[];
    assert.equal(cases.length, 9);
    for (const c of cases) {
      const names = Object.keys(c.space);
      const scales = names.map((name) => scaleOf(c.space[name]));
      const rows = (values: Record<string, (number | string)[]>) => values[names[0]].map((_, i) => names.map((name, d) => scales[d].encode(values[name][i])));
      const parzen = new Parzen(rows(c.observations), scales.map((s) => s.dim), 1, c.joint);
      rows(c.x).forEach((x, i) => assert.ok(Math.abs(parzen.logPdf(x) - c.logPdf[i]) < 1e-6, `${c.name}, point ${i}: ${parzen.logPdf(x)} vs Optuna ${c.logPdf[i]}`));
    }
  });

  test('an integer range that does not end on its step yields only values on the grid', async () => {
    const scale = scaleOf({ type: 'int', low: 0, high: 10, step: 3 });
    // The estimator's range ends half a step past the last value on the grid, 9, as Optuna's does.
    assert.deepEqual(scale.dim, { kind: 'numeric', low: -1.5, high: 10.5, cell: (scale.dim as { cell: unknown }).cell });
    assert.deepEqual([-1.5, 1.4, 1.6, 8.9, 10.49, 11.4].map((x) => scale.decode(x)), [0, 0, 3, 9, 9, 9]);
    const trials = await optimizeFunction((p) => -Number(p.d), { d: { type: 'int', low: 0, high: 10, step: 3 } }, { sampler: tpeSampler(), trials: 40, seed: 4 });
    assert.deepEqual([...new Set(trials.map((t) => t.params.d))].sort((a, b) => Number(a) - Number(b)), [0, 3, 6, 9]);
  });

  test('TPE ranks pruned trials after complete ones, by the last step they reached', async () => {
    const space: SearchSpace = { x: { type: 'float', low: 0, high: 1 } };
    const trial = (number: number, state: TrialRecord['state'], x: number, value?: number, steps: [number, number][] = []): TrialRecord => ({ number, state, params: { x }, value, intermediate: new Map(steps) });
    // 10 complete trials near x = 0.9 (γ(20) = 2 of them are "below"), 10 pruned ones near 0.1 that reported lower values.
    const trials = [...Array.from({ length: 10 }, (_, i) => trial(i, 'COMPLETE', 0.9 + i * 0.005, 5 + i)), ...Array.from({ length: 10 }, (_, i) => trial(10 + i, 'PRUNED', 0.1 + i * 0.005, undefined, [[3, 0]]))];
    let rand = 0;
    const seeded = () => ((rand = (rand * 16807 + 11) % 2147483647) / 2147483647);
    const draws = Array.from({ length: 20 }, () => Number(tpeSampler().sample(space, trials, 'minimize', seeded)!.x));
    // The complete trials are the best, so TPE keeps to them; a pruned trial's low value from round 3 does not count as a result.
    assert.ok(draws.filter((x) => x > 0.5).length >= 18, `draws ${draws.map((x) => x.toFixed(2)).join(' ')}`);
  });

  test('TPE beats random search on a standard test function (median best of 5 seeds × 50 trials)', async () => {
    // Rosenbrock in 2-D, minimum 0 at (1, 1), on [-5, 5]².
    const space: SearchSpace = { x: { type: 'float', low: -5, high: 5 }, y: { type: 'float', low: -5, high: 5 } };
    const rosenbrock = (p: Record<string, unknown>) => 100 * (Number(p.y) - Number(p.x) ** 2) ** 2 + (1 - Number(p.x)) ** 2;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const bestOf = async (sampler: typeof randomSampler, seed: number) => bestSoFar(await optimizeFunction(rosenbrock, space, { sampler, trials: 50, seed })).at(-1)!;
    const seeds = [1, 2, 3, 4, 5];
    const tpe = median(await Promise.all(seeds.map((s) => bestOf(tpeSampler(), s))));
    const random = median(await Promise.all(seeds.map((s) => bestOf(randomSampler, s))));
    assert.ok(tpe < random, `TPE median best ${tpe} vs random ${random}`);
    // The first 10 trials are TPE's random start-up: the same draws as the random sampler.
    const a = await optimizeFunction(rosenbrock, space, { sampler: tpeSampler(), trials: 10, seed: 9 });
    const b = await optimizeFunction(rosenbrock, space, { sampler: randomSampler, trials: 10, seed: 9 });
    assert.deepEqual(a.map((t) => t.params), b.map((t) => t.params));
  });

  test('multivariate TPE learns correlated parameters: better than independent TPE on a diagonal valley (median best of 80 seeds × 50 trials)', async () => {
    // Minimum 0 at x = y = 1 with c = "b"; good x values depend on y, which independent TPE cannot see.
    const space: SearchSpace = { x: { type: 'float', low: -5, high: 5 }, y: { type: 'float', low: -5, high: 5 }, c: { type: 'categorical', choices: ['a', 'b', 'c'] } };
    const valley = (p: Record<string, unknown>) => (Number(p.x) - Number(p.y)) ** 2 + 0.05 * (Number(p.x) + Number(p.y) - 2) ** 2 + (p.c === 'b' ? 0 : 1);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // Ten seeds are too few to tell the two apart: single runs' best values spread over two orders of magnitude.
    const seeds = Array.from({ length: 80 }, (_, i) => i + 1);
    const medianBest = async (multivariate: boolean) =>
      median(await Promise.all(seeds.map(async (seed) => bestSoFar(await optimizeFunction(valley, space, { sampler: tpeSampler({ multivariate }), trials: 50, seed })).at(-1)!)));
    const joint = await medianBest(true);
    const independent = await medianBest(false);
    assert.ok(joint < independent, `multivariate median best ${joint} vs independent ${independent}`);
  });

  test('multivariate TPE keeps conditional parameters to their condition, and only TPE takes the option', async () => {
    const space = parseSpace({
      grow_policy: { choices: ['depthwise', 'lossguide'] },
      max_leaves: { type: 'int', low: 4, high: 64, when: { grow_policy: 'lossguide' } },
      eta: { type: 'loguniform', low: 0.01, high: 0.3 },
      max_depth: { type: 'int', low: 2, high: 8 },
    });
    const objective = (p: Record<string, unknown>) => Number(p.eta) * Number(p.max_depth) + (p.grow_policy === 'lossguide' ? Number(p.max_leaves) / 64 : 0.5);
    const trials = await optimizeFunction(objective, space, { sampler: tpeSampler({ multivariate: true }), trials: 30, seed: 3 });
    for (const t of trials) {
      assert.equal('max_leaves' in t.params, t.params.grow_policy === 'lossguide');
      assert.ok(Number(t.params.eta) >= 0.01 && Number(t.params.eta) <= 0.3);
      assert.ok(Number.isInteger(t.params.max_depth) && Number(t.params.max_depth) >= 2 && Number(t.params.max_depth) <= 8);
    }
    assert.equal(tpeSampler({ multivariate: true }).name, 'tpe-multivariate');
    assert.throws(() => makeSampler('random', space, { multivariate: true }), /multivariate sampling is a TPE option; sampler "random"/);
  });

  test('grid sampler visits every point once, then has nothing left', async () => {
    const space = parseSpace({ max_depth: { type: 'int', low: 2, high: 4 }, policy: { choices: ['depthwise', 'lossguide'] } });
    const grid = gridSampler(space);
    assert.equal(grid.size, 6);
    const trials = await optimizeFunction(() => 0, space, { sampler: grid, trials: 10 });
    assert.equal(trials.length, 6);
    assert.equal(new Set(trials.map((t) => `${t.params.max_depth}/${t.params.policy}`)).size, 6);
    assert.throws(() => gridSampler(parseSpace({ eta: { type: 'float', low: 0.1, high: 0.3 } })), /continuous range; give it as/);
  });
});

function trialWith(number: number, values: number[], state: TrialRecord['state'] = 'COMPLETE'): TrialRecord {
  return { number, state, params: {}, value: values.at(-1), intermediate: new Map(values.map((v, i) => [i, v])) };
}

describe('pruners', () => {
  test('median: no pruning before 5 complete trials; then prune when the best so far is worse than the median at that step', () => {
    const pruner = medianPruner();
    const done = [0.1, 0.2, 0.3, 0.4, 0.5].map((v, i) => trialWith(i, [v + 0.5, v]));
    const bad = trialWith(9, [0.9], 'RUNNING');
    assert.equal(pruner.shouldPrune(bad, 0, done.slice(0, 4), 'minimize'), false);
    // Median at step 0 of the complete trials is 0.8; 0.9 is worse (minimising).
    assert.equal(pruner.shouldPrune(bad, 0, done, 'minimize'), true);
    const good = trialWith(10, [0.7], 'RUNNING');
    assert.equal(pruner.shouldPrune(good, 0, done, 'minimize'), false);
    // Maximising flips it: 0.9 is better than the median.
    assert.equal(pruner.shouldPrune(bad, 0, done, 'maximize'), false);
  });

  test('ASHA (η = 4): at a rung only the top quarter goes on', () => {
    const pruner = ashaPruner({ minResource: 1 });
    // Rungs at steps (1-based) 1, 4, 16: step indices 0, 3, 15.
    const others = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7].map((v, i) => trialWith(i, [v, v, v, v]));
    const mid = trialWith(20, [0.35, 0.35], 'RUNNING');
    assert.equal(pruner.shouldPrune(mid, 1, [...others, mid], 'minimize'), false, 'step 2 is not a rung');
    assert.equal(pruner.shouldPrune(mid, 0, [...others, mid], 'minimize'), true, '8 values at the rung: only the best 2 are promoted');
    const top = trialWith(21, [0.15], 'RUNNING');
    assert.equal(pruner.shouldPrune(top, 0, [...others, top], 'minimize'), false);
    // With no completed trial, "auto" cannot set the minimum resource yet.
    assert.equal(ashaPruner().shouldPrune(mid, 0, [mid], 'minimize'), false);
  });
});
