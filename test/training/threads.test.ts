import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { sharedArray } from '../../src/core/shared-array.js';
import { computeCuts } from '../../src/training/gbdt/binning.js';
import { trainGbdt, type GbdtModel } from '../../src/training/gbdt/booster.js';
import { HistThreads } from '../../src/training/gbdt/hist-threads.js';
import type { NodeRows } from '../../src/training/gbdt/histogram.js';
import { xgboostJsonText } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import type { TrainingData } from '../../src/training/types.js';

/** Rows enough that the root and its large descendants are split between the threads; missing values and a categorical feature included. */
function table(rows: number, features: number): TrainingData {
  const rand = mulberry32(11);
  const x = new Float32Array(rows * features);
  const labels = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let f = 0; f < features; f++) {
      const v = f === 0 ? Math.floor(rand() * 9) : rand() < 0.05 ? NaN : rand() * 2 - 1;
      x[r * features + f] = v;
      if (f === 0) s += v % 3 === 0 ? 1 : -0.5;
      else if (v === v) s += v * (f % 3 === 0 ? 1 : 0.3);
    }
    labels[r] = rand() < 1 / (1 + Math.exp(-s)) ? 1 : 0;
  }
  return { rows, numFeature: features, featureNames: Array.from({ length: features }, (_, f) => `f${f}`), x, labels, categorical: Array.from({ length: features }, (_, f) => f === 0) };
}

/**
 * Fits with one thread and with two and asserts the same XGBoost JSON. CI once saw the last test
 * below differ and no rerun here has: a difference says where, and whether each kind of fit gives
 * the same trees again.
 */
async function assertSameTrees(fit: (threads: number) => Promise<GbdtModel>, label: string): Promise<GbdtModel> {
  const model = await fit(1);
  const one = xgboostJsonText(model);
  const two = xgboostJsonText(await fit(2));
  if (two === one) return model;
  let at = 0;
  while (one[at] === two[at]) at++;
  const tree = one.slice(0, at).split('"base_weights"').length - 2;
  const around = (text: string) => text.slice(Math.max(0, at - 120), at + 120);
  const again = async (threads: number, first: string) => (xgboostJsonText(await fit(threads)) === first ? 'the same' : 'different');
  assert.fail(`${label}: the fits differ from character ${at} (tree ${tree}): one thread …${around(one)}…, two …${around(two)}…; a second one-thread fit is ${await again(1, one)}, a second two-thread fit ${await again(2, two)}`);
}

test('a fit with a second histogram thread grows exactly the trees of one thread', async () => {
  const data = table(40_000, 9);
  for (const params of [{ max_depth: 6, n_estimators: 8 }, { grow_policy: 'lossguide', max_leaves: 31, max_depth: 0, n_estimators: 5, subsample: 0.8, colsample_bytree: 0.7 }]) {
    const one = await assertSameTrees((threads) => trainGbdt(data, gbdtParams(params), { threads }), JSON.stringify(params));
    assert.ok(one.trees.some((t) => t.categories.size > 0));
  }
});

test('with no padding in the rows of bins, the trees read their roots in the training bins and are those of one thread', async () => {
  const data = table(40_000, 8);
  for (const params of [{ max_depth: 5, n_estimators: 6 }, { max_depth: 4, n_estimators: 4, subsample: 0.7 }]) {
    await assertSameTrees((threads) => trainGbdt(data, gbdtParams(params), { threads }), JSON.stringify(params));
  }
});

test('every objective, with sample and class weights, grows the trees of one thread when the gradients are split between two', async () => {
  const base = table(40_000, 9);
  const rand = mulberry32(5);
  const weights = Float64Array.from({ length: base.rows }, () => 0.5 + rand());
  const cases: [Record<string, unknown>, Float64Array, number[] | undefined][] = [
    [{ objective: 'binary:logistic', scale_pos_weight: 3 }, base.labels, [1, 2]],
    [{ objective: 'reg:squarederror' }, base.labels.map((y, r) => y * 2 + (base.x[r * 9 + 1] || 0)), undefined],
    [{ objective: 'count:poisson' }, base.labels.map((y, r) => y + (r % 4)), undefined],
    [{ objective: 'multi:softprob', num_class: 3 }, base.labels.map((y, r) => y + (r % 7 === 0 ? 1 : 0)), [1, 0.5, 2]],
  ];
  for (const [params, labels, classWeights] of cases) {
    const data = { ...base, labels, weights };
    const p = gbdtParams({ max_depth: 4, n_estimators: 4, ...params });
    await assertSameTrees((threads) => trainGbdt(data, p, { threads, classWeights }), String(params.objective));
  }
});

test('the second thread really builds histograms, partitions rows, computes gradients and adds leaves when asked, and does nothing when not', async () => {
  const data = table(40_000, 9);
  const before = { ...HistThreads.posted };
  await trainGbdt(data, gbdtParams({ max_depth: 3, n_estimators: 2 }), { threads: 1 });
  assert.deepEqual(HistThreads.posted, before);
  await trainGbdt(data, gbdtParams({ max_depth: 3, n_estimators: 2 }), { threads: 2 });
  for (const kind of ['histograms', 'partitions', 'gradients', 'leaves'] as const) assert.ok(HistThreads.posted[kind] > before[kind], kind);
});

test('a job that throws in the second thread fails the fit with its error instead of hanging it', async () => {
  const data = table(2_000, 4);
  const cuts = computeCuts(data.x, data.rows, data.numFeature, 256, data.categorical, data.featureNames);
  // No bins: the thread's first read of them throws.
  const threads = await HistThreads.start([{ bins: null, gh: sharedArray(Float64Array, data.rows * 2) } as unknown as NodeRows], 4, cuts.offsets);
  try {
    threads.post(0, 0, 10, Int32Array.of(2, 3));
    assert.throws(() => threads.collect(new Float64Array((cuts.offsets[data.numFeature] + 1) * 2), Int32Array.of(2, 3)), /histogram thread of the fit failed: TypeError: Cannot read properties of null/);
  } finally {
    await threads.close();
  }
});

test('a partition whose count fails in the second thread fails the fit instead of waiting for the count', async () => {
  const data = table(2_000, 4);
  const cuts = computeCuts(data.x, data.rows, data.numFeature, 256, data.categorical, data.featureNames);
  const threads = await HistThreads.start([{ bins: null, gh: sharedArray(Float64Array, data.rows * 2) } as unknown as NodeRows], 4, cuts.offsets);
  try {
    threads.postPartition(0, 1, 0, 10, 20, 1, cuts.offsets[1] + 3, cuts.offsets[4] + 1, undefined);
    assert.throws(() => threads.exchangeCounts(4), /histogram thread of the fit failed: TypeError: Cannot read properties of null/);
  } finally {
    await threads.close();
  }
});
