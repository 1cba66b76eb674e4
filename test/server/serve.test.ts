/** A real server on a loopback port: listening, port conflicts, graceful shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { testServer } from '../helpers/platform.js';

test('close() lets an in-flight request finish and then refuses new ones', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = await testServer({}, undefined, {
    plugins: [
      async (app) => {
        app.get('/slow', { config: { permission: 'public' } }, async () => {
          await gate;
          return { finished: true };
        });
      },
    ],
  });
  const inflight = fetch(`${server.url}/slow`).then((r) => r.json());
  await sleep(100);
  const closing = server.close();
  await sleep(50);
  const refused = await fetch(`${server.url}/health`).then(
    (r) => r.status,
    () => 'refused',
  );
  assert.ok(refused === 'refused' || refused === 503, `a new request during shutdown is refused (got ${refused})`);
  release();
  assert.deepEqual(await inflight, { finished: true });
  await closing;
});

test('a port already in use is a one-line InvalidArgument naming --port', async () => {
  const first = await testServer();
  const port = Number(new URL(first.url).port);
  await assert.rejects(testServer({ port }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'InvalidArgument');
    assert.equal(err.message, `--port: 127.0.0.1:${port} is already in use; choose another with --port`);
    return true;
  });
  await first.close();
});

test('the server binds loopback by default', async () => {
  const server = await testServer();
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const status = await new Promise<number>((resolve, reject) => {
    request(`${server.url}/health`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);
  await server.close();
});
