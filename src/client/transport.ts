/**
 * How the SDK reaches a modelport server: over HTTP, or in-process through Fastify's inject
 * (the CLI's embedded mode), so both paths run the same routes, validation and errors.
 */
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
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${req.path}${encodeQuery(req.query)}`, { method: req.method, headers, body });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw unavailable(
        `no modelport server answers at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); ` +
          'start one with `npx modelport server`, or leave out --server and MODELPORT_SERVER to work on the local data folder',
      );
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
  }

  async close(): Promise<void> {}
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
