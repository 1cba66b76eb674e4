/**
 * A modelport server for bench/serving, in its own process (so the load generator does not
 * share its event loop): registers the fixture logistic regression and the given XGBoost model,
 * deploys them, and prints "listening URL". With `--workers N` it runs N Node cluster workers
 * on one port (the core-use experiment).
 *
 *   node --import tsx bench/serving/server.ts DATA_DIR XGB_MODEL [--workers N] [--threads T]
 */
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';

const [dataDir, xgbModel, ...rest] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const workers = flag('--workers', 1);
const threads = flag('--threads', 1);
const port = flag('--port', 0);
const FIXTURE = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'model.onnx');

type Server = Awaited<ReturnType<typeof startServer>>;

const start = (p: number): Promise<Server> => startServer(loadConfig({ data: dataDir, port: p, logLevel: 'warn' }, {}), { logger: false });

async function deployAll(server: Server): Promise<void> {
  const { registry, serving } = server.platform.services;
  for (const [name, file, path] of [['cancer', FIXTURE, 'model.onnx'], ['trees', xgbModel, 'model.json']] as const) {
    const { sha256 } = await registry.putBlob(await readFile(file));
    await registry.createVersion({ name, files: [{ path, sha256 }], createModel: true });
  }
  await serving.create({ model: 'cancer', version: 1, config: { threads, executor: 'worker' } });
  await serving.create({ name: 'cancer-loop', model: 'cancer', version: 1, config: { threads, executor: 'event-loop' } });
  await serving.create({ name: 'trees-unbatched', model: 'trees', version: 1 });
  await serving.create({ name: 'trees-batched', model: 'trees', version: 1, config: { batching: { maxBatchSize: 64, maxQueueDelayUs: 0, maxQueueSize: 4096 } } });
}

async function listen(announce: (line: string) => void): Promise<void> {
  const server = await start(port);
  await server.platform.services.serving.refresh();
  announce(`listening ${server.url}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

// Deploy once on a server of its own; then one process, or N cluster workers sharing `port`,
// serve what the store holds.
if (cluster.isPrimary) {
  const setup = await start(0);
  await deployAll(setup);
  await setup.close();
}
if (workers <= 1) {
  await listen((line) => console.log(line));
} else if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (msg: unknown) => {
      if (typeof msg === 'string' && ++ready === workers) console.log(msg);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  await listen((line) => process.send?.(line));
}
