/**
 * The one way the UI talks to the server: fetch with the stored credentials, errors turned into
 * `ApiError` whatever protocol's shape they came in (modelport, MLflow, V2), and a 401 turned
 * into a sign-in prompt.
 */
const TOKEN_KEY = 'modelport.token';
const USER_KEY = 'modelport.user';

export interface Credentials {
  /** Sent as `Authorization: Bearer` once the server has asked for it. */
  token?: string;
  /** Sent as `x-modelport-user`: the registry's identity for approvals until token auth lands. */
  user?: string;
}

export function credentials(): Credentials {
  return { token: localStorage.getItem(TOKEN_KEY) ?? undefined, user: localStorage.getItem(USER_KEY) ?? undefined };
}

export function saveCredentials(c: Credentials): void {
  for (const [key, value] of [
    [TOKEN_KEY, c.token],
    [USER_KEY, c.user],
  ] as const) {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  }
  authListeners.forEach((l) => l(false));
}

type AuthListener = (needed: boolean) => void;
const authListeners = new Set<AuthListener>();

/** Called with true when the server refused a request for want of a (valid) token. */
export function onAuthChange(listener: AuthListener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined | (string | number)[]>;

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const { token, user } = credentials();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(user ? { 'x-modelport-user': user } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  let code = `HTTP_${res.status}`;
  let message = text || res.statusText;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } | string; error_code?: string; message?: string };
    if (typeof body.error === 'object' && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    } else if (typeof body.error === 'string') {
      message = body.error;
    } else if (body.error_code) {
      code = body.error_code;
      message = body.message ?? message;
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  if (res.status === 401) authListeners.forEach((l) => l(true));
  return new ApiError(res.status, code, message);
}

/** A request whose answer is returned raw (text, bytes, Prometheus exposition). */
export async function fetchRaw(path: string, init: { method?: string; body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await fetch(path, { method: init.method ?? 'GET', body: init.body, headers: headers(init.headers) });
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  const res = await fetchRaw(`${path}${queryString(query)}`, { headers: { accept: 'application/json' } });
  return (await res.json()) as T;
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetchRaw(path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}
