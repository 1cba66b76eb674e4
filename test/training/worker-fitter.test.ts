import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { fit, resolveParams } from '../../src/training/fit.js';
import { WorkerFitter } from '../../src/training/search/worker-fitter.js';
import type { TrainingData } from '../../src/training/types.js';

function data(rows: number): TrainingData {
  const rand = mulberry32(3);
  const x = Float32Array.from({ length: rows * 4 }, () => rand() * 2 - 1);
  const labels = Float64Array.from({ length: rows }, (_, r) => (x[r * 4] + 0.5 * x[r * 4 + 1] + 0.3 * rand() > 0 ? 1 : 0));
  return { rows, numFeature: 4, featureNames: ['a', 'b', 'c', 'd'], x, labels };
}

test('a fit on the worker fitter reports its rounds through the event loop, which runs meanwhile; in-process it does not', async () => {
  const train = data(4000);
  const resolved = resolveParams('gbdt', { objective: 'binary:logistic', n_estimators: 5, max_depth: 3 });
  const fitter = new WorkerFitter();
  try {
    const seen: string[] = [];
    setImmediate(() => seen.push('immediate'));
    const fitted = await fitter.fit(resolved, train, { onRound: (r) => void seen.push(`round ${r.round}`) });
    assert.deepEqual(seen, ['immediate', 'round 0', 'round 1', 'round 2', 'round 3', 'round 4']);
    // The same trees as a fit in this thread, which holds the event loop until its last round.
    const inProcess: string[] = [];
    setImmediate(() => inProcess.push('immediate'));
    const here = await fit(resolved, train, { onRound: (r) => void inProcess.push(`round ${r.round}`) });
    assert.deepEqual(inProcess, ['round 0', 'round 1', 'round 2', 'round 3', 'round 4']);
    assert.deepEqual(fitted.gbdt, here.gbdt);
  } finally {
    await fitter.close();
  }
});

test('closing the worker fitter in the middle of a fit stops it and fails its promise; a later fit gets a fresh thread', async () => {
  const fitter = new WorkerFitter();
  let rounds = 0;
  const fitting = fitter.fit(resolveParams('gbdt', { objective: 'binary:logistic', n_estimators: 2000, max_depth: 6 }), data(20_000), {
    onRound: () => {
      if (++rounds === 1) void fitter.close();
    },
  });
  await assert.rejects(fitting, /the fit's thread stopped \(exit code 1\) before the fit ended/);
  assert.ok(rounds < 2000, `stopped after ${rounds} rounds`);
  try {
    const again = await fitter.fit(resolveParams('gbdt', { objective: 'binary:logistic', n_estimators: 2, max_depth: 2 }), data(1000));
    assert.equal(again.gbdt!.trees.length, 2);
  } finally {
    await fitter.close();
  }
});
