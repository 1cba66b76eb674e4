/** The typed TypeScript SDK's core: requests, JSON decoding and errors as ModelportError values. */
import { ModelportError, type ErrorCode } from '../core/errors.js';
import { HTTP_CODE } from './status.js';
import { HttpTransport, type Transport, type TransportRequest } from './transport.js';

export interface ClientOptions {
  /** Bearer token sent with every request. */
  token?: string;
}

export class ModelportClient {
  readonly transport: Transport;

  constructor(target: string | Transport, options: ClientOptions = {}) {
    this.transport =
      typeof target === 'string'
        ? new HttpTransport(target, options.token ? { authorization: `Bearer ${options.token}` } : {})
        : target;
  }

  /** Sends a request and decodes the JSON answer; any 4xx/5xx becomes a ModelportError. */
  async request<T>(req: TransportRequest): Promise<T> {
    const res = await this.transport.request(req);
    return decodeResponse<T>(res.status, res.body.toString('utf8'));
  }

  health(): Promise<{ status: string }> {
    return this.request({ method: 'GET', path: '/health' });
  }

  /** Readiness answers 503 with the failing checks; both answers are returned, not thrown. */
  async ready(): Promise<{ status: string; checks: Record<string, { ok: boolean; error?: string }> }> {
    const res = await this.transport.request({ method: 'GET', path: '/ready' });
    return JSON.parse(res.body.toString('utf8'));
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/**
 * JSON with the NaN, Infinity and -Infinity tokens V2 answers carry (as Triton's do): the tokens
 * outside strings become marked strings, read back as numbers. Undefined when it is not that either.
 */
export function parseWithNonFinite(text: string): unknown {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else {
      const token = c === 'N' ? 'NaN' : c === 'I' ? 'Infinity' : c === '-' && text[i + 1] === 'I' ? '-Infinity' : undefined;
      if (token && text.startsWith(token, i)) {
        out += `${text.slice(from, i)}"\\u0000${token}"`;
        i += token.length - 1;
        from = i + 1;
      }
    }
  }
  try {
    return JSON.parse(out + text.slice(from), (_key, v) => (typeof v === 'string' && v.charCodeAt(0) === 0 && v.slice(1) in NON_FINITE ? NON_FINITE[v.slice(1)] : v));
  } catch {
    return undefined;
  }
}

/** A JSON answer (or text, when it is not JSON); any 4xx/5xx becomes a ModelportError. */
export function decodeResponse<T>(status: number, text: string): T {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = parseWithNonFinite(text) ?? text;
  }
  if (status >= 400) throw errorFromResponse(status, parsed);
  return parsed as T;
}

/** Reads every protocol's error shape back into a ModelportError. */
export function errorFromResponse(status: number, body: unknown): ModelportError {
  const b = body as Record<string, unknown> | undefined;
  let message = `HTTP ${status}`;
  if (typeof b === 'string' && b) message = b;
  else if (b && typeof b.message === 'string') message = b.message;
  else if (b && typeof b.error === 'string') message = b.error;
  else if (b && b.error && typeof (b.error as { message?: unknown }).message === 'string') message = (b.error as { message: string }).message;
  const code: ErrorCode = HTTP_CODE[status] ?? (status >= 500 ? 'Unavailable' : 'InvalidArgument');
  return new ModelportError(code, message, { httpStatus: status, body });
}
