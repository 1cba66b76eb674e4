/**
 * Real backing services for adapter tests: PostgreSQL and Redis on loopback, and an in-process
 * S3-compatible server (s3rver). When a service is absent the tests that need it skip with a
 * clear line; CI sets MODELPORT_REQUIRE_SERVICES=1 so that an absent service fails instead.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { Redis } from 'ioredis';

export const POSTGRES_URL = process.env.MODELPORT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.MODELPORT_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.MODELPORT_REQUIRE_SERVICES === '1';

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder removed when the test process exits. */
export function tempDir(label = 'mp'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  dirs.push(dir);
  return dir;
}

/** How long a probe keeps retrying before it calls a service absent: a busy machine answers late. */
const PROBE_PATIENCE_MS = 30_000;

async function probe(what: string, check: () => Promise<void>): Promise<string | false> {
  const deadline = Date.now() + PROBE_PATIENCE_MS;
  for (;;) {
    try {
      await check();
      return false;
    } catch (err) {
      if (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      return absent(what, err as Error);
    }
  }
}

function absent(what: string, err: Error): string {
  const reason = `${what} is not reachable (${err.message}); skipping its tests`;
  if (REQUIRED) throw new Error(`${reason}, but MODELPORT_REQUIRE_SERVICES=1`);
  console.log(`# SKIP: ${reason}`);
  return reason;
}

let postgresProbe: Promise<string | false> | undefined;
let redisProbe: Promise<string | false> | undefined;

/** `false` when PostgreSQL answers, else the reason to skip (pass it as the test's `skip`); probed once per process. */
export function postgresSkip(): Promise<string | false> {
  return (postgresProbe ??= probe(`PostgreSQL at ${POSTGRES_URL}`, async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 10_000 });
    await client.connect();
    await client.end();
  }));
}

export function redisSkip(): Promise<string | false> {
  return (redisProbe ??= probe(`Redis at ${REDIS_URL}`, async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  }));
}

/** A PostgreSQL store URI in a schema of its own; the schema is dropped by `dropSchema`. */
export function freshPostgresUri(): { uri: string; schema: string } {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  return { uri: `${POSTGRES_URL}?schema=${schema}`, schema };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** A Redis key prefix no other test uses. */
export function freshRedisPrefix(): string {
  return `mptest:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/** s3rver: an S3-compatible server in this process, backed by a temp folder. */
export async function startS3Server(bucket = 'modelport-test'): Promise<S3Server> {
  // @ts-expect-error s3rver ships no type declarations
  const { default: S3rver } = (await import('s3rver')) as { default: new (opts: object) => S3rverInstance };
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: tempDir('s3rver'),
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    close: () => server.close(),
  };
}

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
