/**
 * What keeps slow, huge or broken clients from starving the others (README "Reliability and
 * limits"): header, request and idle timeouts and a connection cap on the HTTP server, a small
 * body limit for the tracking API, a bound on the bytes of all JSON bodies read at once, and
 * `Connection: close` on every answer that leaves a request body unread.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ServerLimits } from '../config.js';

/** 80% of the process's file-descriptor limit, keeping the rest for stores, files and logs. */
export function defaultMaxConnections(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(64, Math.floor(Number(m[1]) * 0.8));
  } catch {
    // Not Linux: fall through to a limit that fits the usual 1024 descriptors.
  }
  return 800;
}

export function applyServerLimits(server: Server, limits: ServerLimits): void {
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.maxConnections = limits.maxConnections || defaultMaxConnections();
}

/**
 * Closes a connection on which no byte has moved for `idleMs`, as `server.setTimeout(idleMs)`
 * would, from one sweep every eighth of that instead of a timer per connection: Node re-arms a
 * connection's timer (a new Timeout and bound callback) at every request and refreshes it at
 * every read and write, a visible part of a one-row prediction's CPU. A connection is closed
 * between `idleMs` and 9/8 of it after its last byte; an idle keep-alive connection still gets
 * Node's own keep-alive timeout, between requests.
 */
export function closeIdleConnections(server: Server, idleMs: number): void {
  const open = new Map<Socket, { moved: number; since: number }>();
  server.on('connection', (socket: Socket) => {
    open.set(socket, { moved: 0, since: performance.now() });
    socket.once('close', () => open.delete(socket));
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [socket, seen] of open) {
      const moved = socket.bytesRead + socket.bytesWritten;
      if (moved !== seen.moved) {
        seen.moved = moved;
        seen.since = now;
      } else if (now - seen.since >= idleMs) socket.destroy();
    }
  }, Math.max(100, idleMs / 8));
  sweep.unref();
  server.once('close', () => clearInterval(sweep));
}

/** The tracking and registry API of MLflow carries small JSON documents; large ones are mistakes or attacks. */
const TRACKING = /^\/(ajax-)?api\/2\.0\/mlflow\//;

export function limitTrackingBodies(app: FastifyInstance, limits: ServerLimits): void {
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit === undefined && TRACKING.test(route.url ?? '')) route.bodyLimit = limits.trackingBodyLimit;
  });
}

/** Bodies at most this large are not counted: connections × this is already bounded. */
const SMALL_BODY = 1 << 20;
const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b/i;

/**
 * Reserves a large JSON body's declared length from a budget shared by every request, before
 * any of it is read; a request that does not fit is answered 503 (Retry-After) and its
 * connection closed. Uploads of files stream to disk and are not counted.
 */
export function bodyMemoryGate(limits: ServerLimits): (req: IncomingMessage, res: ServerResponse) => boolean {
  let reserved = 0;
  return (req, res) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > SMALL_BODY) || !JSON_TYPE.test(req.headers['content-type'] ?? '')) return true;
    if (reserved + declared > limits.bodyMemory) {
      const body = JSON.stringify({ error: { code: 'RESOURCE_EXHAUSTED', message: `body: the server is reading ${reserved} bytes of request bodies already (MODELPORT_BODY_MEMORY ${limits.bodyMemory}); retry shortly` } });
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': '1', connection: 'close' });
      res.end(body);
      return false;
    }
    reserved += declared;
    res.once('close', () => (reserved -= declared));
    return true;
  };
}

const CLIENT_ERRORS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
};

/**
 * A request the HTTP parser refused (headers too large, a timeout, malformed framing): the rest
 * of its bytes are unread, so the answer says `Connection: close` and the socket is closed after
 * it; a client that reused the connection would otherwise read garbage or a reset.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = (err.code && CLIENT_ERRORS[err.code]) || 400;
  const body = JSON.stringify({ error: { code: 'INVALID_ARGUMENT', message: `request: ${STATUS_CODES[status]} (${err.code ?? err.message})` } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
