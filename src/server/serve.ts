/** Starting and stopping a whole modelport server: platform, app, listener, graceful shutdown. */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import { invalidArgument } from '../core/errors.js';
import { createPlatform, type Platform, type PlatformOptions } from '../platform.js';
import { buildApp, type AppOptions } from './app.js';

export interface RunningServer {
  app: FastifyInstance;
  platform: Platform;
  /** e.g. http://127.0.0.1:5000 */
  url: string;
  /** Where a first start with `--auth on` wrote the bootstrap admin token, when it did. */
  adminTokenFile?: string;
  /** Stops accepting connections, lets in-flight requests finish, then closes the stores. */
  close(): Promise<void>;
}

export interface ServeOptions extends PlatformOptions, AppOptions {
  /** Extra Fastify plugins of an embedding application, registered after modelport's routes. */
  plugins?: FastifyPluginAsync<{ platform: Platform }>[];
  /**
   * Load every deployment before listening. A `--workers` worker sets it: the primary hands it
   * connections as soon as it listens, so it must already serve what is deployed.
   */
  loadBeforeListen?: boolean;
}

export async function startServer(config: Config, options: ServeOptions = {}): Promise<RunningServer> {
  const platform = await createPlatform(config, options);
  let app: FastifyInstance;
  let adminTokenFile: string | undefined;
  try {
    adminTokenFile = await platform.services.security.bootstrap();
    app = await buildApp(platform, options);
    for (const plugin of options.plugins ?? []) await app.register(plugin, { platform });
    if (options.loadBeforeListen) await platform.services.serving.refresh();
    await app.listen({ host: config.host, port: config.port });
    platform.cluster.start();
  } catch (err) {
    await platform.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw invalidArgument(`--port: ${config.host}:${config.port} is already in use; choose another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw invalidArgument(`--host: cannot listen on ${config.host} (${code})`);
    if (code === 'EACCES') throw invalidArgument(`--port: not allowed to listen on port ${config.port}; choose one above 1023`);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    platform,
    adminTokenFile,
    url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
    close() {
      closing ??= (async () => {
        // Requests get the grace less what closing the stores needs; what is still open then is cut.
        const grace = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs - shutdownReserveMs(config.shutdownGraceMs));
        // A keep-alive connection whose request finishes during shutdown turns idle afterwards;
        // closing idle ones as they appear lets close() return as soon as the last request ends.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
          clearInterval(sweep);
          await platform.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * The part of the shutdown grace kept for closing the stores after requests are cut, and for a
 * busy event loop's late timers: a second, or a quarter of a short grace.
 */
export function shutdownReserveMs(graceMs: number): number {
  return Math.min(1000, Math.floor(graceMs / 4));
}
