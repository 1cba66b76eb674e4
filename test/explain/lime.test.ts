import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { uniformBackground } from '../../src/explain/background.js';
import { lime } from '../../src/explain/lime.js';
import type { ModelFn } from '../../src/explain/types.js';

describe('LIME (tabular)', () => {
  const F = 10;
  const truth = new Float64Array(F);
  truth[1] = 3;
  truth[4] = -2;
  truth[8] = 0.5;
  const f: ModelFn = async (x, rows) => Float64Array.from({ length: rows }, (_, r) => truth.reduce((s, w, j) => s + w * x[r * F + j], 1.5));
  const random = mulberry32(4);
  const data = Float64Array.from({ length: 500 * F }, (_, i) => (random() - 0.5) * (1 + (i % F)) + (i % F));
  const bg = uniformBackground(data, 500, F);
  const x = data.slice(0, 2 * F);

  for (const topK of [3, 8]) {
    test(`recovers the weights of a sparse linear model (top ${topK})`, async () => {
      const result = await lime(f, 1, bg, x, 2, { topK, seed: 1 });
      for (let r = 0; r < 2; r++) {
        const w = result.weights.subarray(r * F, (r + 1) * F);
        for (let j = 0; j < F; j++) assert.ok(Math.abs(w[j] - truth[j]) <= 0.01 * Math.max(1, Math.abs(truth[j])), `row ${r} feature ${j}: ${w[j]} vs ${truth[j]}`);
        assert.equal(w.filter((v) => v !== 0).length, topK, 'top-k features kept');
        // base + Σ attributions is the local model at x, which for a linear model is f(x).
        const fx = (await f(x.subarray(r * F, (r + 1) * F), 1))[0];
        const local = result.values.subarray(r * F, (r + 1) * F).reduce((a, b) => a + b, result.base[r]);
        assert.ok(Math.abs(local - fx) < 0.05, `local model ${local} vs f(x) ${fx}`);
        assert.ok(result.score[r] > 0.999, `R² ${result.score[r]}`);
      }
    });
  }

  test('refuses too few samples', async () => {
    await assert.rejects(lime(f, 1, bg, x, 2, { samples: 3 }), /samples: 3/);
  });
});
