/**
 * A modelport server for bench/serving, in its own process (so the load generator does not
 * share its event loop): registers the fixture logistic regression, an ONNX MLP and the given
 * XGBoost model, deploys them, and prints "listening URL". With `--workers N` it runs N Node cluster workers
 * on one port (the core-use experiment). It serves the tsc-compiled dist/ that production runs
 * (run.ts builds it first): tsx's transform of src/ adds a `__name` call to every closure.
 *
 *   node --import tsx bench/serving/server.ts DATA_DIR XGB_MODEL [--workers N] [--threads T] [--log-rate R]
 */
import cluster from 'node:cluster';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mlpModel } from '../../test/helpers/mlp-onnx.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const newest = (dir: string, ext: string): number =>
  Math.max(0, ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).map((f) => statSync(join(dir, f)).mtimeMs));
// A stale build measures code other than the source under test (run.ts builds just before).
if (cluster.isPrimary && newest(join(ROOT, 'src'), '.ts') > newest(DIST, '.js')) {
  console.error('warning: bench/serving/server.ts serves dist/, which is older than src/: run `npm run build`');
}
const { loadConfig } = (await import(pathToFileURL(join(DIST, 'config.js')).href)) as typeof import('../../src/config.js');
const { startServer } = (await import(pathToFileURL(join(DIST, 'server', 'serve.js')).href)) as typeof import('../../src/server/serve.js');
const { buildOnnxModel } = (await import(pathToFileURL(join(DIST, 'models', 'onnx', 'builder.js')).href)) as typeof import('../../src/models/onnx/builder.js');
const { workerExecArgv } = (await import(pathToFileURL(join(DIST, 'cluster', 'index.js')).href)) as typeof import('../../src/cluster/index.js');

const [dataDir, xgbModel, ...rest] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const workers = flag('--workers', 1);
const threads = flag('--threads', 1);
const port = flag('--port', 0);
// The share of requests the prediction log keeps (monitoring's default is all of them).
const logRate = flag('--log-rate', 1);
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'model.onnx');

type Server = Awaited<ReturnType<typeof startServer>>;

/**
 * The second model: an MLP over the same 30 features (30-64-32-2, ReLU, softmax) with
 * seeded weights, taking the same V2 body as the logistic regression (input "input", FP32).
 * What it computes does not matter here, only what serving one row of it costs.
 */
function mlpOnnx(): Uint8Array {
  return buildOnnxModel(mlpModel());
}

// The primary's setup server only deploys: like `modelport server --workers`' primary, it leaves
// process metrics off, whose monitors would outlive it and keep the primary busy during the runs.
const start = (p: number, processMetrics = true): Promise<Server> => startServer(loadConfig({ data: dataDir, port: p, logLevel: 'warn' }, {}), { logger: false, processMetrics });

async function deployAll(server: Server): Promise<void> {
  const { registry, serving } = server.platform.services;
  for (const [name, bytes, path] of [['cancer', await readFile(FIXTURE), 'model.onnx'], ['mlp', mlpOnnx(), 'model.onnx'], ['trees', await readFile(xgbModel), 'model.json']] as const) {
    const { sha256 } = await registry.putBlob(Buffer.from(bytes));
    await registry.createVersion({ name, files: [{ path, sha256 }], createModel: true });
  }
  // What `modelport deploy cancer --version 1` makes: every setting at its default.
  await serving.create({ name: 'cancer-default', model: 'cancer', version: 1 });
  await serving.create({ name: 'mlp-default', model: 'mlp', version: 1 });
  await serving.create({ model: 'cancer', version: 1, config: { threads, executor: 'worker' } });
  await serving.create({ name: 'cancer-loop', model: 'cancer', version: 1, config: { threads, executor: 'event-loop' } });
  const batching = { maxBatchSize: 64, maxQueueDelayUs: 0, maxQueueSize: 4096 };
  await serving.create({ name: 'cancer-batched', model: 'cancer', version: 1, config: { threads, executor: 'worker', batching } });
  await serving.create({ name: 'cancer-loop-batched', model: 'cancer', version: 1, config: { threads, executor: 'event-loop', batching } });
  await serving.create({ name: 'trees-unbatched', model: 'trees', version: 1 });
  await serving.create({ name: 'trees-batched', model: 'trees', version: 1, config: { batching } });
}

async function listen(announce: (line: string) => void): Promise<void> {
  const server = await start(port);
  await server.platform.services.serving.refresh();
  for (const name of server.platform.services.serving.deploymentNames()) await server.platform.services.monitoring.log.setSampleRate(name, logRate);
  announce(`listening ${server.url}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

// Deploy once on a server of its own; then one process, or N cluster workers sharing `port`,
// serve what the store holds.
if (cluster.isPrimary) {
  const setup = await start(0, false);
  await deployAll(setup);
  await setup.close();
}
if (workers <= 1) {
  await listen((line) => console.log(line));
} else if (cluster.isPrimary) {
  // The workers start as `modelport server --workers` starts them.
  cluster.setupPrimary({ execArgv: workerExecArgv() });
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
