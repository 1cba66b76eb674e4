/**
 * How the SDK reaches a modelport server: over HTTP, or in-process through Fastify's inject
 * (the CLI's embedded mode), so both paths run the same routes, validation and errors.
 */
import http from 'node:http';
import https from 'node:https';
import type { FastifyInstance } from 'fastify';
import { invalidArgument, unavailable } from '../core/errors.js';

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined | (string | number)[]>;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}

export function encodeQuery(query: TransportRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function encodeBody(body: unknown, headers: Record<string, string>): string | Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body) || typeof body === 'string') return body;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

/** A server URL as people type it: `host:port` means http, as it does for curl. */
export function serverUrl(given: string): string {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument(`--server: "${given}" is not a URL; give one like http://127.0.0.1:5000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument(`--server: "${given}" must be an http:// or https:// URL`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Keep-alive agents, so the calls an SDK client makes to one server reuse their connections. Node
 * unrefs a socket while it waits in the pool, so an idle client never holds the process open.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * Over node:http rather than fetch: fetch's body streams transfer (detach) ArrayBuffers, and once
 * a process has detached one, V8's optimised code checks every typed array access for it; a loans
 * GBDT fit after one fetch took about 250 ms against 180 (`modelport train --server` logs each
 * round through this transport).
 */
export class HttpTransport implements Transport {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly defaultHeaders: Record<string, string> = {},
  ) {
    this.baseUrl = serverUrl(baseUrl);
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const headers = { ...this.defaultHeaders, ...req.headers };
    const body = encodeBody(req.body, headers);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const url = new URL(`${this.baseUrl}${req.path}${encodeQuery(req.query)}`);
    try {
      return await exchange(url, req.method, headers, (out) => void out.end(body), true);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw unavailable(
        `no modelport server answers at ${this.baseUrl} (${code ?? (err as Error).message}); ` +
          'start one with `npx modelport server`, or leave out --server and MODELPORT_SERVER to work on the local data folder',
      );
    }
  }

  async close(): Promise<void> {}
}

/**
 * One request over node:http(s) and its whole response, its body written by `send`. A body that
 * can be sent again (`replayable`) goes over a pooled connection; one the server closed while it
 * sat idle fails with ECONNRESET before any answer, and the request is sent once more on a fresh
 * one. A streamed body (an upload), and the second try, take a connection of their own.
 */
export function exchange(url: URL, method: string, headers: Record<string, string>, send: (req: http.ClientRequest) => void | Promise<void>, replayable: boolean): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
    const req = (protocol === 'https:' ? https : http).request(url, { method, headers, agent: replayable ? agents[protocol] : false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (replayable && req.reusedSocket && err.code === 'ECONNRESET') resolve(exchange(url, method, headers, send, false));
      else reject(err);
    });
    Promise.resolve(send(req)).catch(reject);
  });
}

export class InjectTransport implements Transport {
  constructor(
    private readonly app: FastifyInstance,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async request(req: TransportRequest): Promise<TransportResponse> {
    const headers = { ...req.headers };
    const payload = encodeBody(req.body, headers);
    const res = await this.app.inject({ method: req.method, url: `${req.path}${encodeQuery(req.query)}`, headers, payload });
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) outHeaders[k] = String(v);
    return { status: res.statusCode, headers: outHeaders, body: res.rawPayload };
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
