/**
 * Hostile and broken clients against a real server with small limits: oversized headers and
 * bodies are answered with `Connection: close`, a client that never finishes its headers is cut
 * off, large JSON bodies share a memory budget, uploads have a limit, and other clients are
 * answered throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { testConfig } from '../helpers/platform.js';

async function limitedServer(): Promise<RunningServer> {
  const config = testConfig();
  config.limits = { ...config.limits, headersTimeoutMs: 1000, trackingBodyLimit: 4096, bodyMemory: 3 << 20, uploadLimit: 1000, maxConnections: 500 };
  return startServer(config, { logger: false });
}

/** Sends raw bytes on a fresh connection; resolves with all the server wrote once it closes the connection. */
function raw(url: string, ...chunks: string[]): { done: Promise<string>; socket: net.Socket } {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let got = '';
  socket.on('data', (d) => (got += d));
  for (const c of chunks) socket.write(c);
  return { socket, done: new Promise((resolve) => socket.on('close', () => resolve(got))) };
}

test('limits: 431, 413 and 503 close the connection; slow headers are cut; uploads are capped', async () => {
  const server = await limitedServer();
  const { hostname } = new URL(server.url);
  try {
    assert.equal(server.app.server.maxConnections, 500);

    const big = raw(server.url, `GET /health HTTP/1.1\r\nHost: ${hostname}\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    const answer431 = await big.done;
    assert.match(answer431, /^HTTP\/1\.1 431 /);
    assert.match(answer431, /\r\nConnection: close\r\n/i);

    const body = JSON.stringify({ run_id: 'x', params: [{ key: 'k', value: 'v'.repeat(8000) }] });
    const tooLarge = raw(server.url, `POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const answer413 = await tooLarge.done;
    assert.match(answer413, /^HTTP\/1\.1 413 /);
    assert.match(answer413, /\r\nconnection: close\r\n/i);

    // A client that sends half its headers and then nothing is cut off; others are served meanwhile.
    const slow = raw(server.url, `GET /health HTTP/1.1\r\nHost: ${hostname}\r\n`);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.match(await slow.done, /^HTTP\/1\.1 408 [^]*Connection: close/i);

    // Two 2 MiB JSON bodies in flight do not fit a 3 MiB budget: the second is refused before it is read.
    const declared = 2 << 20;
    const head = (path: string) => `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{"inputs":`;
    const first = raw(server.url, head('/invocations'));
    await new Promise((r) => setTimeout(r, 100));
    const second = raw(server.url, head('/invocations'));
    const answer503 = await second.done;
    assert.match(answer503, /^HTTP\/1\.1 503 [^]*retry-after: 1[^]*connection: close[^]*MODELPORT_BODY_MEMORY/i);
    first.socket.destroy();

    const upload = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/x/big.bin`, { method: 'PUT', body: Buffer.alloc(5000) });
    assert.equal(upload.status, 413);
    assert.match(await upload.text(), /MODELPORT_UPLOAD_LIMIT/);
    assert.equal(upload.headers.get('connection'), 'close');
    const small = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/x/small.bin`, { method: 'PUT', body: Buffer.alloc(500) });
    assert.equal(small.status, 200);
  } finally {
    await server.close();
  }
});

test('V2 fast path: an early error that leaves the body unread says Connection: close and closes; a read body keeps the connection', async () => {
  const config = testConfig({ auth: 'on', bodyLimit: 1024 });
  const server = await startServer(config, { logger: false });
  const { hostname } = new URL(server.url);
  const token = readFileSync(server.adminTokenFile!, 'utf8').trim();
  const head = (extra: string) => `POST /v2/models/m/infer HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${extra}\r\n`;
  try {
    const answers = {
      401: await raw(server.url, head('Content-Length: 500\r\n'), '{"inputs":').done,
      413: await raw(server.url, head(`Authorization: Bearer ${token}\r\nContent-Length: 5000\r\n`), '{"inputs":').done,
      '413 streamed': await raw(server.url, head(`Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n`), `800\r\n${' '.repeat(2048)}\r\n`).done,
    };
    for (const [status, answer] of Object.entries(answers)) {
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status.slice(0, 3)} `), status);
      assert.match(answer, /\r\nconnection: close\r\n/i, status);
    }
    const read = await fetch(`${server.url}/v2/models/m/infer`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"inputs": [' });
    assert.equal(read.status, 400);
    assert.equal(read.headers.get('connection'), 'keep-alive');
  } finally {
    await server.close();
  }
});

test('a connection on which nothing moves for the idle timeout is closed', async () => {
  const config = testConfig();
  config.limits = { ...config.limits, idleTimeoutMs: 400, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 };
  const server = await startServer(config, { logger: false });
  const { hostname } = new URL(server.url);
  try {
    // A body that stops halfway: only the idle timeout ends the connection.
    const stalled = raw(server.url, `POST /v2/models/m/infer HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`, '{"inputs":');
    assert.equal(await stalled.done, '');
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
  } finally {
    await server.close();
  }
});
