/**
 * Stores going away under a running server and coming back (issue 20): the server stays up,
 * /ready names the store that is gone, requests needing it fail with an error answer instead of
 * hanging or crashing, and once the store is back everything written before is there and new
 * writes work, without a restart. Each store sits behind a TCP proxy the test cuts and restores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { parseArtifactsUri } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';
import { testConfig } from '../helpers/platform.js';
import { outageProxy } from '../helpers/outage.js';
import { freshRedisPrefix, redisSkip, REDIS_URL, startS3Server } from '../helpers/services.js';

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const readiness = async (url: string) => {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, { ok: boolean }> }).checks };
};

test('S3 goes away and comes back: errors meanwhile, then every artifact readable and writes work', async () => {
  const s3 = await startS3Server();
  const proxy = await outageProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
  const config = testConfig();
  config.artifacts = parseArtifactsUri(`s3://${s3.bucket}/outage`, process.cwd(), {
    AWS_ENDPOINT_URL_S3: `http://${proxy.address}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  const server = await startServer(config, { logger: false });
  const artifact = (name: string) => `${server.url}/api/2.0/mlflow-artifacts/artifacts/outage/${name}`;
  const before = Buffer.from('written before the outage');
  try {
    assert.equal((await fetch(artifact('before.txt'), { method: 'PUT', body: before })).status, 200);

    await proxy.cut();
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const down = await readiness(server.url);
    assert.equal(down.status, 503);
    assert.equal(down.checks.artifacts.ok, false);
    assert.equal(down.checks.metadata.ok, true);
    const refusedWrite = await fetch(artifact('during.txt'), { method: 'PUT', body: 'x' });
    assert.ok(refusedWrite.status >= 500, `a write while S3 is gone fails (${refusedWrite.status})`);
    const refusedRead = await fetch(artifact('before.txt'));
    assert.ok(refusedRead.status >= 500, `a read while S3 is gone fails (${refusedRead.status})`);
    await refusedRead.arrayBuffer();

    await proxy.restore();
    await until('/ready after S3 is back', async () => (await readiness(server.url)).status === 200);
    assert.deepEqual(Buffer.from(await (await fetch(artifact('before.txt'))).arrayBuffer()), before);
    assert.equal((await fetch(artifact('after.txt'), { method: 'PUT', body: 'after' })).status, 200);
    assert.equal(await (await fetch(artifact('after.txt'))).text(), 'after');
  } finally {
    await server.close();
    await proxy.close();
    await s3.close();
  }
});

test('Redis goes away and comes back: the online store is reported down, then answers again with its data', async (t) => {
  const skip = await redisSkip();
  if (skip) return t.skip(skip);
  const redis = new URL(REDIS_URL);
  const proxy = await outageProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  const prefix = freshRedisPrefix();
  const server = await startServer(testConfig({ online: `redis://${proxy.address}?prefix=${encodeURIComponent(prefix)}` }), { logger: false });
  const online = server.platform.online;
  try {
    await online.set('k', 'before');

    await proxy.cut();
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    await until('/ready to name the online store', async () => {
      const r = await readiness(server.url);
      return r.status === 503 && !r.checks.online.ok && r.checks.metadata.ok;
    });

    await proxy.restore();
    await until('/ready after Redis is back', async () => (await readiness(server.url)).status === 200);
    assert.equal((await online.get('k'))?.toString(), 'before');
    await online.set('k2', 'after');
    assert.equal((await online.get('k2'))?.toString(), 'after');
  } finally {
    await server.close();
    await proxy.close();
    const direct = new Redis(REDIS_URL);
    const keys = await direct.keys(`${prefix}*`);
    if (keys.length > 0) await direct.del(...keys);
    await direct.quit();
  }
});
