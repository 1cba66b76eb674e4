import cluster, { type Worker } from 'node:cluster';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { relayIpcBus, workerExecArgv } from '../cluster/index.js';
import { invalidArgument } from '../core/errors.js';
import { createPlatform } from '../platform.js';
import { shutdownReserveMs, startServer } from '../server/serve.js';
import { configFrom } from './context.js';
import { cpuCount } from '../core/cpus.js';

const MAX_WORKERS = 64;

/** A whole number, or `auto`: one process per core. */
export function parseWorkers(text: string): number {
  if (text === 'auto') return Math.min(MAX_WORKERS, cpuCount());
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw invalidArgument(`--workers: must be a whole number from 1 to ${MAX_WORKERS} or auto, got "${text}"`);
  return n;
}

/** Resolves with the signal's name on the first SIGTERM or SIGINT. */
const stopSignal = (): Promise<string> =>
  new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

/** One server process: a worker of `--workers`, or the whole server. */
async function serveOne(config: Config): Promise<void> {
  const server = await startServer(config, { loadBeforeListen: cluster.isWorker });
  if (cluster.isWorker) process.send?.({ listening: server.url });
  else process.stdout.write(`modelport listening on ${server.url}\n`);
  if (server.adminTokenFile) process.stdout.write(`modelport: admin token written to ${server.adminTokenFile} (owner-only); read it from there\n`);
  const signal = await stopSignal();
  if (!cluster.isWorker) process.stdout.write(`modelport: ${signal} received, finishing in-flight requests\n`);
  // Whatever is in flight (a store that hangs, a loop blocked by a huge body), the process ends
  // within its grace: a supervisor's SIGKILL should never be needed.
  setTimeout(() => {
    process.stderr.write(`modelport: did not stop within the shutdown grace (${config.shutdownGraceMs} ms); exiting\n`);
    process.exit(1);
  }, config.shutdownGraceMs - shutdownReserveMs(config.shutdownGraceMs) / 4).unref();
  await server.close().catch(() => undefined);
}

/**
 * `--workers N`: N server processes on one port (Node cluster: the primary accepts connections
 * and hands them round-robin to the workers), all over the same store, as replicas of one server
 * are. The primary migrates the store once before any worker opens it, a worker listens (takes
 * connections) only once it has loaded every deployment, the primary restarts a worker that
 * dies after it started, and on SIGTERM or SIGINT lets every worker finish its in-flight
 * requests. A worker that dies before it listens (a taken port, say) stops the whole server.
 */
async function supervise(config: Config, workers: number): Promise<void> {
  // This process only hands connections to the workers: it takes no process monitors of its own.
  await (await createPlatform({ ...config, logLevel: 'silent' }, { processMetrics: false })).close();
  let stopping = false;
  let listening = 0;
  let failed: (() => void) | undefined;
  const startFailed = new Promise<void>((resolve) => (failed = resolve));
  // Workers' output passes through here, so that N workers failing alike say why once.
  cluster.setupPrimary({ silent: true, execArgv: workerExecArgv() });
  // On SQLite the workers have no Redis or PostgreSQL to carry the cluster bus: this process relays it.
  relayIpcBus(cluster);
  const fork = (): Worker => {
    const worker = cluster.fork();
    let started = false;
    let early = '';
    worker.process.stdout?.pipe(process.stdout);
    worker.process.stderr?.on('data', (d: Buffer) => {
      if (started) process.stderr.write(d);
      else early += d.toString();
    });
    worker.on('message', (msg: { listening?: string }) => {
      if (typeof msg?.listening !== 'string' || started) return;
      started = true;
      if (early) process.stderr.write(early);
      if (++listening === workers) process.stdout.write(`modelport listening on ${msg.listening} (${workers} worker processes)\n`);
      else if (listening > workers) process.stdout.write(`modelport: worker process ${worker.process.pid} serves every deployment and takes connections\n`);
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (!started) {
        stopping = true;
        process.stderr.write(early || `modelport: a worker process exited (${signal ?? `code ${code}`}) before it listened\n`);
        return failed?.();
      }
      process.stderr.write(`modelport: worker process ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another\n`);
      fork();
    });
    return worker;
  };
  for (let i = 0; i < workers; i++) fork();
  const signal = await Promise.race([stopSignal(), startFailed.then(() => undefined)]);
  stopping = true;
  if (signal) process.stdout.write(`modelport: ${signal} received, finishing in-flight requests\n`);
  else process.exitCode = 1;
  const running = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
  await Promise.all(
    running.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run the modelport server: REST APIs, /metrics, /docs and the web UI on one port')
    .option('--port <port>', 'port to listen on, 0 picks a free one (default: $MODELPORT_PORT, else 5000)')
    .option('--host <host>', 'address to bind; 0.0.0.0 exposes it to the network (default: $MODELPORT_HOST, else 127.0.0.1)')
    .option('--workers <n>', 'server processes sharing the port (a Node cluster over the same store); auto: one per core', '1')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key; default: $MODELPORT_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (default: $MODELPORT_TLS_KEY)')
    .option('--data-roots <dirs>', 'folders (":"-separated) that datasets from-path may read for token callers (default: $MODELPORT_DATA_ROOTS)')
    .option('--auth <mode>', 'auto: tokens required once one exists or off loopback; on: always (default: $MODELPORT_AUTH or auto)')
    .action(async (opts: { port?: string; host?: string; workers: string; auth?: string; tlsCert?: string; tlsKey?: string; dataRoots?: string }, cmd: Command) => {
      const workers = parseWorkers(opts.workers);
      const config = configFrom(cmd, { port: opts.port, host: opts.host, auth: opts.auth, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, dataRoots: opts.dataRoots });
      if (workers > 1 && cluster.isPrimary) await supervise(config, workers);
      else await serveOne(config);
    });
}
