/** A platform or server on a temp data folder, for tests. */
import { loadConfig, type Config, type ConfigFlags } from '../../src/config.js';
import { createPlatform, type Platform } from '../../src/platform.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/serve.js';
import type { Clock } from '../../src/core/clock.js';
import { dropSchema, freshPostgresUri, tempDir } from './services.js';

export function testConfig(flags: ConfigFlags = {}): Config {
  return loadConfig({ data: tempDir('mpdata'), port: 0, logLevel: 'silent', ...flags }, {});
}

export function testPlatform(flags: ConfigFlags = {}, clock?: Clock): Promise<Platform> {
  return createPlatform(testConfig(flags), { clock });
}

/** A real server on a free loopback port. */
export function testServer(flags: ConfigFlags = {}, clock?: Clock, options: ServeOptions = {}): Promise<RunningServer> {
  return startServer(testConfig(flags), { clock, logger: false, ...options });
}

/**
 * Two platforms on one fresh PostgreSQL schema, as two server processes sharing a store would be;
 * both are closed and the schema dropped afterwards.
 */
export async function withTwoPostgresPlatforms(fn: (a: Platform, b: Platform) => Promise<void>): Promise<void> {
  const { uri, schema } = freshPostgresUri();
  const a = await createPlatform(testConfig({ store: uri }));
  const b = await createPlatform(testConfig({ store: uri }));
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
    await dropSchema(schema);
  }
}
