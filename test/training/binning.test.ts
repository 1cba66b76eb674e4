import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/core/random.js';
import { binMatrix, binRows, computeCuts } from '../../src/training/gbdt/binning.js';
import { sketchCuts } from '../../src/training/gbdt/sketch.js';

test('more distinct values than bins: the cuts XGBoost\'s sketch prunes to, ranks of ties kept together', () => {
  // 12 values (a NaN is not counted), 8 distinct, 4 bins: the prune to 5 entries aims at ranks
  // 4 + 7k/4 and keeps the values 1, 3, 4, 6 and 8; the minimum is no cut.
  const x = Float32Array.of(3, 1, 8, NaN, 1, 5, 2, 7, 1, 4, 3, 6, 1);
  const { values, offsets } = computeCuts(x, x.length, 1, 4);
  assert.deepEqual(Array.from(offsets), [0, 4]);
  assert.deepEqual(Array.from(values), [3, 4, 6, Math.fround(8 + 8 + 1e-5)]);
});

test('few distinct values get one bin each', () => {
  const x = Float32Array.of(2, -1, 2, 0.5, -1);
  assert.deepEqual(Array.from(computeCuts(x, x.length, 1, 4).values), [0.5, 2, Math.fround(2 + 2 + 1e-5)]);
});

test('few distinct values: -0 and 0 are one value, -0 when the column holds one, as a sort puts it first', () => {
  const cuts = (...v: number[]) => Array.from(computeCuts(Float32Array.from(v), v.length, 1, 4).values.subarray(0, -1));
  for (const v of [[-1, 0, -0, 1], [-1, -0, 0, 1], [-0, -1, 1, -0]]) assert.ok(Object.is(cuts(...v)[0], -0), `${v}`);
  assert.ok(Object.is(cuts(-1, 0, 1, 0)[0], 0));
  assert.deepEqual(cuts(0, -0, 2), [2]);
});

test('sketched columns, of a few thousand values and past 65,536, give the cuts of a plain float sort', () => {
  const r = mulberry32(3);
  // Negative and positive values of every size, subnormals, -0 beside 0, runs of ties.
  const value = () => {
    const u = r();
    if (u < 0.05) return r() < 0.5 ? -0 : 0;
    if (u < 0.1) return (r() - 0.5) * 1e-40;
    if (u < 0.2) return Math.round(r() * 20) - 10;
    return (r() - 0.4) * 10 ** Math.floor(r() * 12 - 6);
  };
  for (const n of [5_000, 70_000]) {
    const x = Float32Array.from({ length: n }, value);
    const cuts = computeCuts(x, n, 1, 256).values;
    const plain = sketchCuts(x.slice(), n, 256, (a, from, to) => void a.subarray(from, to).sort());
    assert.ok(plain.cuts.length > 200, `${n}`);
    assert.deepEqual(Array.from(cuts.subarray(0, -1)), plain.cuts, `${n} rows`);
  }
});

test('bins hold missing values at the missing index and unseen categories in their own bin', () => {
  const rows = 7;
  // Feature 0 numeric, feature 1 categorical.
  const x = Float32Array.of(0.5, 3, 1.5, 1, NaN, 3, 2.5, NaN, 0.1, 1, 9, 2, 1.5, 3);
  const cuts = computeCuts(x, rows, 2, 256, [false, true]);
  const { bins, missing } = binMatrix(x, rows, 2, cuts);
  // Training saw categories 1, 2 and 3; 4 goes to the bin of unseen ones.
  const unseen = binMatrix(Float32Array.of(0.5, 4), 1, 2, cuts);
  assert.equal(unseen.bins[1], cuts.offsets[2] - 1);
  assert.equal(bins[2 * 2], missing);
  assert.equal(bins[3 * 2 + 1], missing);
  assert.deepEqual(Array.from(bins.subarray(0, 4)), [1, cuts.offsets[1] + 2, 2, cuts.offsets[1]]);
});

test('bins are 16-bit below 0x7ff0 bins in all and 32-bit from there', () => {
  // 256 distinct values in each of 128 features: 256 bins each, 32,768 in all.
  const rows = 256;
  const x = Float32Array.from({ length: rows * 128 }, (_, i) => Math.floor(i / 128));
  const cuts = computeCuts(x, rows, 128, 256);
  assert.equal(cuts.offsets[128], 32768);
  assert.ok(binMatrix(x, rows, 128, cuts).bins instanceof Uint32Array);
  assert.ok(binMatrix(x, rows, 127, computeCuts(x, rows, 127, 256)).bins instanceof Uint16Array);
});

test('cuts of few distinct values are those values sorted, whatever digits the values share', () => {
  const rand = mulberry32(7);
  // Values in [1, 2) share their top bits (a radix digit that moves nothing); mixed signs share none.
  for (const value of [() => 1 + Math.floor(rand() * 255) / 512, () => Math.round((rand() - 0.5) * 2000) * 1.5 + 0.25, () => 2 ** Math.floor(rand() * 40 - 20)]) {
    const x = Float32Array.from({ length: 5000 }, value);
    const distinct = [...new Set(x)].sort((a, b) => a - b);
    const { values } = computeCuts(x, x.length, 1, 4096);
    const max = distinct[distinct.length - 1];
    assert.deepEqual(Array.from(values), [...distinct.slice(1), Math.fround(max + Math.abs(max) + 1e-5)]);
  }
});

test('each value goes to the first cut above it, values beyond the cuts to the last bin, on any rows', () => {
  const rand = mulberry32(3);
  const numFeature = 3;
  const train = Float32Array.from({ length: 3000 }, (_, i) => (i % numFeature === 1 ? Math.floor(rand() * 20) : (rand() - 0.3) * 100));
  const cuts = computeCuts(train, 1000, numFeature, 64, [false, true, false]);
  // Below, between, on and above the cuts, ±0 and missing; enough rows that bins are looked up in tables as well as searched.
  const rows = 150_000;
  const special = [0, -0, -1e30, 1e30, Infinity, -Infinity, 1e-40, -1e-40];
  const x = Float32Array.from({ length: rows * numFeature }, (_, i) =>
    i % 97 === 0 ? NaN : i % 89 === 0 ? special[i % special.length] : i % 5 === 0 ? cuts.values[i % cuts.values.length] : (i % numFeature === 1 ? Math.floor(rand() * 25) : (rand() - 0.5) * 400),
  );
  const { bins, missing } = binMatrix(x, rows, numFeature, cuts);
  for (let i = 0; i < x.length; i++) {
    const f = i % numFeature;
    const lo = cuts.offsets[f];
    const last = cuts.offsets[f + 1] - 1;
    let want = x[i] !== x[i] ? missing : last;
    if (x[i] === x[i]) for (let b = lo; b < last; b++) if (f === 1 ? cuts.values[b] === x[i] : cuts.values[b] > x[i]) { want = b; break; }
    if (bins[i] !== want) assert.fail(`cell ${i} (${x[i]}): bin ${bins[i]}, not ${want}`);
  }
  const parts = new Uint16Array(bins.length);
  binRows(x, numFeature, cuts, parts, 200, rows);
  binRows(x, numFeature, cuts, parts, 0, 200);
  assert.deepEqual(parts, bins);
});
