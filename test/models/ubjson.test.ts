import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeUbjson } from '../../src/models/xgboost/ubjson.js';
import { decodeMessage, encodeMessage, Writer } from '../../src/models/onnx/protobuf.js';
import { fixture } from './helpers.js';

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('UBJSON decoder', () => {
  test('scalars, strings, nested containers and no-ops', () => {
    const doc = bytes('{', 'i', [1], 'a', 'i', [-5], 'i', [1], 'b', 'S', 'i', [2], 'hi', 'N', 'i', [1], 'c', '[', 'T', 'F', 'Z', 'd', [0x3f, 0xc0, 0, 0], ']', '}');
    assert.deepEqual(decodeUbjson(doc), { a: -5, b: 'hi', c: [true, false, null, 1.5] });
  });

  test('integers of every width, int64 beyond 2^53 as bigint, high-precision numbers', () => {
    assert.equal(decodeUbjson(bytes('U', [200])), 200);
    assert.equal(decodeUbjson(bytes('I', [0xff, 0xfe])), -2);
    assert.equal(decodeUbjson(bytes('l', [0, 1, 0, 0])), 65536);
    assert.equal(decodeUbjson(bytes('L', [0, 0, 0, 0, 0, 0, 1, 0])), 256);
    assert.equal(decodeUbjson(bytes('L', [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 2n ** 63n - 1n);
    assert.equal(decodeUbjson(bytes('D', [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18])), 3.141592653589793);
    assert.equal(decodeUbjson(bytes('H', 'i', [4], '1e-3')), 0.001);
    assert.equal(decodeUbjson(bytes('C', 'x')), 'x');
  });

  test('strongly typed arrays decode to typed arrays; counted objects', () => {
    const f32 = decodeUbjson(bytes('[', '$', 'd', '#', 'i', [2], [0x3f, 0x80, 0, 0], [0xc0, 0, 0, 0]));
    assert.ok(f32 instanceof Float32Array);
    assert.deepEqual(Array.from(f32 as Float32Array), [1, -2]);
    const i32 = decodeUbjson(bytes('[', '$', 'l', '#', 'U', [1], [0xff, 0xff, 0xff, 0xff]));
    assert.deepEqual(Array.from(i32 as Int32Array), [-1]);
    assert.deepEqual(decodeUbjson(bytes('[', '#', 'i', [2], 'i', [1], 'S', 'i', [1], 'x')), [1, 'x']);
    assert.deepEqual(decodeUbjson(bytes('{', '$', 'U', '#', 'i', [1], 'i', [1], 'k', [7])), { k: 7 });
  });

  test('malformed input is an InvalidArgument with the byte offset', () => {
    assert.throws(() => decodeUbjson(bytes('[', 'i')), { code: 'InvalidArgument', message: /unexpected end of data/ });
    assert.throws(() => decodeUbjson(bytes('?')), { message: /unknown type marker 0x3f at byte 1/ });
    assert.throws(() => decodeUbjson(bytes('i', [1], 'i', [2])), { message: /trailing data/ });
  });

  test('an XGBoost .ubj model decodes to the same document as its .json', () => {
    const ubj = decodeUbjson(new Uint8Array(readFileSync(fixture('xgb_breast_cancer', 'model.ubj')))) as Record<string, any>;
    const json = JSON.parse(readFileSync(fixture('xgb_breast_cancer', 'model.json'), 'utf8'));
    const a = ubj.learner.gradient_booster.model.trees[7];
    const b = json.learner.gradient_booster.model.trees[7];
    assert.deepEqual(Array.from(a.split_conditions), b.split_conditions.map(Math.fround));
    assert.deepEqual(Array.from(a.left_children), b.left_children);
    assert.deepEqual(ubj.learner.learner_model_param, json.learner.learner_model_param);
  });
});

describe('protobuf wire format', () => {
  test('round-trips fields, including 64-bit varints and negative numbers', () => {
    const w = new Writer().varint(1, 2n ** 63n).varint(2, -1).string(3, 'ünï').float32(4, 1.5).packedVarints(5, [1, 300]);
    const fields = decodeMessage(w.finish());
    assert.deepEqual(fields.map((f) => f.no), [1, 2, 3, 4, 5]);
    assert.equal(fields[0].value, 2n ** 63n);
    assert.equal(BigInt.asIntN(64, fields[1].value as bigint), -1n);
    assert.deepEqual(encodeMessage(fields), w.finish());
  });
});
