import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFloat32 } from '../../../src/serving/jobs/number-text.js';
import { ChunkBytes, FLOAT32_TEXT_BYTES } from '../../../src/serving/jobs/encode.js';

const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);
const buf = new Uint8Array(32);
const ascii = new TextDecoder('ascii');

/** Values whose text differs from String()'s, with both texts; a float32 given by its bits. */
function mismatches(values: Iterable<number>): string[] {
  const wrong: string[] = [];
  for (const v of values) {
    const text = ascii.decode(buf.subarray(0, writeFloat32(v, buf, 0)));
    if (text !== String(v)) wrong.push(`${String(v)} written as ${text}`);
  }
  return wrong;
}

function* fromBits(list: Iterable<number>): Generator<number> {
  for (const b of list) {
    bits[0] = b;
    if (Number.isFinite(f32[0])) yield f32[0];
  }
}

function* range(from: number, to: number, step = 1): Generator<number> {
  for (let b = from; b < to; b += step) yield b;
}

test('a float32 is written exactly as String() writes it: random bit patterns, both signs, every exponent', () => {
  // A fixed xorshift sequence, so a failure names the same values on every run.
  let x = 0x9e3779b9;
  const random = function* () {
    for (let i = 0; i < 200_000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      yield x >>> 0;
    }
  };
  assert.deepEqual(mismatches(fromBits(random())), []);
  // A stride through all 2^32 patterns touches every exponent of both signs.
  assert.deepEqual(mismatches(fromBits(range(0, 2 ** 32, 4099 * 37))), []);
});

test('edges: zero and minus zero, subnormals, the smallest and largest normals, powers of two and of ten', () => {
  assert.deepEqual(mismatches([0, -0]), []);
  assert.equal(ascii.decode(buf.subarray(0, writeFloat32(-0, buf, 0))), '0');
  // Subnormals: the first and last few thousand, and a stride through the rest.
  assert.deepEqual(mismatches(fromBits([...range(1, 5000), ...range(0x7fffff - 5000, 0x800000), ...range(1, 0x800000, 997)])), []);
  const edges = [0x00800000, 0x00800001, 0x7f7fffff, 0x7f7ffffe, 0x3f800000, 0x3f7fffff, 0x3f800001];
  assert.deepEqual(mismatches(fromBits([...edges, ...edges.map((b) => b | 0x80000000)])), []);
  const powers: number[] = [];
  for (let e = -149; e <= 127; e++) powers.push(Math.fround(2 ** e));
  for (let e = -45; e <= 38; e++) {
    // 10^e and its float32 neighbours, and a few short decimals of that size.
    f32[0] = 10 ** e;
    const b = bits[0];
    for (const n of [b - 1, b, b + 1]) {
      bits[0] = n;
      powers.push(f32[0]);
    }
    for (const m of [1.5, 2, 2.5, 5, 9.999999]) powers.push(Math.fround(m * 10 ** e));
  }
  assert.deepEqual(mismatches(powers.filter(Number.isFinite)), []);
});

test('values models give: whole numbers, binary fractions, probabilities and margins (halfway cases included)', () => {
  const values: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    values.push(Math.fround(i), Math.fround(i / 1024), Math.fround(-i / 3), Math.fround(1 / (1 + Math.exp(-(i / 5000 - 10)))), Math.fround((i - 50_000) / 7919));
  }
  assert.deepEqual(mismatches(values), []);
});

test('the text is written at the offset given, and the offset after it is returned', () => {
  const into = new Uint8Array(40).fill(0x23);
  const end = writeFloat32(Math.fround(-0.1), into, 5);
  assert.equal(ascii.decode(into), '#####-0.10000000149011612' + '#'.repeat(40 - end));
  assert.equal(end, 5 + '-0.10000000149011612'.length);
});

test('no float32 text is longer than a chunk reserves for it, and the longest lands whole at a buffer edge', () => {
  const longest = Math.fround(-1.2345678e-6);
  assert.equal(String(longest).length, FLOAT32_TEXT_BYTES);
  let most = 0;
  for (const v of fromBits(range(0, 2 ** 32, 4099))) most = Math.max(most, String(v).length);
  for (const v of fromBits(range(0xb5800000, 0xb7280000, 97))) most = Math.max(most, String(v).length);
  assert.equal(most, FLOAT32_TEXT_BYTES);
  // 65,536 bytes a chunk starts with: fill all but 24 of them, then write the 25-byte text.
  const sink = new ChunkBytes();
  sink.ascii('x'.repeat((1 << 16) - 24));
  sink.float32(longest);
  sink.byte(10);
  const bytes = sink.take();
  assert.equal(bytes.length, (1 << 16) + 2);
  assert.equal(ascii.decode(bytes.subarray((1 << 16) - 24)), `${String(longest)}\n`);
});
