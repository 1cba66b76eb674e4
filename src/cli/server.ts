import type { Command } from 'commander';
import { startServer } from '../server/serve.js';
import { configFrom } from './context.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the modelport server: REST APIs, /metrics, /docs and the web UI on one port')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '5000')
    .option('--host <host>', 'address to bind; 0.0.0.0 exposes it to the network', '127.0.0.1')
    .action(async (opts: { port: string; host: string }, cmd: Command) => {
      const config = configFrom(cmd, { port: opts.port, host: opts.host });
      const server = await startServer(config);
      process.stdout.write(`modelport listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stdout.write(`modelport: ${signal} received, finishing in-flight requests\n`);
          server.close().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
