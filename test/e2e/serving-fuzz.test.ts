/**
 * Fuzzing every serving route with malformed requests on a real server, on both stores: zero 5xx
 * answers, the server alive and correct afterwards. The routes take turns, so every one is hit
 * by each run's share of every malformation kind; bench/chaos sends ≥ 10,000 per engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigFlags } from '../../src/config.js';
import { testServer } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';
import { LOGREG, XGB, breastCancerRows, post, register, v2Row } from '../serving/helpers.js';
import { mulberry32 as prng } from '../../src/core/random.js';

const REQUESTS = 1_500;
const CONCURRENCY = 24;

interface Fuzzed {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
}

function fuzzer(rows: number[][], seed: number) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (n: number) => Math.floor(rnd() * n);
  const weird = (): unknown =>
    pick<() => unknown>([
      () => null,
      () => true,
      () => -1,
      () => 1e308,
      () => -0,
      () => 2 ** 53 + 1,
      () => 'NaN',
      () => '',
      () => 'x'.repeat(int(300)),
      () => '\u0000\ud800',
      () => [],
      () => [[[]]],
      () => ({}),
      () => ({ __proto__: { polluted: 1 } }),
      () => ({ constructor: { prototype: { x: 1 } } }),
      () => Array.from({ length: int(40) }, () => rnd() * 10),
      () => rows[int(rows.length)],
      () => rows.slice(0, int(5)),
      () => int(1e9),
      () => [2 ** 31, 2 ** 31],
      () => JSON.parse('['.repeat(200) + ']'.repeat(200)),
    ])();
  const mutate = (value: unknown, depth = 0): unknown => {
    if (depth > 4 || rnd() < 0.25) return weird();
    if (Array.isArray(value)) {
      const out = value.map((v) => (rnd() < 0.1 ? mutate(v, depth + 1) : v));
      if (rnd() < 0.2) out.splice(int(out.length + 1), 0, weird());
      if (rnd() < 0.2) out.pop();
      return out;
    }
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      for (const k of Object.keys(out)) {
        const r = rnd();
        if (r < 0.15) delete out[k];
        else if (r < 0.5) out[k] = mutate(out[k], depth + 1);
      }
      if (rnd() < 0.2) out[pick(['inputs', 'outputs', 'id', 'parameters', 'shape', 'datatype', 'data', 'name', 'dataframe_split', 'instances', 'extra'])] = weird();
      return out;
    }
    return weird();
  };
  const v2Body = () => ({
    id: 'fuzz',
    inputs: [{ name: pick(['input', 'f0', 'x']), shape: [1 + int(2), pick([30, 29, 1])], datatype: pick(['FP32', 'FP64', 'INT64', 'BOOL', 'BYTES', 'FP16', 'UINT8', 'fp32']), data: rows[int(rows.length)] }],
    outputs: rnd() < 0.3 ? [{ name: pick(['label', 'probabilities', 'margin', 'nope']) }] : undefined,
  });
  const mlflowBody = () =>
    pick<() => unknown>([
      () => ({ dataframe_split: { columns: ['a', 'b'], data: [rows[0]] } }),
      () => ({ dataframe_records: [{ mean_radius: rows[0][0] }] }),
      () => ({ instances: [rows[0]] }),
      () => ({ inputs: { input: [rows[0]] } }),
    ])();
  const serialize = (value: unknown): string => {
    const text = JSON.stringify(value) ?? 'null';
    const r = rnd();
    if (r < 0.12) return text.slice(0, int(text.length));
    if (r < 0.18) return text.replace(/[,:]/, pick(['', ';', ',,', '::']));
    if (r < 0.22) return Array.from({ length: int(200) }, () => String.fromCharCode(int(256))).join('');
    if (r < 0.24) return '['.repeat(5000 + int(5000));
    if (r < 0.26) return `{"inputs": ${'['.repeat(3000)}${']'.repeat(3000)}}`;
    return text;
  };
  const name = () => pick(['m', 'trees', 'nope', 'm%20x', '..', '%00', 'a'.repeat(300), encodeURIComponent('ä/ß')]);
  const version = () => pick(['1', '2', '0', '-1', 'abc', '99999999999', '1.5']);
  let turn = 0;
  return (): Fuzzed => {
    const contentType = rnd() < 0.9 ? 'application/json' : pick(['text/csv', 'text/plain', 'application/octet-stream', 'application/json; charset=latin1', '']);
    switch (turn++ % 10) {
      case 0:
        return { method: 'POST', path: `/v2/models/${name()}/infer`, body: serialize(mutate(v2Body())), contentType };
      case 1:
        return { method: 'POST', path: `/v2/models/${pick(['m', 'trees'])}/versions/${version()}/infer`, body: serialize(mutate(v2Body())), contentType };
      case 2:
        return { method: 'POST', path: `/deployments/${pick(['m', 'trees', name()])}/invocations`, body: serialize(mutate(mlflowBody())), contentType };
      case 3:
        return rnd() < 0.5
          ? { method: 'POST', path: `/deployments/m/invocations`, body: pick(['a,b\n1,2', 'input\n1', '"unterminated\n1', 'x\n' + 'y,'.repeat(100), '']), contentType: 'text/csv' }
          : { method: 'POST', path: '/invocations', body: serialize(mutate(mlflowBody())), contentType };
      case 4:
        return { method: 'GET', path: pick([`/v2/models/${name()}`, `/v2/models/${name()}/versions/${version()}`, `/v2/models/${name()}/ready`, `/v2/models/m/versions/${version()}/ready`, '/v2', '/v2/health/live', '/v2/health/ready', '/metrics']) };
      case 5:
        return { method: 'POST', path: '/api/v1/deployments', body: serialize(mutate({ name: `fz${int(5)}`, model: pick(['m', 'nope']), version: 1, batching: { max_batch_size: 4 }, cache: { enabled: true }, rate_limit: { enabled: false } })), contentType };
      case 6:
        return { method: 'PATCH', path: `/api/v1/deployments/${pick(['fz0', 'fz1', name()])}`, body: serialize(mutate({ version: 1, batching: { max_queue_size: 10 } })), contentType };
      case 7:
        return { method: pick(['GET', 'DELETE']), path: `/api/v1/deployments/${pick(['fz2', 'fz3', name()])}` };
      case 8:
        return { method: 'POST', path: `/v2/models/m/infer`, body: serialize(mutate(v2Body())), contentType };
      default:
        return { method: 'POST', path: `/v2/models/trees/infer`, body: serialize(mutate({ inputs: [{ name: 'x', shape: [1, 30], datatype: 'FP32', data: rows[0] }] })), contentType };
    }
  };
}

async function fuzzRun(flags: ConfigFlags): Promise<void> {
  const server = await testServer({ bodyLimit: 64 * 1024, ...flags });
  try {
    const registry = server.platform.services.registry;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await register(registry, 'trees', XGB, ['model.json']);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { model: 'm', version: 1, batching: { max_batch_size: 8 } })).status, 201);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { model: 'trees', version: 1, cache: { enabled: true } })).status, 201);
    const rows = await breastCancerRows();
    const next = fuzzer(rows, 20261123);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent++;
        const req = next();
        const headers: Record<string, string> = req.contentType ? { 'content-type': req.contentType } : {};
        const res = await fetch(`${server.url}${req.path}`, { method: req.method, headers, body: req.body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500 && failures.length < 10) failures.push(`${req.method} ${req.path} ${req.body?.slice(0, 200)} -> ${res.status} ${text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const oversized = await post(`${server.url}/v2/models/m/infer`, { inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: new Array(20_000).fill(0.5) }] });
    assert.equal(oversized.status, 413);
    console.log(`# fuzz: ${sent} requests, statuses ${JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]))}`);
    assert.deepEqual(failures, []);
    assert.ok(sent >= REQUESTS);
    // Alive and still right.
    const live = await fetch(`${server.url}/v2/health/live`);
    assert.equal(live.status, 200);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { name: 'after-fuzz', model: 'm', version: 1 })).status, 201);
    const ok = await post(`${server.url}/v2/models/after-fuzz/infer`, v2Row(rows[0]));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  } finally {
    await server.close();
  }
}

test(`${REQUESTS} malformed requests at every serving route on SQLite: no 5xx, the server lives`, () => fuzzRun({}));

test(`${REQUESTS} malformed requests at every serving route on PostgreSQL: no 5xx, the server lives`, async (t) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  try {
    await fuzzRun({ store: uri });
  } finally {
    await dropSchema(schema);
  }
});
