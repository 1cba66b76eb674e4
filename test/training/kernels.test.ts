import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../src/core/random.js';
import { addIndexedRowsToHist, addRowsToHist, featureMajor, partitionIndexed } from '../../src/training/gbdt/histogram.js';
import { FloatSort, FitKernels } from '../../src/training/gbdt/kernels.js';
import { KERNELS_WASM } from '../../src/training/gbdt/kernels-wasm.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import { scanFeature } from '../../src/training/gbdt/tree.js';
// @ts-expect-error: a plain ESM script, shared with `npm run wasm`.
import { wasmBytes } from '../../scripts/wasm-assemble.mjs';

test('the kernels\' bytes are kernels.wat assembled (run `npm run wasm` after changing it)', async () => {
  const source = readFileSync(new URL('../../src/training/gbdt/kernels.wat', import.meta.url), 'utf8');
  const bytes = (await wasmBytes(source)) as Uint8Array;
  assert.equal(Buffer.from(bytes).toString('base64'), KERNELS_WASM);
});

/** 300 rows of 12 features, up to 40 bins a feature, some missing; their gradient pairs. */
function table() {
  const rand = mulberry32(21);
  const rows = 300;
  const numFeature = 12;
  const offsets = Array.from({ length: numFeature + 1 }, (_, f) => f * 40);
  const missing = offsets[numFeature];
  const bins = Uint16Array.from({ length: rows * numFeature }, (_, i) => (rand() < 0.08 ? missing : offsets[i % numFeature] + Math.floor(rand() * 40)));
  const gh = Float64Array.from({ length: rows * 2 }, () => Math.fround(rand() - 0.4) * (rand() < 0.01 ? 1e-30 : 1));
  return { rows, numFeature, missing, bins, gh, slots: (missing + 1) * 2 };
}

test('the WebAssembly histograms are the JavaScript loops\' sums bit for bit: rows in order and through indices, pooled or copied out', () => {
  const { rows, numFeature, bins, gh, slots } = table();
  const kernels = FitKernels.create(bins, rows, numFeature, slots)!;
  kernels.gh.set(gh);
  const order = Uint32Array.from({ length: rows }, (_, i) => (i * 37) % rows);
  kernels.rows.set(order);
  for (const features of [[...Array(numFeature).keys()], [6, 7, 8, 9, 10, 11], [2, 3, 4]]) {
    const f = Int32Array.from(features);
    const inOrder = new Float64Array(slots);
    addRowsToHist(inOrder, bins, numFeature, gh, 0, rows, f, f.length);
    const indexed = new Float64Array(slots);
    addIndexedRowsToHist(indexed, bins, numFeature, gh, order, 40, 250, f, f.length);
    for (const [expected, isInOrder, begin, end] of [[inOrder, true, 0, rows], [indexed, false, 40, 250]] as const) {
      const pooled = kernels.takeHist()!;
      assert.ok(kernels.build(pooled, begin, end, f, f.length, isInOrder));
      assert.deepEqual(pooled, expected, `pooled, features ${features}, in order ${isInOrder}`);
      const outside = new Float64Array(slots);
      assert.ok(kernels.build(outside, begin, end, f, f.length, isInOrder));
      assert.deepEqual(outside, expected, `copied out, features ${features}, in order ${isInOrder}`);
    }
  }
  // Features with gaps are left to the JavaScript loops.
  assert.equal(kernels.build(new Float64Array(slots), 0, rows, Int32Array.of(1, 3), 2, true), false);
});

test('32-bit bins get no kernels, and the pool runs out into plain arrays', () => {
  assert.equal(FitKernels.create(new Uint32Array(12), 4, 3, 10), undefined);
  const { rows, numFeature, bins, slots } = table();
  // 32 MB of pool at most: histograms of 3 MB leave room for ten.
  const big = 3 * 1024 * 1024 / 8;
  const kernels = FitKernels.create(bins, rows, numFeature, big)!;
  let pooled = 0;
  while (kernels.takeHist()) pooled++;
  assert.equal(pooled, 10);
  assert.ok(FitKernels.create(bins, rows, numFeature, slots)!.takeHist()!.every((v) => v === 0));
});

test('the WebAssembly partition moves the rows partitionIndexed moves, in the same order, and subtraction takes off pair by pair', () => {
  const { rows, numFeature, missing, bins, gh, slots } = table();
  const kernels = FitKernels.create(bins, rows, numFeature, slots)!;
  assert.deepEqual(kernels.columns, featureMajor(bins, rows, numFeature));
  const rand = mulberry32(4);
  const order = Uint32Array.from({ length: rows }, (_, i) => (i * 53) % rows);
  const mine = Uint32Array.from(order);
  kernels.rows.set(order);
  for (let split = 0; split < 20; split++) {
    const feature = split % numFeature;
    // A numeric split's directions (bins above a cut, the missing slot either way) or any set of categories.
    const right = new Uint8Array(missing + 1);
    const cut = feature * 40 + Math.floor(rand() * 40);
    for (let b = 0; b <= missing; b++) right[b] = split % 3 === 2 ? (rand() < 0.5 ? 1 : 0) : b > cut && (b < (feature + 1) * 40 || split % 2 === 0) ? 1 : 0;
    const begin = Math.floor(rand() * 100);
    const end = begin + Math.floor(rand() * (rows - begin));
    const column = featureMajor(bins, rows, numFeature).subarray(feature * rows, (feature + 1) * rows);
    const scratch = new Uint32Array(rows);
    const mid = partitionIndexed(mine, scratch, column, begin, end, right);
    mine.set(scratch.subarray(0, end - mid), mid);
    assert.equal(kernels.partition(begin, end, feature, right), mid, `split ${split}`);
    assert.deepEqual(kernels.rows, mine, `split ${split}`);
  }
  const large = kernels.takeHist()!;
  const small = kernels.takeHist()!;
  addRowsToHist(large, bins, numFeature, gh, 0, rows, Int32Array.from({ length: numFeature }, (_, f) => f), numFeature);
  addRowsToHist(small, bins, numFeature, gh, 0, 120, Int32Array.from({ length: numFeature }, (_, f) => f), numFeature);
  const expected = large.map((v, i) => v - small[i]);
  assert.ok(kernels.subtract(large, small));
  assert.deepEqual(large, expected);
  assert.equal(kernels.subtract(new Float64Array(slots), small), false);
});

test('the WebAssembly split scan finds scanFeature\'s split, bit for bit, ties and floors included', () => {
  const rand = mulberry32(17);
  const bins = 64;
  const kernels = FitKernels.create(new Uint16Array(12), 1, 12, (bins + 1) * 2)!;
  const hist = kernels.takeHist()!;
  const mine = new Float64Array(6);
  let found = 0;
  for (let round = 0; round < 3000; round++) {
    // Coarse gradients make equal gains; empty bins repeat a candidate; some rows are missing.
    const coarse = round % 3 === 0;
    let G = 0;
    let H = 0;
    for (let b = 0; b < bins; b++) {
      const empty = rand() < 0.3;
      const g = empty ? 0 : coarse ? Math.round((rand() - 0.5) * 8) / 4 : Math.fround((rand() - 0.5) * 10);
      const h = empty ? 0 : coarse ? Math.round(rand() * 4 + 1) / 4 : Math.fround(rand() * 3);
      hist[b * 2] = g;
      hist[b * 2 + 1] = h;
      G += g;
      H += h;
    }
    if (round % 2 === 0) {
      G += Math.fround(rand() - 0.5);
      H += Math.fround(rand() * 2);
    }
    const p = gbdtParams({ min_child_weight: [0, 1, 0.5, 5][round % 4], lambda: [1, 0, 3.5, 1e-31][Math.floor(round / 4) % 4] });
    const rootGain = Math.fround(round % 5 === 0 ? 0 : (G * G) / (H + 1));
    const floor = round % 7 === 0 ? 0.5 : -Infinity;
    const floorSum = round % 7 === 0 ? rootGain + 0.5 : -Infinity;
    const lo = round % 11;
    const hi = bins - (round % 5);
    const expected = scanFeature(hist, lo, hi, G, H, rootGain, p, floor, floorSum, mine);
    const got = kernels.scanPlain(hist, lo, hi, G, H, rootGain, Math.fround(p.min_child_weight), Math.fround(p.lambda), floor, floorSum);
    assert.equal(got, expected, `round ${round}`);
    if (expected) {
      found++;
      assert.deepEqual(kernels.scanned, mine, `round ${round}`);
    }
  }
  assert.ok(found > 2000, `${found} scans found a split`);
  assert.equal(kernels.scanPlain(new Float64Array((bins + 1) * 2), 0, bins, 1, 1, 0, 1, 1, -Infinity, -Infinity), undefined);
});

test('the WebAssembly radix sort orders floats as TypedArray#sort does, -0 before 0, at any length, longer arrays than it was made for included', () => {
  const rand = mulberry32(12);
  const sorter = new FloatSort(1000);
  const value = () => {
    const u = rand();
    if (u < 0.05) return rand() < 0.5 ? -0 : 0;
    if (u < 0.08) return rand() < 0.5 ? Infinity : -Infinity;
    if (u < 0.12) return (rand() - 0.5) * 1e-42;
    if (u < 0.3) return Math.round(rand() * 10) - 5;
    return (rand() - 0.5) * 10 ** Math.floor(rand() * 60 - 30);
  };
  for (const n of [0, 1, 2, 17, 5_000, 300_000, 40]) {
    const values = Float32Array.from({ length: n }, value);
    const expected = values.slice().sort();
    sorter.sort(values);
    assert.deepEqual(new Uint32Array(values.buffer), new Uint32Array(expected.buffer), `${n} values`);
  }
  // Values sharing their top bits (a digit that moves nothing) and all equal.
  for (const values of [Float32Array.from({ length: 1000 }, () => 1 + rand()), new Float32Array(100).fill(3)]) {
    const expected = values.slice().sort();
    sorter.sort(values);
    assert.deepEqual(values, expected);
  }
});
