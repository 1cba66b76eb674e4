import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HttpTransport } from '../../src/client/transport.js';

/** A loopback server answering with `handle`; each request learns how many came before it on its connection. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, onSocket: number, socket: number) => void) {
  const sockets = new Map<Socket, number>();
  const perSocket = new Map<Socket, number>();
  const server = createServer((req, res) => {
    const seen = perSocket.get(req.socket) ?? 0;
    perSocket.set(req.socket, seen + 1);
    handle(req, res, seen, sockets.get(req.socket)!);
  });
  server.on('connection', (socket) => sockets.set(socket, sockets.size));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => sockets.size,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

test('requests carry method, query, headers and a JSON body, reuse one connection, and answer status, headers and bytes', async () => {
  const server = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('x-echo', String(req.headers.authorization));
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.statusCode = req.method === 'POST' ? 201 : 200;
      res.end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'], length: req.headers['content-length'], body: Buffer.concat(chunks).toString() }));
    });
  });
  try {
    const transport = new HttpTransport(server.url, { authorization: 'Bearer t' });
    const posted = await transport.request({ method: 'POST', path: '/api/x', query: { a: 1, b: ['p', 'q'], c: undefined }, body: { name: 'é' } });
    assert.equal(posted.status, 201);
    assert.equal(posted.headers['x-echo'], 'Bearer t');
    assert.equal(posted.headers['set-cookie'], 'a=1, b=2');
    assert.deepEqual(JSON.parse(posted.body.toString()), { method: 'POST', url: '/api/x?a=1&b=p&b=q', type: 'application/json', length: '13', body: '{"name":"é"}' });
    const got = await transport.request({ method: 'GET', path: '/api/y' });
    assert.equal(got.status, 200);
    assert.equal(JSON.parse(got.body.toString()).length, undefined);
    assert.equal(server.connections(), 1);
  } finally {
    await server.close();
  }
});

test('a pooled connection the server drops before answering is replaced once; a fresh one that drops is an error naming the server', async () => {
  // The second request on any connection is dropped unanswered, as a server that closed an idle connection does.
  const server = await serve((_req, res, onSocket, socket) => {
    if (onSocket > 0) res.socket!.destroy();
    else res.end(`socket ${socket}`);
  });
  try {
    const transport = new HttpTransport(server.url);
    assert.equal((await transport.request({ method: 'GET', path: '/' })).body.toString(), 'socket 0');
    assert.equal((await transport.request({ method: 'POST', path: '/', body: { n: 1 } })).body.toString(), 'socket 1');
    assert.equal(server.connections(), 2);
  } finally {
    await server.close();
  }
  const dropping = await serve((_req, res) => res.socket!.destroy());
  try {
    await assert.rejects(new HttpTransport(dropping.url).request({ method: 'GET', path: '/' }), (err: Error) => {
      assert.match(err.message, new RegExp(`^no modelport server answers at ${dropping.url.replace(/\./g, '\\.')} \\(ECONNRESET\\)`));
      return true;
    });
    assert.equal(dropping.connections(), 1);
  } finally {
    await dropping.close();
  }
});
