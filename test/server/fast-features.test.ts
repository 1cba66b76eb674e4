import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.js';
import { loadFeatureFile } from '../../src/features/index.js';
import type { RunningServer } from '../../src/server/serve.js';
import { checkAtOnce } from '../../src/server/auth.js';
import { fastFeatures } from '../../src/server/fast-features.js';
import { serveAlone, type Alone } from '../helpers/alone.js';
import { testServer } from '../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../helpers/services.js';

const LOANS = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));
const URL_PATH = '/api/v1/features/online';
/** The same route through the whole server: the handler leaves a request with a query string to Fastify. */
const VIA_FASTIFY = `${URL_PATH}?via=fastify`;

interface Case {
  what: string;
  body: string;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A POST through Node's client, which (unlike fetch) may send any Host header. */
function post(base: string, path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (value: unknown) => JSON.stringify(value);

/**
 * Online feature reads answered ahead of Fastify against Fastify's own route: every request the
 * handler takes must get the answer the route gives (status, body, the headers a client reads,
 * the audit entry of a refusal), with auth off and on.
 */
describe('online feature reads ahead of Fastify answer as the Fastify route does', () => {
  let server: RunningServer;
  let fastUrl: string;
  let alone: Alone;
  let seq = 0;
  const clock = new ManualClock(Date.parse('2025-09-01T00:00:00Z'));

  before(async () => {
    server = await testServer({ bodyLimit: 8 * 1024 }, clock);
    const features = server.platform.services.features;
    await features.apply(await loadFeatureFile(join(LOANS, 'features.yaml')));
    await features.materialize({ endMs: clock.now() });
    alone = await serveAlone(fastFeatures(server.app, {
      features,
      bodyLimit: 8 * 1024,
      requestId: (given) => (typeof given === 'string' ? given : 'made-here'),
      isClosing: () => false,
      access: (req, id) => checkAtOnce(server.app, server.platform, req, id, 'read'),
      refuseNul: false,
    }));
    fastUrl = alone.url;
  });
  after(async () => {
    await alone.close();
    await server.close();
  });

  /** Sends a case both ways (Fastify first, so that a token it verifies is cached for the handler) and compares the answers. */
  const both = async (c: Case): Promise<{ fastify: Answer; direct: Answer }> => {
    const n = ++seq;
    const headers = (way: string) => ({ 'content-type': 'application/json', 'x-request-id': `${way}-${n}`, ...c.headers });
    const fastify = await post(server.url, VIA_FASTIFY, c.body, headers('fastify'));
    const direct = await post(fastUrl, URL_PATH, c.body, headers('direct'));
    assert.equal(direct.status, fastify.status, `${c.what}: status (${direct.text} against ${fastify.text})`);
    // Error bodies name the request id, each way its own.
    assert.equal(direct.text.replace(`direct-${n}`, 'ID'), fastify.text.replace(`fastify-${n}`, 'ID'), `${c.what}: body`);
    for (const name of ['content-type', 'retry-after', 'www-authenticate', 'connection']) assert.equal(direct.headers[name], fastify.headers[name], `${c.what}: ${name}`);
    if (fastify.status < 400) assert.equal(direct.headers['x-request-id'], `direct-${n}`, `${c.what}: the client's request id`);
    return { fastify, direct };
  };

  const ok = { features: ['customer_stats:utilization', 'customer_stats:avg_balance_30d'], entities: { customer_id: [10022, 1] } };
  const onDemand = { features: ['customer_stats:utilization', 'loan_ratios:amount_to_income'], entities: { customer_id: [10022, 1, 10022] }, request_data: { amount: [1000, 2000, 3000], income: [50000, 0, 60000] } };

  test('every case gets the same status, body and headers both ways, auth off', async () => {
    const cases: Case[] = [
      { what: 'a read of two features', body: json(ok) },
      { what: 'a feature service', body: json({ feature_service: 'loan_scoring', entities: { customer_id: [10022, 1] } }) },
      { what: 'a whole view', body: json({ features: ['customer_stats'], entities: { customer_id: [10022] } }) },
      { what: 'on-demand features with request data', body: json(onDemand) },
      { what: 'a charset in the content type', body: json(ok), headers: { 'content-type': 'application/json; charset=utf-8' } },
      { what: 'one feature name, not a list (coerced)', body: json({ features: 'customer_stats:utilization', entities: { customer_id: [10022] } }) },
      { what: 'one entity value, not a list (coerced)', body: json({ features: ['customer_stats:utilization'], entities: { customer_id: 10022 } }) },
      { what: 'a number for a feature name (coerced)', body: json({ features: [1], entities: { customer_id: [10022] } }) },
      { what: 'a number for a feature service (coerced)', body: json({ feature_service: 5, entities: { customer_id: [10022] } }) },
      { what: 'an unknown feature', body: json({ features: ['customer_stats:nope'], entities: { customer_id: [1] } }) },
      { what: 'an unknown view', body: json({ features: ['ghost:x'], entities: { customer_id: [1] } }) },
      { what: 'an unknown feature service', body: json({ feature_service: 'ghost', entities: { customer_id: [1] } }) },
      { what: 'no entities', body: json({ features: ['customer_stats:utilization'] }) },
      { what: 'an empty entities object', body: json({ features: ['customer_stats:utilization'], entities: {} }) },
      { what: 'entities that are no object', body: json({ features: ['customer_stats:utilization'], entities: [1] }) },
      { what: 'an unknown field', body: json({ ...ok, extra: 1 }) },
      { what: 'columns of different lengths', body: json({ features: ['customer_stats:utilization'], entities: { customer_id: [1, 2], other: [1] } }) },
      { what: 'a missing join key', body: json({ features: ['customer_stats:utilization'], entities: { client: [1] } }) },
      { what: 'on-demand features without their request data', body: json({ features: ['loan_ratios:amount_to_income'], entities: { customer_id: [1] } }) },
      { what: 'request data of another length', body: json({ ...onDemand, request_data: { amount: [1], income: [1] } }) },
      { what: 'a number too large for a double', body: '{"features": ["customer_stats:utilization"], "entities": {"customer_id": [1e400]}}' },
      { what: 'a JSON list', body: '[1, 2]' },
      { what: 'JSON null', body: 'null' },
      { what: 'a JSON string', body: '"customer_stats"' },
      { what: 'malformed JSON', body: '{"entities": [' },
      { what: 'only white space', body: '   ' },
      { what: 'prototype poisoning', body: '{"__proto__": {"x": 1}, "entities": {"customer_id": [1]}}' },
      { what: 'constructor poisoning', body: '{"constructor": {"prototype": {"x": 1}}, "entities": {"customer_id": [1]}}' },
      { what: 'a body over the limit', body: json({ ...ok, features: Array.from({ length: 600 }, (_, i) => `customer_stats:f${i}`) }) },
      { what: 'a page of another site', body: json(ok), headers: { origin: 'http://elsewhere.example' } },
      { what: 'a cross-site fetch', body: json(ok), headers: { 'sec-fetch-site': 'cross-site' } },
      { what: 'a Host that is not loopback', body: json(ok), headers: { host: 'rebound.example' } },
    ];
    const statuses = new Set<number>();
    for (const c of cases) statuses.add((await both(c)).direct.status);
    assert.equal(alone.declined(), 0, 'the handler answered every case itself');
    assert.deepEqual([...statuses].sort(), [200, 400, 403, 404, 413], 'the cases cover each kind of answer');
  });

  test('other requests go to Fastify unread', async () => {
    const before = alone.declined();
    const body = json(ok);
    const send = (path: string, headers: Record<string, string>, method = 'POST') =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${fastUrl}${path}`, { method, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end(method === 'GET' ? undefined : body);
      });
    const typed = { 'content-type': 'application/json', 'content-length': String(body.length) };
    assert.equal(await send(`${URL_PATH}?x=1`, typed), 599, 'a query string');
    assert.equal(await send(`${URL_PATH}/`, typed), 599, 'another path');
    assert.equal(await send(URL_PATH, { ...typed, 'content-type': 'text/plain' }), 599, 'another content type');
    assert.equal(await send(URL_PATH, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), 599, 'a chunked body');
    assert.equal(await send(URL_PATH, {}, 'GET'), 599, 'another method');
    assert.equal(alone.declined(), before + 5);
    // Through the whole server, Fastify answers those as usual.
    const plain = await fetch(`${server.url}${URL_PATH}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.status, 400, "Fastify's text parser, then the body schema");
  });

  test('with auth on: the same answers and audit entries both ways; callers only Fastify can judge at once go to it', async () => {
    const security = server.platform.services.security;
    const viewer = (await security.tokens.create({ name: 'reader', role: 'viewer', createdBy: 'test' })).token;
    const scoped = (await security.tokens.create({ name: 'scorer', role: 'viewer', scopes: ['inference:x'], createdBy: 'test' })).token;
    const granted = await security.tokens.create({ name: 'granted', role: 'viewer', createdBy: 'test' });
    await security.grants.set({ subject_kind: 'token', subject: granted.info.id, resource_kind: 'dataset', resource: 'd', permission: 'READ' });
    await security.tokensChanged();
    assert.ok(security.authRequired());

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`any:${token}`).toString('base64')}` });
    const cases: Case[] = [
      { what: 'no token', body: json(ok) },
      { what: 'a viewer', body: json(ok), headers: bearer(viewer) },
      { what: 'a viewer through HTTP Basic', body: json(onDemand), headers: basic(viewer) },
      { what: 'a viewer with a bad body', body: json({ entities: {} }), headers: bearer(viewer) },
      { what: 'an unknown token', body: json(ok), headers: bearer('not-a-token') },
      { what: 'a token scoped to inference', body: json(ok), headers: bearer(scoped) },
      { what: 'no token and a bad body (refused before the body is read)', body: '{"entities": [', headers: {} },
      { what: 'a page of another site, with a token', body: json(ok), headers: { ...bearer(viewer), origin: 'http://elsewhere.example' } },
    ];
    const statuses = new Set<number>();
    const ids: [string, string][] = [];
    const start = alone.declined();
    for (const c of cases) {
      const { direct } = await both(c);
      statuses.add(direct.status);
      ids.push([`fastify-${seq}`, `direct-${seq}`]);
    }
    assert.equal(alone.declined(), start, 'the handler answered every case itself');
    assert.deepEqual([...statuses].sort(), [200, 400, 401, 403]);

    const entries = await security.audit.list();
    const entryOf = (id: string) => {
      const e = entries.find((x) => x.request_id === id);
      return e && { actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, status: e.status, client: e.client };
    };
    for (const [viaFastify, direct] of ids) assert.deepEqual(entryOf(direct), entryOf(viaFastify), `the audit entry of ${direct}`);
    assert.equal(ids.filter(([id]) => entryOf(id)).length, 5, 'each refusal is audited');

    // A token holding grants is judged by Fastify's hooks after validation; so is a token not cached yet.
    const before = alone.declined();
    const first = await post(fastUrl, URL_PATH, json(ok), { 'content-type': 'application/json', ...bearer(granted.token) });
    assert.equal(first.status, 599);
    const fresh = (await security.tokens.create({ name: 'fresh', role: 'viewer', createdBy: 'test' })).token;
    await security.tokensChanged();
    assert.equal((await post(fastUrl, URL_PATH, json(ok), { 'content-type': 'application/json', ...bearer(fresh) })).status, 599);
    assert.equal(alone.declined(), before + 2);
    const viaServer = await post(server.url, URL_PATH, json(ok), { 'content-type': 'application/json', ...bearer(granted.token) });
    assert.equal(viaServer.status, 200);
  });
});

test('on PostgreSQL, text holding NUL is refused both ways alike', async (t) => {
  const skip = await postgresSkip();
  if (skip) return t.skip(skip);
  const { uri, schema } = freshPostgresUri();
  const server = await testServer({ store: uri });
  const alone = await serveAlone(
    fastFeatures(server.app, {
      features: server.platform.services.features,
      bodyLimit: server.platform.config.bodyLimit,
      requestId: () => 'same',
      isClosing: () => false,
      access: (req, id) => checkAtOnce(server.app, server.platform, req, id, 'read'),
      refuseNul: true,
    }),
  );
  try {
    const headers = { 'content-type': 'application/json' };
    for (const body of [json({ features: ['v:f'], entities: { customer_id: ['a\u0000b'] } }), json({ features: ['v:f'], entities: { 'a\u0000b': [1] } }), json({ features: ['v\u0000'], entities: {} })]) {
      const direct = await post(alone.url, URL_PATH, body, headers);
      const fastify = await post(server.url, VIA_FASTIFY, body, { ...headers, 'x-request-id': 'same' });
      assert.equal(direct.status, 400);
      assert.equal(direct.text, fastify.text);
      assert.match(direct.text, /text may not contain the NUL character/);
    }
    assert.equal(alone.declined(), 0);
  } finally {
    await alone.close();
    await server.close();
    await dropSchema(schema);
  }
});
