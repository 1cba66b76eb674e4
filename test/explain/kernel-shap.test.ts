import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadModel } from '../../src/models/index.js';
import { mulberry32 } from '../../src/core/random.js';
import { summarize, uniformBackground, type Background } from '../../src/explain/background.js';
import { kernelShap } from '../../src/explain/kernel-shap.js';
import { chooseOutput, featureLayout, predictorFn } from '../../src/explain/tabular.js';
import type { ModelFn } from '../../src/explain/types.js';
import { assertClose, fixture } from '../models/helpers.js';

function normalMatrix(rows: number, features: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: rows * features }, (_, i) => (random() - 0.5) * 4 * (1 + (i % features)));
}

function linear(w: number[], bias: number): ModelFn {
  return async (x, rows) => Float64Array.from({ length: rows }, (_, r) => w.reduce((s, wj, j) => s + wj * x[r * w.length + j], bias));
}

/** The Shapley values of the interventional game v(S) = E_b[f(x_S, b_rest)], by brute force over every coalition. */
async function bruteForceShapley(f: ModelFn, bg: Background, x: Float64Array): Promise<Float64Array> {
  const M = bg.features;
  const subsets = 2 ** M;
  const synth = new Float64Array(subsets * bg.rows * M);
  for (let s = 0; s < subsets; s++) {
    for (let b = 0; b < bg.rows; b++) {
      for (let j = 0; j < M; j++) synth[(s * bg.rows + b) * M + j] = s & (1 << j) ? x[j] : bg.data[b * M + j];
    }
  }
  const out = await f(synth, subsets * bg.rows);
  const v = Float64Array.from({ length: subsets }, (_, s) => {
    let sum = 0;
    for (let b = 0; b < bg.rows; b++) sum += bg.weights[b] * out[s * bg.rows + b];
    return sum;
  });
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = new Float64Array(M);
  for (let s = 0; s < subsets; s++) {
    const size = s.toString(2).split('').filter((c) => c === '1').length;
    for (let j = 0; j < M; j++) {
      if (s & (1 << j)) continue;
      phi[j] += ((fact(size) * fact(M - size - 1)) / fact(M)) * (v[s | (1 << j)] - v[s]);
    }
  }
  return phi;
}

describe('KernelSHAP', () => {
  test('on a linear model equals w·(x − E[x]), enumerated and sampled', async () => {
    for (const F of [5, 12]) {
      const w = Array.from({ length: F }, (_, j) => (j % 3 === 0 ? -1 : 1) * (j + 1) * 0.5);
      const data = normalMatrix(200, F, 1);
      const bg = summarize(data, 200, F, { method: 'kmeans', size: 20, seed: 3 });
      const x = normalMatrix(3, F, 2);
      const mean = new Float64Array(F);
      for (let b = 0; b < bg.rows; b++) for (let j = 0; j < F; j++) mean[j] += bg.weights[b] * bg.data[b * F + j];
      const expected = Array.from({ length: 3 * F }, (_, i) => w[i % F] * (x[i] - mean[i % F]));
      for (const budget of [undefined, 3 * F]) {
        const result = await kernelShap(linear(w, 0.7), 1, bg, x, 3, { budget, seed: 5 });
        assertClose(result.values, expected, 0, 1e-9, `F=${F} budget=${budget ?? 'auto'}`);
        const ev = w.reduce((s, wj, j) => s + wj * mean[j], 0.7);
        assertClose(result.base, [ev, ev, ev], 0, 1e-9, 'base value = E[f]');
      }
    }
  });

  test('with every coalition enumerated equals the interventional Shapley values of a tree model', async () => {
    const predictor = await loadModel(fixture('xgb_cases', 'multi_softprob.json'), { threads: 0 });
    try {
      const layout = featureLayout(predictor.signature);
      const output = chooseOutput(predictor.signature, predictor.flavor);
      assert.deepEqual(output, { name: 'margin', groups: 3 });
      const f = predictorFn(predictor, layout, output);
      const expected = JSON.parse(readFileSync(fixture('xgb_cases', 'multi_softprob.expected.json'), 'utf8')) as { rows: (number | null)[][] };
      const rows = Float64Array.from(expected.rows.flat(), (v) => (v === null ? NaN : v));
      const F = layout.names.length;
      const bg = uniformBackground(rows.slice(0, 12 * F), 12, F);
      const x = rows.slice(20 * F, 22 * F);
      const result = await kernelShap(f, 3, bg, x, 2, { budget: 2 ** F - 2 });
      for (let r = 0; r < 2; r++) {
        for (let g = 0; g < 3; g++) {
          const perClass: ModelFn = async (m, n) => (await f(m, n)).filter((_, i) => i % 3 === g);
          const truth = await bruteForceShapley(perClass, bg, x.subarray(r * F, (r + 1) * F));
          const got = result.values.subarray((r * 3 + g) * F, (r * 3 + g + 1) * F);
          assertClose(got, truth, 0, 1e-6, `row ${r} class ${g}`);
        }
      }
      // Additivity: E[f] + Σφ = f(x).
      const fx = await f(x, 2);
      for (let i = 0; i < 6; i++) {
        const sum = result.values.subarray(i * F, (i + 1) * F).reduce((a, b) => a + b, result.base[i]);
        assert.ok(Math.abs(sum - fx[i]) < 1e-6, `row/class ${i}: ${sum} vs ${fx[i]}`);
      }
    } finally {
      await predictor.close();
    }
  });

  test('is deterministic for a seed and refuses a bad budget', async () => {
    const F = 14;
    const w = Array.from({ length: F }, (_, j) => j);
    const f: ModelFn = async (x, rows) => Float64Array.from({ length: rows }, (_, r) => Math.tanh(w.reduce((s, wj, j) => s + wj * x[r * F + j] * x[r * F + ((j + 1) % F)], 0)));
    const bg = summarize(normalMatrix(300, F, 7), 300, F, { method: 'random', size: 10, seed: 1 });
    assert.equal(bg.rows, 10);
    const x = normalMatrix(1, F, 8);
    const a = await kernelShap(f, 1, bg, x, 1, { budget: 200, seed: 11 });
    const b = await kernelShap(f, 1, bg, x, 1, { budget: 200, seed: 11 });
    assert.deepEqual(a.values, b.values);
    await assert.rejects(kernelShap(f, 1, bg, x, 1, { budget: 0 }), /budget: 0/);
  });
});
