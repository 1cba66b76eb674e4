import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readV2Request, writeV2Response } from '../../../src/serving/codecs/v2-wire.js';
import { Batch, column } from '../../../src/models/index.js';

const read = (text: string) => readV2Request(Buffer.from(text));

test('float data is read into its typed array, every number as JSON.parse reads it', () => {
  const values: number[] = [0, -0.5, 1e-7, 123456.789, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 2 ** 53 + 2, 1e23, 9.999999999999999e22];
  for (let i = 0; i < 2000; i++) values.push((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20));
  const text = `{"inputs":[{"name":"x","shape":[${values.length}],"datatype":"FP64","data":${JSON.stringify(values)}}]}`;
  const data = read(text).inputs[0].data;
  assert.ok(data instanceof Float64Array);
  assert.deepEqual(Array.from(data), JSON.parse(text).inputs[0].data);
  const f32 = read(text.replace('FP64', 'FP32')).inputs[0].data;
  assert.ok(f32 instanceof Float32Array);
  assert.deepEqual(Array.from(f32), Array.from(Float32Array.from(values)));
});

test('NaN, Infinity and -Infinity tokens, nested lists flattened', () => {
  const t = read('{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[NaN, Infinity], [-Infinity, null]]}]}').inputs[0];
  assert.deepEqual(Array.from(t.data as Float32Array), [NaN, Infinity, -Infinity, NaN]);
});

test('17-digit floats: JSON.parse reads the list when it holds only numbers, the reader’s own walk otherwise', () => {
  const long = [0.12345678901234567, 98.765432109876543, -1.0000000000000002e-5, 3];
  const rows = `[${long.join(',')}], [ ${long.join(' , ')} ]`;
  const nested = read(`{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP64","data":[${rows}]}]}`).inputs[0];
  assert.deepEqual(Array.from(nested.data as Float64Array), [...long, ...long]);
  const withNaN = read(`{"inputs":[{"name":"x","shape":[5],"datatype":"FP64","data":[${long.join(',')},NaN]}],"id":"after"}`);
  assert.deepEqual(Array.from(withNaN.inputs[0].data as Float64Array), [...long, NaN]);
  assert.equal(withNaN.id, 'after');
  assert.deepEqual(read(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[${long[0]},"y"]}]}`).inputs[0].data, [long[0], 'y']);
  assert.throws(() => read(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[${long[0]},]}]}`), /body: malformed JSON \(unexpected "]" at byte \d+\)/);
  assert.throws(() => read(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[${long[0]},1`), /body: malformed JSON \(unexpected end of the body\)/);
});

test('64-bit integers keep every digit', () => {
  const t = read('{"inputs":[{"name":"x","shape":[3],"datatype":"INT64","data":[9007199254740993,-9223372036854775808,18446744073709551615]}]}').inputs[0];
  assert.deepEqual(t.data, [2n ** 53n + 1n, -(2n ** 63n), 2n ** 64n - 1n]);
});

test('data given before its datatype, and strings in a float tensor, stay plain values for the general conversion', () => {
  assert.deepEqual(read('{"inputs":[{"name":"x","data":[1,2],"shape":[2],"datatype":"FP32"}]}').inputs[0].data, [1, 2]);
  assert.deepEqual(read('{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,"x"]}]}').inputs[0].data, [1, 'x']);
});

test('structure errors name the field as the schema did; broken JSON says where', () => {
  const cases: [string, RegExp][] = [
    ['{}', /^body\.inputs is required$/],
    ['{"inputs": []}', /^body\.inputs must NOT have fewer than 1 items$/],
    ['{"inputs": [{"name": "x", "shape": [1], "datatype": "FP99", "data": [1]}]}', /^body\.inputs\.0\.datatype must be equal to constant$/],
    ['{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}', /^body\.inputs\.0\.shape\.0 must be >= 0$/],
    ['{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}', /^body\.inputs\.0\.data is required$/],
    ['[]', /^body must be object$/],
    ['{"inputs": [', /^body: malformed JSON \(unexpected end of the body\)$/],
    ['{"inputs": [}', /^body: malformed JSON \(unexpected "}" at byte 12\)$/],
    ['', /^body: malformed JSON \(the body is empty\)$/],
    ['['.repeat(100_000), /malformed JSON \(nested deeper than 256 levels/],
    [`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":${'['.repeat(100_000)}`, /malformed JSON \(nested deeper than 256 levels/],
    ['{"parameters": {"__proto__": {}}, "inputs": []}', /malformed JSON \(object key "__proto__" is not allowed\)/],
  ];
  for (const [text, pattern] of cases) assert.throws(() => read(text), (err: Error) => pattern.test(err.message), text);
});

test('answers are written as Triton writes them: NaN and Infinity as tokens, int64 exact, binary on request', () => {
  const out = Batch.from([
    ['p', column('float32', Float32Array.from([NaN, Infinity, 0.5]))],
    ['n', column('int64', BigInt64Array.from([2n ** 53n + 1n, -1n, 0n]))],
  ]);
  const text = writeV2Response(out, 'm', 3, { id: 'a' }).body;
  assert.equal(typeof text, 'string');
  assert.equal(
    text,
    '{"model_name":"m","model_version":"3","id":"a","outputs":[{"name":"p","datatype":"FP32","shape":[3],"data":[NaN,Infinity,0.5]},{"name":"n","datatype":"INT64","shape":[3],"data":[9007199254740993,-1,0]}]}',
  );
  const binary = writeV2Response(out, 'm', 3, { parameters: { binary_data_output: true }, outputs: [{ name: 'p', parameters: { binary_data: false } }] });
  if (binary.headerLength === undefined) return assert.fail('binary outputs come with a header length');
  const header = binary.body.toString('utf8', 0, binary.headerLength);
  assert.match(header, /"name":"p".*"data":\[NaN,Infinity,0.5\]/);
  assert.match(header, /"name":"n","datatype":"INT64","shape":\[3\],"parameters":\{"binary_data_size":24\}/);
  assert.equal(binary.body.readBigInt64LE(binary.headerLength), 2n ** 53n + 1n);
});

test('an answer names the version, datatype and shape it was given, whatever the same names meant before', () => {
  const probs = Batch.from([['p', column('float32', Float32Array.from([0.25, 0.75]), [2])]]);
  assert.equal(writeV2Response(probs, 'm', 1, {}).body, '{"model_name":"m","model_version":"1","outputs":[{"name":"p","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]}]}');
  assert.equal(writeV2Response(probs, 'm', 2, {}).body, '{"model_name":"m","model_version":"2","outputs":[{"name":"p","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]}]}');
  const matrix = Batch.from([['p', column('float64', Float64Array.from([1, 2, 3, 4]), [2, 2])]]);
  assert.equal(writeV2Response(matrix, 'm', 2, {}).body, '{"model_name":"m","model_version":"2","outputs":[{"name":"p","datatype":"FP64","shape":[1,2,2],"data":[1,2,3,4]}]}');
  const scalar = Batch.from([['p', column('int32', Int32Array.from([7]))]]);
  assert.equal(writeV2Response(scalar, 'm', 2, {}, true).body, '{"model_name":"m","model_version":"2","outputs":[{"name":"p","datatype":"INT32","shape":[],"data":[7]}]}');
  assert.equal(writeV2Response(probs, 'm', 2, {}).body, '{"model_name":"m","model_version":"2","outputs":[{"name":"p","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]}]}');
});

test('errors name the field of the input or output at fault, whichever came before', () => {
  const cases: [string, string][] = [
    ['{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1,"x"],"datatype":"FP32","data":[1]}]}', 'body.inputs.1.shape.1 must be integer'],
    ['{"inputs":[{"name":"a","shape":["x"],"datatype":"FP32","data":[1]}]}', 'body.inputs.0.shape.0 must be integer'],
    ['{"inputs":[{"name":"a","shape":[1],"datatype":"FP33","data":[1]}]}', 'body.inputs.0.datatype must be equal to constant'],
    ['{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}', 'body.inputs.0.name is required'],
    ['{"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]}', 'body.inputs.0.data is required'],
    ['{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"y"},{}]}', 'body.outputs.1.name is required'],
  ];
  for (const [text, message] of cases) assert.throws(() => read(text), (err: Error) => err.message === message, text);
});
