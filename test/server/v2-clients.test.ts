import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { LOGREG, breastCancerRows, expectedLogreg, register } from '../serving/helpers.js';

interface Recorded {
  client: string;
  what: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const FIXTURES = new URL('../fixtures/v2/', import.meta.url).pathname;
/** Requests recorded from tritonclient.http and KServe's InferenceRESTClient (test/fixtures/v2/record.py). */
const RECORDED: Recorded[] = JSON.parse(readFileSync(`${FIXTURES}requests.json`, 'utf8'));

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** An answer's JSON part as text (it may hold NaN tokens) and its outputs' binary parts by name. */
function split(answer: Answer): { text: string; json: any; binary: Map<string, Buffer> } {
  const length = answer.headers['inference-header-content-length'];
  const end = length === undefined ? answer.body.length : Number(length);
  const text = answer.body.toString('utf8', 0, end);
  const json = JSON.parse(text.replace(/\bNaN\b|-?\bInfinity\b/g, 'null'));
  const binary = new Map<string, Buffer>();
  let p = end;
  for (const o of json.outputs ?? []) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(o.name, answer.body.subarray(p, p + size));
    p += size;
  }
  assert.equal(p, answer.body.length, 'the binary parts fill the body');
  return { text, json, binary };
}

const floats = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));

describe('V2 requests as tritonclient.http and KServe send them, on both HTTP paths', () => {
  let server: RunningServer;
  let rows: number[][];

  /** The same bytes through the fast path (the real server) and through Fastify's route (inject): the same answer. */
  async function send(url: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
    const direct = await fetch(`${server.url}${url}`, { method: 'POST', headers, body });
    const answer: Answer = { status: direct.status, headers: Object.fromEntries(direct.headers), body: Buffer.from(await direct.arrayBuffer()) };
    const viaFastify = await server.app.inject({ method: 'POST', url, headers, payload: body });
    assert.equal(viaFastify.statusCode, answer.status, `${url}: status both ways (${viaFastify.body})`);
    for (const h of ['content-type', 'inference-header-content-length', 'content-encoding']) {
      assert.equal(viaFastify.headers[h], answer.headers[h], `${url}: ${h} both ways`);
    }
    const raw = viaFastify.headers['content-encoding'] === 'gzip' ? gunzipSync(viaFastify.rawPayload) : viaFastify.rawPayload;
    // fetch has already gunzipped its copy.
    assert.deepEqual(raw, answer.body, `${url}: body both ways`);
    return answer;
  }

  const replay = (what: string) => {
    const r = RECORDED.find((x) => x.what === what);
    assert.ok(r, what);
    return send(r.url, r.headers, Buffer.from(r.body, 'base64'));
  };

  before(async () => {
    rows = await breastCancerRows();
    server = await testServer();
    const registry = server.platform.services.registry;
    const serving = server.platform.services.serving;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'echo', `${FIXTURES}echo`, ['model.mjs']);
    await register(registry, 'linear', `${FIXTURES}linear`, ['model.mjs']);
    for (const model of ['cancer', 'echo', 'linear']) await serving.create({ model, version: 1 });
  });
  after(() => server.close());

  test('every recorded request is answered', () => {
    assert.equal(RECORDED.length, 10);
  });

  test('tritonclient: JSON input with NaN, no content type, outputs answered binary with NaN kept', async () => {
    const a = await replay('JSON input with NaN, binary outputs');
    assert.equal(a.status, 200, a.body.toString());
    assert.equal(a.headers['content-type'], 'application/octet-stream');
    const { json, binary } = split(a);
    assert.deepEqual(json.outputs.map((o: any) => [o.name, o.datatype, o.shape, o.data]), [
      ['label', 'INT64', [1], undefined],
      ['probabilities', 'FP32', [1, 2], undefined],
    ]);
    assert.equal(binary.get('label')!.length, 8);
    assert.ok(floats(binary.get('probabilities')!).every(Number.isNaN), 'a NaN feature gives NaN probabilities');
  });

  test('tritonclient: binary input, the output asked for as JSON', async () => {
    const expected = await expectedLogreg();
    const a = await replay('binary input, JSON output');
    assert.equal(a.status, 200, a.body.toString());
    assert.equal(a.headers['content-type'], 'application/json');
    const { json } = split(a);
    assert.equal(json.id, 't-2');
    assert.deepEqual(json.outputs.map((o: any) => o.name), ['probabilities']);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(json.outputs[0].data[i] - expected.probabilities[i >> 1][i & 1]) < 1e-5);
  });

  test('tritonclient: a gzip request body', async () => {
    const expected = await expectedLogreg();
    const a = await replay('gzip request body');
    assert.equal(a.status, 200, a.body.toString());
    assert.deepEqual(split(a).json.outputs, [{ name: 'label', datatype: 'INT64', shape: [1], data: [expected.label[1]] }]);
  });

  test('tritonclient: 64-bit integers exact, Infinity and NaN, text and booleans, in JSON', async () => {
    const a = await replay('INT64, UINT64, Inf/NaN, BYTES and BOOL');
    assert.equal(a.status, 200, a.body.toString());
    const { text } = split(a);
    assert.match(text, /"name":"ids_out","datatype":"INT64","shape":\[3\],"data":\[9007199254740993,-9223372036854775808,7\]/);
    assert.match(text, /"name":"big_out","datatype":"UINT64","shape":\[3\],"data":\[18446744073709551615,0,9007199254740993\]/);
    assert.match(text, /"name":"f_out","datatype":"FP32","shape":\[3\],"data":\[Infinity,-Infinity,NaN\]/);
    assert.match(text, /"name":"s_out","datatype":"BYTES","shape":\[3\],"data":\["a","","résumé ✓"\]/);
    assert.match(text, /"name":"b_out","datatype":"BOOL","shape":\[3\],"data":\[true,false,true\]/);
  });

  test('tritonclient: the same answered binary, BYTES length-prefixed', async () => {
    const a = await replay('the same, answered binary');
    assert.equal(a.status, 200, a.body.toString());
    const { binary } = split(a);
    const ids = binary.get('ids_out')!;
    assert.deepEqual([ids.readBigInt64LE(0), ids.readBigInt64LE(8), ids.readBigInt64LE(16)], [2n ** 53n + 1n, -(2n ** 63n), 7n]);
    const big = binary.get('big_out')!;
    assert.deepEqual([big.readBigUInt64LE(0), big.readBigUInt64LE(8), big.readBigUInt64LE(16)], [2n ** 64n - 1n, 0n, 2n ** 53n + 1n]);
    const s = binary.get('s_out')!;
    assert.deepEqual(s, Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from('a'), Buffer.from([0, 0, 0, 0]), Buffer.from([12, 0, 0, 0]), Buffer.from('résumé ✓')]));
    assert.deepEqual([...binary.get('b_out')!], [1, 0, 1]);
  });

  test('tritonclient: a scalar tensor (shape []) is answered as a scalar', async () => {
    const a = await replay('scalar (shape [])');
    assert.equal(a.status, 200, a.body.toString());
    assert.deepEqual(split(a).json.outputs, [{ name: 'y', datatype: 'FP64', shape: [], data: [7] }]);
  });

  test('tritonclient: BF16 is refused with a message that says so', async () => {
    const a = await replay('BF16');
    assert.equal(a.status, 400);
    assert.equal(a.headers['content-type'], 'application/json');
    assert.match(JSON.parse(a.body.toString()).error, /BF16 \(bfloat16\) is not supported/);
  });

  test('KServe: JSON and binary inputs', async () => {
    const expected = await expectedLogreg();
    const one = await replay('JSON input');
    assert.equal(one.status, 200, one.body.toString());
    assert.equal(split(one).json.id, 'k-1');
    assert.equal(split(one).json.outputs[0].data[0], expected.label[2]);
    const two = await replay('binary input');
    assert.equal(two.status, 200, two.body.toString());
    assert.deepEqual(split(two).json.outputs[0], { name: 'label', datatype: 'INT64', shape: [2], data: expected.label.slice(0, 2) });
  });

  test('KServe: an error body is typed application/json exactly, so its client shows the message', async () => {
    const a = await replay('unknown model');
    assert.equal(a.status, 404);
    assert.equal(a.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(a.body.toString()), { error: 'deployment "nope" does not exist' });
  });

  test('a large answer is gzipped for a client that accepts gzip', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => rows[i % rows.length]);
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1000, 30], datatype: 'FP32', data: many }] }));
    const a = await send('/v2/models/cancer/infer', { 'accept-encoding': 'gzip' }, body);
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-encoding'], 'gzip');
    assert.deepEqual(split(a).json.outputs[1].shape, [1000, 2]);
    const small = await send('/v2/models/cancer/infer', { 'accept-encoding': 'gzip' }, Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: rows[0] }] })));
    assert.equal(small.headers['content-encoding'], undefined);
  });

  test('binary framing errors and other content types are 4xx naming the problem', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', parameters: { binary_data_size: 120 } }] }));
    const cases: [Record<string, string>, Buffer, number, RegExp][] = [
      [{ 'inference-header-content-length': String(header.length) }, Buffer.concat([header, Buffer.alloc(100)]), 400, /binary_data_size is 120 bytes, but only 100 bytes/],
      [{ 'inference-header-content-length': String(header.length) }, Buffer.concat([header, Buffer.alloc(124)]), 400, /4 bytes after the JSON and the binary inputs belong to no input/],
      [{ 'inference-header-content-length': 'x' }, header, 400, /inference-header-content-length/],
      [{ 'content-encoding': 'gzip' }, header, 400, /not valid gzip data/],
      [{ 'content-encoding': 'br' }, header, 415, /content-encoding: br is not supported/],
    ];
    for (const [headers, body, status, pattern] of cases) {
      const a = await send('/v2/models/cancer/infer', headers, body);
      assert.equal(a.status, status, a.body.toString());
      assert.match(JSON.parse(a.body.toString()).error, pattern);
    }
    const csv = await fetch(`${server.url}/v2/models/cancer/infer`, { method: 'POST', body: 'a,b', headers: { 'content-type': 'text/csv' } });
    assert.equal(csv.status, 415);
    assert.equal(csv.headers.get('content-type'), 'application/json');
  });
});
