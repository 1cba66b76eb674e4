/**
 * The bad inputs that reached a 500 in the chaos probe, on both engines: non-finite and
 * out-of-range numbers, NUL bytes (PostgreSQL cannot store them), and order_by keys that name
 * a plain object's prototype members. Each is a 400 naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigFlags } from '../../src/config.js';
import { testServer } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';

type Probe = [method: string, path: string, body: unknown, expected: RegExp];

async function probe(flags: ConfigFlags, engine: 'sqlite' | 'postgres'): Promise<void> {
  const server = await testServer(flags);
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(server.url + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, text: await res.text() };
    };
    const { text } = await call('POST', '/api/2.0/mlflow/experiments/create', { name: 'edge' });
    const experiment_id = JSON.parse(text).experiment_id as string;
    const probes: Probe[] = [
      ['GET', '/api/v1/alerts?limit=Infinity', undefined, /querystring\.limit must be a finite number/],
      ['GET', '/api/v1/alerts?limit=1e309', undefined, /querystring\.limit must be a finite number/],
      ['POST', '/api/2.0/mlflow/runs/create', { experiment_id, start_time: 1e20 }, /body\.start_time must be <= 9007199254740991/],
      ['POST', '/api/2.0/mlflow/runs/create', { experiment_id, start_time: 'Infinity' }, /start_time/],
      ['POST', '/api/v1/datasets/d/schema/infer', { version: 1e20 }, /body\.version must be <= 9007199254740991/],
      ['GET', `/api/v1/registry/models/m/versions/${2 ** 53 + 2}`, undefined, /version/],
      ['POST', '/api/2.0/mlflow/runs/search', { experiment_ids: [experiment_id], order_by: ['__proto__'] }, /invalid order_by attribute "__proto__"/],
      ['POST', '/api/2.0/mlflow/runs/search', { experiment_ids: [experiment_id], order_by: ['constructor'] }, /invalid order_by attribute "constructor"/],
      ['POST', '/api/2.0/mlflow/runs/search', { experiment_ids: [experiment_id], filter: 'toString = 1' }, /invalid attribute key "toString"/],
      ['POST', '/api/2.0/mlflow/experiments/search', { order_by: ['toString DESC'] }, /invalid order_by attribute "toString"/],
    ];
    if (engine === 'postgres') {
      probes.push(
        ['GET', '/api/2.0/mlflow/runs/get?run_id=a%00b', undefined, /querystring\.run_id: text may not contain the NUL character/],
        ['POST', '/api/2.0/mlflow/experiments/create', { name: 'a\u0000b' }, /body\.name: text may not contain the NUL character/],
        ['GET', '/api/v1/deployments/a%00b', undefined, /params\.name: text may not contain the NUL character/],
        ['GET', '/v2/models/a%00b', undefined, /NUL character/],
      );
    }
    for (const [method, path, body, expected] of probes) {
      const res = await call(method, path, body);
      assert.equal(res.status, 400, `${engine} ${method} ${path} ${JSON.stringify(body)} -> ${res.status} ${res.text}`);
      const parsed = JSON.parse(res.text) as { message?: string; error?: string | { message: string } };
      const message = parsed.message ?? (typeof parsed.error === 'string' ? parsed.error : parsed.error?.message);
      assert.match(message ?? '', expected, `${method} ${path}`);
    }
    // SQLite stores NUL; the same request is an ordinary miss there.
    if (engine === 'sqlite') assert.equal((await call('GET', '/api/2.0/mlflow/runs/get?run_id=a%00b')).status, 404);
  } finally {
    await server.close();
  }
}

test('bad numbers and prototype keys answer 400 on SQLite', () => probe({}, 'sqlite'));

test('bad numbers, prototype keys and NUL bytes answer 400 on PostgreSQL', async (t) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  try {
    await probe({ store: uri }, 'postgres');
  } finally {
    await dropSchema(schema);
  }
});

test('a non-finite number deep in a body is named by its path', async () => {
  const server = await testServer({});
  try {
    // JSON cannot spell infinity, but a number too large for a double parses as one.
    const res = await fetch(`${server.url}/api/v1/features/online`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"features":["v:f"],"entities":{"customer_id":[1,"x",null,{"a":[2,1e400]}]}}',
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /body\.entities\.customer_id\.3\.a\.1 must be a finite number/);
  } finally {
    await server.close();
  }
});
