/**
 * Configuration: flags > environment (MODELPORT_*) > defaults, into one typed Config.
 * This is the only module that reads process.env; everything else receives a Config.
 */
import { delimiter, isAbsolute, resolve } from 'node:path';
import { invalidArgument } from './core/errors.js';

export type StoreUri = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };
export type ArtifactsUri =
  | { kind: 'file'; path: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region: string; forcePathStyle: boolean; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
export type OnlineUri = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string; prefix: string };
export type QueueUri = { kind: 'local' } | { kind: 'redis'; url: string };

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  store: StoreUri;
  artifacts: ArtifactsUri;
  online: OnlineUri;
  queue: QueueUri;
  /** Largest request body the HTTP server accepts, in bytes. */
  bodyLimit: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Milliseconds given to in-flight requests on SIGTERM/SIGINT before connections are cut. */
  shutdownGraceMs: number;
  /** Webhooks may target loopback and private addresses (off: they could reach internal services). */
  allowPrivateWebhookTargets: boolean;
  /** `auto`: required once a token exists or off loopback; `on`: always (a first start writes an admin token). */
  auth: 'auto' | 'on';
  /** MODELPORT_ADMIN_TOKEN: the bootstrap admin token. Never logged. */
  adminToken?: string;
  /** MODELPORT_SERVER_SECRET: the key tokens are hashed under (default: DATA/server-secret); replicas must share it. */
  serverSecret?: string;
  /** Folders server-side paths (datasets from-path) may be read from; none by default. */
  dataRoots: string[];
  /** PEM files: with both, the server speaks HTTPS. */
  tls?: { cert: string; key: string };
  /** Master keys for encryption at rest: a key file (one `id:base64` key per line, the last one current) or one key in MODELPORT_MASTER_KEY. */
  masterKeyFile?: string;
  masterKey?: string;
  /** Whether code models (the js flavor) may be registered and deployed by non-admin tokens; off by default. */
  allowCodeModels: boolean;
  /** MODELPORT_RECONCILE_MS: how often a replica re-reads deployments from the store besides the bus (default 1000, 5000 with a shared bus). */
  reconcileMs?: number;
  /** MODELPORT_TRIGGER_TICK_MS: how often the leading replica evaluates pipeline schedules and triggers (default 2000). */
  triggerTickMs?: number;
  /** Timeouts, connection and body limits that keep hostile or broken clients from starving others. */
  limits: ServerLimits;
}

export interface ServerLimits {
  /** MODELPORT_HEADERS_TIMEOUT_MS: a client must send its request line and headers within this. */
  headersTimeoutMs: number;
  /** MODELPORT_REQUEST_TIMEOUT_MS: a client must send its whole request, body included, within this. */
  requestTimeoutMs: number;
  /** MODELPORT_IDLE_TIMEOUT_MS: a connection on which nothing moves for this long is closed. */
  idleTimeoutMs: number;
  /** MODELPORT_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** MODELPORT_MAX_CONNECTIONS: open connections per server process; 0 = 80% of the file-descriptor limit. */
  maxConnections: number;
  /** MODELPORT_TRACKING_BODY_LIMIT: largest JSON body of the MLflow tracking and registry API, in bytes. */
  trackingBodyLimit: number;
  /** MODELPORT_BODY_MEMORY: bytes that all request bodies being read into memory may take together. */
  bodyMemory: number;
  /** MODELPORT_UPLOAD_LIMIT: largest artifact, model or dataset file accepted in one upload, in bytes. */
  uploadLimit: number;
  /** MODELPORT_MIN_FREE_DISK: file artifact stores refuse writes (507) below this much free space, in bytes. */
  minFreeDisk: number;
}

/** What flags can set; every field is optional and wins over the environment. */
export interface ConfigFlags {
  host?: string;
  port?: string | number;
  data?: string;
  store?: string;
  artifacts?: string;
  online?: string;
  queue?: string;
  bodyLimit?: string | number;
  logLevel?: string;
  allowPrivateWebhookTargets?: boolean;
  auth?: string;
  dataRoots?: string;
  tlsCert?: string;
  tlsKey?: string;
  masterKeyFile?: string;
  allowCodeModels?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const pick = (flag: string | number | undefined, name: string): string | undefined =>
    flag !== undefined ? String(flag) : env[`MODELPORT_${name}`];

  const dataDir = resolve(cwd, pick(flags.data, 'DATA') ?? './modelport-data');
  const host = pick(flags.host, 'HOST') ?? '127.0.0.1';
  const port = parseInteger(pick(flags.port, 'PORT') ?? '5000', 'port', 0, 65535);
  const bodyLimit = parseInteger(pick(flags.bodyLimit, 'BODY_LIMIT') ?? String(64 * 1024 * 1024), 'body-limit', 1024, 2 ** 31);
  const logLevel = pick(flags.logLevel, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw invalidArgument(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    host,
    port,
    dataDir,
    store: parseStoreUri(pick(flags.store, 'STORE') ?? `sqlite:${resolve(dataDir, 'modelport.db')}`, cwd),
    artifacts: parseArtifactsUri(pick(flags.artifacts, 'ARTIFACTS') ?? `file:${resolve(dataDir, 'artifacts')}`, cwd, env),
    online: parseOnlineUri(pick(flags.online, 'ONLINE') ?? `sqlite:${resolve(dataDir, 'online.db')}`, cwd),
    queue: parseQueueUri(pick(flags.queue, 'QUEUE') ?? 'local'),
    bodyLimit,
    logLevel: logLevel as Config['logLevel'],
    allowPrivateWebhookTargets: flags.allowPrivateWebhookTargets ?? parseBoolean(env.MODELPORT_ALLOW_PRIVATE_WEBHOOK_TARGETS ?? 'false', 'MODELPORT_ALLOW_PRIVATE_WEBHOOK_TARGETS'),
    auth: parseAuth(pick(flags.auth, 'AUTH') ?? 'auto'),
    adminToken: env.MODELPORT_ADMIN_TOKEN || undefined,
    serverSecret: env.MODELPORT_SERVER_SECRET || undefined,
    tls: parseTls(pick(flags.tlsCert, 'TLS_CERT'), pick(flags.tlsKey, 'TLS_KEY'), cwd),
    masterKeyFile: ((f) => (f ? resolve(cwd, f) : undefined))(pick(flags.masterKeyFile, 'MASTER_KEY_FILE')),
    masterKey: env.MODELPORT_MASTER_KEY || undefined,
    allowCodeModels: flags.allowCodeModels ?? parseBoolean(env.MODELPORT_ALLOW_CODE_MODELS ?? 'false', 'MODELPORT_ALLOW_CODE_MODELS'),
    dataRoots: (pick(flags.dataRoots, 'DATA_ROOTS') ?? '').split(delimiter).filter((r) => r !== '').map((r) => resolve(cwd, r)),
    shutdownGraceMs: parseInteger(env.MODELPORT_SHUTDOWN_GRACE_MS ?? '10000', 'MODELPORT_SHUTDOWN_GRACE_MS', 0, 3_600_000),
    reconcileMs: env.MODELPORT_RECONCILE_MS ? parseInteger(env.MODELPORT_RECONCILE_MS, 'MODELPORT_RECONCILE_MS', 50, 86_400_000) : undefined,
    triggerTickMs: env.MODELPORT_TRIGGER_TICK_MS ? parseInteger(env.MODELPORT_TRIGGER_TICK_MS, 'MODELPORT_TRIGGER_TICK_MS', 50, 3_600_000) : undefined,
    limits: parseLimits(env),
  };
}

const MiB = 1024 * 1024;

function parseLimits(env: NodeJS.ProcessEnv): ServerLimits {
  const int = (name: string, fallback: number, min: number, max: number) => parseInteger(env[`MODELPORT_${name}`] ?? String(fallback), `MODELPORT_${name}`, min, max);
  return {
    headersTimeoutMs: int('HEADERS_TIMEOUT_MS', 10_000, 1000, 3_600_000),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 300_000, 1000, 86_400_000),
    idleTimeoutMs: int('IDLE_TIMEOUT_MS', 120_000, 1000, 86_400_000),
    keepAliveTimeoutMs: int('KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 3_600_000),
    maxConnections: int('MAX_CONNECTIONS', 0, 0, 1_000_000),
    trackingBodyLimit: int('TRACKING_BODY_LIMIT', 8 * MiB, 1024, 2 ** 31),
    bodyMemory: int('BODY_MEMORY', 256 * MiB, MiB, 2 ** 40),
    uploadLimit: int('UPLOAD_LIMIT', 16 * 1024 * MiB, 1024, 2 ** 50),
    minFreeDisk: int('MIN_FREE_DISK', 256 * MiB, 0, 2 ** 50),
  };
}

function parseTls(cert: string | undefined, key: string | undefined, cwd: string): Config['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw invalidArgument(`--${cert === undefined ? 'tls-cert' : 'tls-key'}: TLS needs both --tls-cert and --tls-key`);
  return { cert: resolve(cwd, cert), key: resolve(cwd, key) };
}

function parseAuth(text: string): Config['auth'] {
  if (text === 'auto' || text === 'on') return text;
  throw invalidArgument(`--auth: "${text}" is not auto or on`);
}

function parseInteger(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw invalidArgument(`--${name}: "${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) throw invalidArgument(`--${name}: ${value} is outside ${min}..${max}`);
  return value;
}

function parseBoolean(text: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off|)$/i.test(text)) return false;
  throw invalidArgument(`${name}: "${text}" is not true or false`);
}

function localPath(rest: string, cwd: string): string {
  // SQLite's in-memory database, for tests and throwaway embedded use.
  if (rest === ':memory:') return rest;
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw invalidArgument('a file URI needs a path, e.g. sqlite:./modelport.db');
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function parseUrl(text: string, flag: string): URL {
  try {
    return new URL(text);
  } catch {
    throw invalidArgument(`--${flag}: "${text}" is not a valid URI`);
  }
}

export function parseStoreUri(text: string, cwd = process.cwd()): StoreUri {
  if (text.startsWith('sqlite:')) return { kind: 'sqlite', path: localPath(text.slice('sqlite:'.length), cwd) };
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    const url = parseUrl(text, 'store');
    const schema = url.searchParams.get('schema') ?? undefined;
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw invalidArgument(`--store: schema "${schema}" must be a plain SQL identifier`);
    }
    url.searchParams.delete('schema');
    return { kind: 'postgres', url: url.toString(), schema };
  }
  throw invalidArgument(`--store: "${text}" is not supported; use sqlite:PATH or postgres://USER@HOST:PORT/DB`);
}

export function parseArtifactsUri(text: string, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): ArtifactsUri {
  if (text.startsWith('file:')) return { kind: 'file', path: localPath(text.slice('file:'.length), cwd) };
  if (text.startsWith('s3://')) {
    const url = parseUrl(text, 'artifacts');
    if (!url.hostname) throw invalidArgument(`--artifacts: "${text}" names no bucket; use s3://BUCKET/PREFIX`);
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    return {
      kind: 's3',
      bucket: url.hostname,
      prefix: url.pathname.replace(/^\/+|\/+$/g, ''),
      endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined,
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // S3-compatible servers (MinIO, Ceph, R2) mostly want path-style addressing.
      forcePathStyle: (env.AWS_S3_FORCE_PATH_STYLE ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL ? 'true' : 'false')) === 'true',
      credentials:
        accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
    };
  }
  throw invalidArgument(`--artifacts: "${text}" is not supported; use file:PATH or s3://BUCKET/PREFIX`);
}

export function parseOnlineUri(text: string, cwd = process.cwd()): OnlineUri {
  if (text.startsWith('sqlite:')) return { kind: 'sqlite', path: localPath(text.slice('sqlite:'.length), cwd) };
  if (text.startsWith('redis://') || text.startsWith('rediss://')) {
    const url = parseUrl(text, 'online');
    const prefix = url.searchParams.get('prefix') ?? 'modelport:';
    url.searchParams.delete('prefix');
    return { kind: 'redis', url: url.toString(), prefix };
  }
  throw invalidArgument(`--online: "${text}" is not supported; use sqlite:PATH or redis://HOST:PORT`);
}

export function parseQueueUri(text: string): QueueUri {
  if (text === 'local') return { kind: 'local' };
  if (text.startsWith('redis://') || text.startsWith('rediss://')) {
    parseUrl(text, 'queue');
    return { kind: 'redis', url: text };
  }
  throw invalidArgument(`--queue: "${text}" is not supported; use local or redis://HOST:PORT`);
}

/** A URI with its password masked (or, with an empty mask, left out), safe to log or to write down. */
export function redact(uri: string, mask = '***'): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = mask;
    // libpq and Redis clients also take the password as a query parameter.
    if (url.searchParams.has('password')) {
      if (mask) url.searchParams.set('password', mask);
      else url.searchParams.delete('password');
    }
    return url.toString();
  } catch {
    return uri;
  }
}
