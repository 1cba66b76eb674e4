/**
 * A modelport server for bench/security in its own process: deploys the fixture logistic
 * regression and prints "listening URL". With MODELPORT_ADMIN_TOKEN set, auth is on and every
 * request's token is checked; without, the loopback server runs with auth off.
 *
 *   node --import tsx bench/security/server.ts DATA_DIR
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'model.onnx');

const server = await startServer(loadConfig({ data: process.argv[2], port: 0, logLevel: 'warn' }), { logger: false });
const { registry, serving } = server.platform.services;
const { sha256 } = await registry.putBlob(await readFile(FIXTURE));
await registry.createVersion({ name: 'cancer', files: [{ path: 'model.onnx', sha256 }], createModel: true });
await serving.create({ model: 'cancer', version: 1 });
await serving.refresh();
process.stdout.write(`listening ${server.url}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
