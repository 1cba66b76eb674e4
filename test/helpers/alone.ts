/** A handler that answers ahead of Fastify, served on its own: what it declines gets 599, so every other answer is its own. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Handler } from '../../src/server/fast-http.js';

export interface Alone {
  url: string;
  /** How many requests the handler left to Fastify so far. */
  declined(): number;
  close(): Promise<void>;
}

export async function serveAlone(handler: Handler): Promise<Alone> {
  let declined = 0;
  const server = http.createServer((req, res) => {
    if (handler(req, res)) return;
    declined++;
    res.writeHead(599);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    declined: () => declined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
