import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { serveAlone, type Alone } from '../helpers/alone.js';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { fastInference } from '../../src/server/fast-infer.js';
import { LOGREG, breastCancerRows, register, v2Row } from '../serving/helpers.js';

interface Case {
  what: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Rate limits count per bearer token: each way gets a token of its own, so both see a fresh bucket. */
  token?: boolean;
}

/**
 * The inference handler in front of Fastify against Fastify's own V2 route: every request it
 * takes must get the answer the route gives (status, body, the headers a client reads).
 */
describe('V2 inference ahead of Fastify answers as the Fastify route does', () => {
  let server: RunningServer;
  let fastUrl: string;
  let alone: Alone;
  let cases: Case[];

  before(async () => {
    const rows = await breastCancerRows();
    server = await testServer({ bodyLimit: 8 * 1024 });
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    await server.platform.services.serving.create({ model: 'cancer', version: 1 });
    await server.platform.services.serving.create({
      name: 'limited',
      model: 'cancer',
      version: 1,
      config: { rateLimit: { enabled: true, requestsPerSecond: 0.001, burst: 1, key: 'token' } },
    });
    alone = await serveAlone(
      fastInference(server.app, {
        serving: server.platform.services.serving,
        bodyLimit: 8 * 1024,
        requestId: (given) => (typeof given === 'string' ? given : 'made-here'),
        isClosing: () => false,
      }),
    );
    fastUrl = alone.url;
    const ok = JSON.stringify({ ...v2Row(rows[0]), id: 'abc' });
    cases = [
      { what: 'a prediction', url: '/v2/models/cancer/infer', body: ok },
      { what: 'a prediction of a named version', url: '/v2/models/cancer/versions/1/infer?verbose=1', body: ok },
      { what: 'a version not served', url: '/v2/models/cancer/versions/7/infer', body: ok },
      { what: 'a version that is no number', url: '/v2/models/cancer/versions/x1/infer', body: ok },
      { what: 'an unknown model', url: '/v2/models/nope/infer', body: ok },
      { what: 'an escaped model name', url: '/v2/models/n%C3%B6pe/infer', body: ok },
      { what: 'malformed JSON', url: '/v2/models/cancer/infer', body: '{"inputs": [' },
      { what: 'an empty body', url: '/v2/models/cancer/infer', body: '' },
      { what: 'prototype poisoning', url: '/v2/models/cancer/infer', body: '{"__proto__": {"x": 1}, "inputs": []}' },
      { what: 'no inputs', url: '/v2/models/cancer/infer', body: '{"id": "x"}' },
      { what: 'a shape that is no list', url: '/v2/models/cancer/infer', body: JSON.stringify({ inputs: [{ name: 'input', shape: 'big', datatype: 'FP32', data: [] }] }) },
      { what: 'an unknown datatype', url: '/v2/models/cancer/infer', body: JSON.stringify({ inputs: [{ ...v2Row(rows[0]).inputs[0], datatype: 'FP99' }] }) },
      { what: 'data not matching the shape', url: '/v2/models/cancer/infer', body: JSON.stringify({ inputs: [{ ...v2Row(rows[0]).inputs[0], shape: [2, 30] }] }) },
      { what: 'a missing input', url: '/v2/models/cancer/infer', body: JSON.stringify({ inputs: [{ ...v2Row(rows[0]).inputs[0], name: 'other' }] }) },
      { what: 'an output the model lacks', url: '/v2/models/cancer/infer', body: JSON.stringify({ ...v2Row(rows[0]), outputs: [{ name: 'nothing' }] }) },
      { what: 'a body over the limit', url: '/v2/models/cancer/infer', body: JSON.stringify({ ...v2Row(rows[0]), id: 'x'.repeat(9000) }) },
      { what: 'a client request id', url: '/v2/models/cancer/infer', body: ok, headers: { 'x-request-id': 'client-42' } },
      { what: 'a rate-limited deployment, first request', url: '/v2/models/limited/infer', body: ok, token: true },
      { what: 'a rate-limited deployment, over its limit', url: '/v2/models/limited/infer', body: ok, token: true },
    ];
  });
  after(async () => {
    await alone.close();
    await server.close();
  });

  test('every case gets the same status, body and headers both ways', async () => {
    for (const c of cases) {
      const headers = (way: string) => ({ 'content-type': 'application/json', ...c.headers, ...(c.token ? { authorization: `Bearer ${way}` } : {}) });
      const viaFastify = await server.app.inject({ method: 'POST', url: c.url, payload: c.body, headers: headers('fastify') });
      const direct = await fetch(`${fastUrl}${c.url}`, { method: 'POST', body: c.body, headers: headers('direct') });
      const text = await direct.text();
      assert.equal(direct.status, viaFastify.statusCode, `${c.what}: status (${text})`);
      assert.deepEqual(JSON.parse(text), viaFastify.json(), `${c.what}: body`);
      assert.equal(direct.headers.get('content-type'), viaFastify.headers['content-type'], `${c.what}: content-type`);
      assert.equal(direct.headers.get('retry-after') ?? undefined, viaFastify.headers['retry-after'], `${c.what}: retry-after`);
      if (c.headers?.['x-request-id']) assert.equal(direct.headers.get('x-request-id'), 'client-42');
    }
    assert.equal(alone.declined(), 0);
    const statuses = new Set<number>();
    for (const c of cases) statuses.add((await fetch(`${fastUrl}${c.url}`, { method: 'POST', body: c.body, headers: { 'content-type': 'application/json', authorization: 'Bearer again' } })).status);
    assert.deepEqual([...statuses].sort(), [200, 400, 404, 413, 429], 'the cases cover each kind of answer');
  });

  test('other requests go to Fastify unread', async () => {
    const before = alone.declined();
    assert.equal((await fetch(`${fastUrl}/v2/models/cancer/infer`, { method: 'POST', body: 'a,b\n1,2', headers: { 'content-type': 'text/csv' } })).status, 599);
    assert.equal((await fetch(`${fastUrl}/v2/models/cancer`)).status, 599);
    assert.equal((await fetch(`${fastUrl}/v2/models/cancer/infer/`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 599);
    assert.equal(alone.declined(), before + 3);
    // Through the whole server, Fastify answers those as usual.
    const csv = await fetch(`${server.url}/v2/models/cancer/infer`, { method: 'POST', body: 'a,b\n1,2', headers: { 'content-type': 'text/csv' } });
    assert.equal(csv.status, 415);
  });

  test('MLflow scoring of JSON bodies: the same status, body and headers both ways', async () => {
    const rows = await breastCancerRows();
    const names = rows[0].map((_, j) => `f${j}`);
    const url = '/deployments/cancer/invocations';
    const scoring: Case[] = [
      { what: 'dataframe_split', url, body: JSON.stringify({ dataframe_split: { columns: names, data: [rows[0], rows[1]] } }) },
      { what: 'inputs as rows', url, body: JSON.stringify({ inputs: [rows[0]] }) },
      { what: 'instances with an unknown field (a Warning header)', url, body: JSON.stringify({ instances: [rows[0]], extra_key: 1 }) },
      { what: 'two Warning headers (an unknown field and an unnamed column)', url, body: JSON.stringify({ dataframe_split: { columns: ['', ...names], data: [[0, ...rows[0]]] }, extra: 1 }) },
      { what: 'params that is not an object', url, body: JSON.stringify({ inputs: [rows[0]], params: 5 }) },
      { what: 'params as a list', url, body: JSON.stringify({ inputs: [rows[0]], params: [1] }) },
      { what: "Python's NaN token", url, body: `{"inputs": [[${rows[0].slice(1).join(', ')}, NaN]]}` },
      { what: 'a short row', url, body: JSON.stringify({ dataframe_split: { columns: names, data: [rows[0].slice(1)] } }) },
      { what: 'two formats', url, body: JSON.stringify({ inputs: [rows[0]], instances: [rows[0]] }) },
      { what: 'no rows', url, body: JSON.stringify({ instances: [] }) },
      { what: 'malformed JSON', url, body: '{"inputs": [' },
      { what: 'a JSON list, not an object', url, body: '[1, 2]' },
      { what: 'JSON null', url, body: 'null' },
      { what: 'a JSON number', url, body: '42' },
      { what: 'a JSON boolean', url, body: 'true' },
      { what: 'a JSON string', url, body: '"a,b"' },
      { what: 'an unknown deployment', url: '/deployments/nope/invocations', body: JSON.stringify({ inputs: [rows[0]] }) },
      { what: 'a body over the limit', url, body: JSON.stringify({ inputs: [rows[0]], pad: 'x'.repeat(9000) }) },
      { what: 'a rate-limited deployment, first request', url: '/deployments/limited/invocations', body: JSON.stringify({ inputs: [rows[0]] }), token: true },
      { what: 'a rate-limited deployment, over its limit', url: '/deployments/limited/invocations', body: JSON.stringify({ inputs: [rows[0]] }), token: true },
    ];
    const before = alone.declined();
    const statuses = new Set<number>();
    for (const c of scoring) {
      const headers = (way: string) => ({ 'content-type': 'application/json', ...(c.token ? { authorization: `Bearer mlflow-${way}` } : {}) });
      const viaFastify = await server.app.inject({ method: 'POST', url: c.url, payload: c.body, headers: headers('fastify') });
      const direct = await fetch(`${fastUrl}${c.url}`, { method: 'POST', body: c.body, headers: headers('direct') });
      const text = await direct.text();
      statuses.add(direct.status);
      assert.equal(direct.status, viaFastify.statusCode, `${c.what}: status (${text} against ${viaFastify.body})`);
      assert.deepEqual(JSON.parse(text), viaFastify.json(), `${c.what}: body`);
      assert.equal(direct.headers.get('content-type'), viaFastify.headers['content-type'], `${c.what}: content-type`);
      const warning = viaFastify.headers.warning;
      assert.equal(direct.headers.get('warning') ?? undefined, Array.isArray(warning) ? warning.join(', ') : warning, `${c.what}: warning`);
      assert.equal(direct.headers.get('retry-after') ?? undefined, viaFastify.headers['retry-after'], `${c.what}: retry-after`);
    }
    assert.equal(alone.declined(), before, 'the handler answered every case itself');
    const twice = await fetch(`${fastUrl}${url}`, { method: 'POST', body: scoring[3].body, headers: { 'content-type': 'application/json' } });
    assert.equal((twice.headers.get('warning') ?? '').split('299 modelport').length - 1, 2, 'both warnings are sent');
    const refused = await fetch(`${fastUrl}${url}`, { method: 'POST', body: scoring[4].body, headers: { 'content-type': 'application/json' } });
    assert.deepEqual(await refused.json(), { error_code: 'BAD_REQUEST', message: 'body.params must be object' });
    assert.deepEqual([...statuses].sort(), [200, 400, 404, 413, 429], 'the cases cover each kind of answer');
    const split = (await (await fetch(`${fastUrl}${url}`, { method: 'POST', body: scoring[0].body, headers: { 'content-type': 'application/json' } })).json()) as { predictions: { label: unknown[] } };
    assert.equal(split.predictions.label.length, 2);
  });

  test('MLflow requests the handler does not take go to Fastify unread', async () => {
    const before = alone.declined();
    const body = JSON.stringify({ inputs: [(await breastCancerRows())[0]] });
    const post = (url: string, type = 'application/json') => fetch(`${fastUrl}${url}`, { method: 'POST', body, headers: { 'content-type': type } });
    assert.equal((await post('/deployments/cancer/invocations?format=records')).status, 599, 'a query string: the route schema checks it');
    assert.equal((await post('/deployments/cancer/invocations', 'text/csv')).status, 599);
    assert.equal((await post('/invocations')).status, 599, 'no `open`: Fastify checks access to /invocations');
    assert.equal((await fetch(`${fastUrl}/deployments/cancer/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status, 599, 'an empty body');
    assert.equal(alone.declined(), before + 4);
  });

  test('/invocations with one deployment and no token needed: the same answer both ways', async () => {
    const open = await serveAlone(fastInference(server.app, { serving: server.platform.services.serving, bodyLimit: 8 * 1024, requestId: () => 'made-here', isClosing: () => false, open: () => true }));
    try {
      const body = JSON.stringify({ inputs: [(await breastCancerRows())[0]] });
      const post = () => fetch(`${open.url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal((await post()).status, 599, 'two deployments: Fastify words the refusal');
      await server.platform.services.serving.delete('limited');
      const direct = await post();
      const viaFastify = await server.app.inject({ method: 'POST', url: '/invocations', payload: body, headers: { 'content-type': 'application/json' } });
      assert.equal(direct.status, 200);
      assert.deepEqual(await direct.json(), viaFastify.json());
    } finally {
      await open.close();
    }
  });

  test('one keep-alive connection carries request after request; a streamed body over the limit is refused and ends it', async () => {
    const body = JSON.stringify(v2Row((await breastCancerRows())[2]));
    const socket = net.connect(Number(new URL(alone.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const answers = async (n: number) => {
      while (received.split('HTTP/1.1 ').length - 1 < n) await new Promise((r) => setTimeout(r, 5));
    };
    const request = (id: string) => `POST /v2/models/cancer/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    for (let i = 0; i < 3; i++) {
      socket.write(request(`keep-${i}`));
      await answers(i + 1);
    }
    // Two at once on the same connection (pipelined): answered in order.
    socket.write(request('keep-3') + request('keep-4'));
    await answers(5);
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.deepEqual([...received.matchAll(/^x-request-id: (\S+)/gim)].map((m) => m[1]), ['keep-0', 'keep-1', 'keep-2', 'keep-3', 'keep-4']);
    // No content-length: the limit is found while the body streams in.
    socket.write('POST /v2/models/cancer/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    const chunk = 'x'.repeat(4096);
    for (let i = 0; i < 3 && !socket.destroyed; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await closed;
    assert.equal(received.split('HTTP/1.1 ').length - 1, 6);
    const last = received.slice(received.lastIndexOf('HTTP/1.1 '));
    assert.match(last, /^HTTP\/1\.1 413 /);
    assert.match(last, /^connection: close/im);
  });

  test('requests answered by the handler are counted in the request metrics', async () => {
    const metrics = server.platform.services.serving.metrics;
    const count = async () => {
      const text = await metrics.text();
      const line = text.split('\n').find((l) => l.startsWith('modelport_requests_total{deployment="cancer",version="1",variant="primary",protocol="v2",code="200"}'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await count();
    const body = JSON.stringify(v2Row((await breastCancerRows())[1]));
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${fastUrl}/v2/models/cancer/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status, 200);
    assert.equal(await count(), before + 3);
  });
});
