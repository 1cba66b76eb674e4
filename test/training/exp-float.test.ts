import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expFloat } from '../../src/training/gbdt/objectives.js';

test('expFloat rounds to the float Math.exp rounds to', () => {
  // Every float in [-80.5, 88.7] was checked once (2.2·10⁹ of them, none differed); here a sample
  // of them, all floats near 0 and 1 (where the reduction's tables switch), and the edges.
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const check = (y: number) => assert.equal(Object.is(expFloat(y), Math.fround(Math.exp(y))), true, `exp(${y})`);
  for (let i = 0; i < 1 << 20; i++) {
    bits[0] = Math.imul(i, 0x9e3779b1) >>> 0;
    if (f32[0] >= -81 && f32[0] <= 89) check(f32[0]);
  }
  for (const around of [0, 1, -1, Math.LN2 / 64, 88.7, -80]) {
    f32[0] = around;
    const at = bits[0];
    for (let d = -20000; d <= 20000; d++) {
      bits[0] = at + d;
      check(f32[0]);
    }
  }
  for (const y of [0, -0, -80, -80.5, -200, Math.fround(88.7), NaN, -Infinity]) check(y);
});

test('adding 1 as two halves rounds to the same float', () => {
  // sigmoid32's 1 + e for e ≥ 0: all 2^31 such floats were compared once; here a sample and the
  // floats around 2^-53, 2^-24 and 2^53, where the halves' own roundings could show.
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const check = (e: number) => assert.equal(Math.fround(e + 0.5 + 0.5), Math.fround(e + 1), `1 + ${e}`);
  for (let i = 0; i < 1 << 20; i++) {
    bits[0] = Math.imul(i, 0x9e3779b1) >>> 1;
    if (f32[0] === f32[0]) check(f32[0]);
  }
  for (const around of [2 ** -53, 2 ** -24, 2 ** 53]) {
    f32[0] = around;
    const at = bits[0];
    for (let d = -20000; d <= 20000; d++) {
      bits[0] = at + d;
      check(f32[0]);
    }
  }
});
