/**
 * A modelport server for bench/rollouts, in its own process: the fixture logistic regression
 * deployed three ways: one variant, two variants of it 50/50, and one variant with a shadow of
 * it taking a copy of every request. Prints "listening URL". Serves the tsc-compiled dist/
 * (run.ts builds it first), as production does.
 *
 *   node --import tsx bench/rollouts/server.ts DATA_DIR
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const { loadConfig } = (await import(pathToFileURL(join(DIST, 'config.js')).href)) as typeof import('../../src/config.js');
const { startServer } = (await import(pathToFileURL(join(DIST, 'server', 'serve.js')).href)) as typeof import('../../src/server/serve.js');

const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'model.onnx');
const server = await startServer(loadConfig({ data: process.argv[2], port: 0, logLevel: 'warn' }, {}), { logger: false });
const { registry, serving, monitoring } = server.platform.services;
const { sha256 } = await registry.putBlob(await readFile(FIXTURE));
await registry.createVersion({ name: 'cancer', files: [{ path: 'model.onnx', sha256 }], createModel: true });
const variant = (name: string, weight: number) => ({ name, model: 'cancer', version: 1, weight });
await serving.create({ name: 'single', model: 'cancer', version: 1 });
await serving.create({ name: 'split', variants: [variant('primary', 50), variant('challenger', 50)] });
await serving.create({ name: 'shadowed', variants: [variant('primary', 100), { ...variant('shadow', 0), shadow: true, mirror: 100 }] });
// The prediction log is off: its cost is bench/monitoring's to measure.
for (const name of serving.deploymentNames()) await monitoring.log.setSampleRate(name, 0);
console.log(`listening ${server.url}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
