/** What every command shares: the global flags, the Config they make, and a client to act with. */
import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import { ModelportClient } from '../client/client.js';
import { InjectTransport } from '../client/transport.js';

export interface GlobalOptions extends ConfigFlags {
  server?: string;
  token?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function configFrom(cmd: Command, extra: ConfigFlags = {}): Config {
  return loadConfig({ ...globalOptions(cmd), ...extra });
}

/**
 * A client for the command: over HTTP when --server (or MODELPORT_SERVER) names one, otherwise
 * an embedded platform answering in-process through the same routes.
 */
export async function openClient(cmd: Command, extra: ConfigFlags = {}): Promise<ModelportClient> {
  const opts = globalOptions(cmd);
  const server = opts.server ?? process.env.MODELPORT_SERVER;
  const token = opts.token ?? process.env.MODELPORT_TOKEN;
  if (server) return new ModelportClient(server, { token });
  const config = configFrom(cmd, extra);
  // Loaded only here: a command against --server needs neither the platform nor the app.
  const [{ createPlatform }, { buildApp }] = await Promise.all([import('../platform.js'), import('../server/app.js')]);
  const platform = await createPlatform({ ...config, logLevel: 'silent' });
  const app = await buildApp(platform, { logger: false, trusted: true });
  return new ModelportClient(
    new InjectTransport(app, async () => {
      await app.close();
      await platform.close();
    }),
  );
}

/** Runs `fn` with a client and always releases it. */
export async function withClient<T>(cmd: Command, fn: (client: ModelportClient) => Promise<T>, extra: ConfigFlags = {}): Promise<T> {
  const client = await openClient(cmd, extra);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
