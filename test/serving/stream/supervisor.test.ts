import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { testServer } from '../../helpers/platform.js';
import { freshRedisPrefix, redisSkip, REDIS_URL } from '../../helpers/services.js';
import { registerSimulated } from '../rollouts/helpers.js';

const skip = await redisSkip();

/** Resolves once `check` is true, polling (a consumer works in the background). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('a stream declared on a deployment is consumed by the server, visible in /metrics, and stops with the declaration', { skip }, async () => {
  const redis = new Redis(REDIS_URL);
  const prefix = freshRedisPrefix();
  const [IN, OUT] = [`${prefix}in`, `${prefix}out`];
  const server = await testServer();
  try {
    const { registry, serving } = server.platform.services;
    await registerSimulated(registry, 'm', 0, 0);
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

    const bad = await api('POST', '/api/v1/deployments', { name: 'd', model: 'm', version: 1, stream: { from: 'http://x/in', to: `${REDIS_URL}/${OUT}` } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /stream\.from: "http:\/\/x\/in" should start with redis:\/\//);

    const ids: string[] = [];
    for (let x = 1; x <= 30; x++) ids.push((await redis.xadd(IN, '*', 'x', String(x), 'region', '0')) as string);
    const malformed = (await redis.xadd(IN, '*', 'x', 'seven', 'region', '0')) as string;
    const created = await api('POST', '/api/v1/deployments', { name: 'd', model: 'm', version: 1, stream: { from: `${REDIS_URL}/${IN}`, to: `${REDIS_URL}/${OUT}`, batch_size: 8 } });
    assert.equal(created.status, 201, await created.clone().text());
    assert.deepEqual(((await created.json()) as { stream: unknown }).stream, { from: `${REDIS_URL}/${IN}`, to: `${REDIS_URL}/${OUT}`, batch_size: 8 });

    await until(async () => (await redis.xlen(OUT)) >= 30 && (await redis.xlen(`${IN}:dead`)) >= 1, '30 predictions and a dead letter');
    const written = (await redis.xrange(OUT, '-', '+')) as [string, string[]][];
    const labels = new Map(written.map(([, f]) => [f[f.indexOf('event_id') + 1], f[f.indexOf('label') + 1]]));
    assert.deepEqual(ids.map((id) => labels.get(id)), ids.map((_, i) => String((i + 1) % 2)));
    const [[, dead]] = (await redis.xrange(`${IN}:dead`, '-', '+')) as [string, string[]][];
    assert.equal(dead[dead.indexOf('event_id') + 1], malformed);
    assert.match(dead[dead.indexOf('reason') + 1], /"seven" is not a number/);
    const metrics = await (await api('GET', '/metrics')).text();
    assert.match(metrics, new RegExp(`modelport_stream_events_total\\{deployment="d",stream="${IN}"\\} 30`));
    assert.match(metrics, new RegExp(`modelport_stream_dead_letters_total\\{deployment="d",stream="${IN}"\\} 1`));
    assert.match(metrics, new RegExp(`modelport_stream_lag\\{deployment="d",stream="${IN}"\\} 0`));

    const removed = await api('PATCH', '/api/v1/deployments/d', { stream: null });
    assert.equal(removed.status, 200);
    assert.equal(((await removed.json()) as { stream?: unknown }).stream, undefined);
    assert.equal(serving.streams().size, 0);
  } finally {
    // Closing waits for the consumers to stop.
    await server.close();
    await redis.del(IN, OUT, `${IN}:dead`);
    redis.disconnect();
  }
});
