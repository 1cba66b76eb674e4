/** The HTTP foundation: health, readiness, OpenAPI, error mapping, limits, request ids. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { invalidArgument, notFound } from '../../src/core/errors.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';

let platform: Platform;
let app: FastifyInstance;

before(async () => {
  platform = await testPlatform({ bodyLimit: 4096 });
  app = await buildApp(platform, { logger: false });
  // A route of the shape domains add, to exercise validation and error mapping.
  await app.register(async (scope) => {
    scope.post(
      '/api/v1/echo',
      {
        config: { permission: 'edit' },
        schema: { body: Type.Object({ name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 0 }) }) },
      },
      async (request) => {
        const body = request.body as { name: string; count: number };
        if (body.name === 'missing') throw notFound('echo "missing" does not exist');
        if (body.name === 'boom') throw new Error('unexpected');
        return body;
      },
    );
    scope.get('/api/2.0/mlflow/probe', { config: { permission: 'read' } }, async () => {
      throw invalidArgument('max_results must be at most 1000');
    });
  });
  await app.ready();
});

after(async () => {
  await app.close();
  await platform.close();
});

test('/health answers ok and /ready reports every store', async () => {
  const health = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/ready' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), {
    status: 'ready',
    checks: { metadata: { ok: true }, artifacts: { ok: true }, online: { ok: true }, serving: { ok: true } },
  });
});

test('/ready answers 503 naming the store that fails', async () => {
  const p = await testPlatform();
  const a = await buildApp(p, { logger: false });
  await p.online.close();
  const ready = await a.inject({ method: 'GET', url: '/ready' });
  assert.equal(ready.statusCode, 503);
  const body = ready.json();
  assert.equal(body.checks.online.ok, false);
  assert.equal(body.checks.metadata.ok, true);
  await a.close();
  await p.metadata.close();
});

test('/openapi.json documents the routes with their schemas, and /docs serves the UI', async () => {
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(spec.openapi, '3.0.3');
  assert.ok(spec.paths['/health']);
  assert.deepEqual(spec.paths['/api/v1/echo'].post.requestBody.content['application/json'].schema.required, ['name', 'count']);
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});

test('schema violations are 400s naming the field', async () => {
  const wrongType = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'a', count: 'many' } });
  assert.equal(wrongType.statusCode, 400);
  assert.equal(wrongType.json().error.code, 'INVALID_ARGUMENT');
  assert.match(wrongType.json().error.message, /^body\.count must be integer/);
  const missing = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'a' } });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().error.message, 'body.count is required');
});

test('malformed JSON is a 400, an oversized body a 413, an unknown route a 404', async () => {
  const bad = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { 'content-type': 'application/json' }, payload: '{"name": ' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /^body: malformed JSON/);
  const big = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'x'.repeat(10_000), count: 1 } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, 'INVALID_ARGUMENT');
  const media = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { 'content-type': 'application/x-foo' }, payload: 'x' });
  assert.equal(media.statusCode, 415);
  const none = await app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
  assert.equal(none.statusCode, 404);
  assert.equal(none.json().error.message, 'no route GET /api/v1/nothing-here');
});

test('domain errors map to statuses; unexpected ones are a 500 without internals', async () => {
  const nf = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'missing', count: 1 } });
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.json().error.code, 'NOT_FOUND');
  const boom = await app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'boom', count: 1 } });
  assert.equal(boom.statusCode, 500);
  assert.match(boom.json().error.message, /^internal error \(request id /);
  assert.ok(!boom.body.includes('unexpected'), 'the internal message is not leaked');
});

test('MLflow routes answer in MLflow error shape', async () => {
  const res = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/probe' });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json(), { error_code: 'INVALID_PARAMETER_VALUE', message: 'max_results must be at most 1000' });
  const unknown = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/nope' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
});

test('request ids: kept from the client when sane, generated otherwise, echoed in the header', async () => {
  const given = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
  assert.equal(given.headers['x-request-id'], 'abc-123');
  const hostile = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\twith spaces' } });
  assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('a route without a declared permission is refused at start-up', async () => {
  const p = await testPlatform();
  const a = await buildApp(p, { logger: false });
  assert.throws(() => a.get('/api/v1/undeclared', async () => 'x'), /declares no permission/);
  await a.close();
  await p.close();
});
