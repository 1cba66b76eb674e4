import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { once } from 'node:events';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Platform } from '../../../src/platform.js';
import { registryModelSource } from '../../../src/serving/index.js';
import { exportModel } from '../../../src/serving/export/bundle.js';
import { testPlatform } from '../../helpers/platform.js';
import { tempDir } from '../../helpers/services.js';
import { breastCancerRows, expectedLogreg, LOGREG, MODELS, register, XGB } from '../helpers.js';
import { expectedProbabilities } from '../jobs/helpers.js';

const ORT_WEB = fileURLToPath(new URL('../../../node_modules/onnxruntime-web/dist/', import.meta.url));
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html', '.onnx': 'application/octet-stream' };

/** Serves the bundles and onnxruntime-web's files on loopback, as a web app would. */
async function serve(roots: Record<string, string>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bundle</title>');
    const [, root, ...rest] = path.split('/');
    const file = roots[root] && join(roots[root], ...rest);
    if (!file || rest.some((p) => p === '..') || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe('edge bundles', () => {
  let platform: Platform;
  let xgbDir: string;
  let logregDir: string;
  let featureRows: Record<string, number>[];
  let arrayRows: number[][];

  before(async () => {
    platform = await testPlatform();
    await register(platform.services.registry, 'cancer', XGB, ['model.json']);
    await register(platform.services.registry, 'logreg', LOGREG, ['model.onnx']);
    const source = registryModelSource(platform.services.registry);
    xgbDir = tempDir('mpbundle-xgb');
    logregDir = tempDir('mpbundle-logreg');
    await exportModel(source, 'cancer', 1, 'bundle', xgbDir);
    await exportModel(source, 'logreg', 1, 'bundle', logregDir);
    const names = readFileSync(join(XGB, 'input.csv'), 'utf8').split('\n')[0].split(',');
    arrayRows = await breastCancerRows();
    featureRows = arrayRows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));
  });
  after(() => platform.close());

  test('a bundle holds the model, its signature, the module and a README; a js model is refused', async () => {
    assert.deepEqual(readdirSync(xgbDir).sort(), ['README.md', 'model.mjs', 'model.onnx', 'signature.json']);
    const sig = JSON.parse(readFileSync(join(xgbDir, 'signature.json'), 'utf8'));
    assert.deepEqual(sig.inputs, [{ name: 'input', dtype: 'float32', shape: [30] }]);
    assert.equal(sig.features.length, 30);
    assert.equal(sig.features[0], 'mean_radius');
    assert.match(readFileSync(join(xgbDir, 'README.md'), 'utf8'), /import \{ load \} from '\.\/model\.mjs'/);
    assert.doesNotMatch(readFileSync(join(xgbDir, 'model.mjs'), 'utf8'), /^import /m);
    const onnxOnly = tempDir('mpbundle-onnx');
    assert.deepEqual((await exportModel(registryModelSource(platform.services.registry), 'cancer', 1, 'onnx', onnxOnly)).files, [join(onnxOnly, 'model.onnx')]);
    await assert.rejects(exportModel(registryModelSource(platform.services.registry), 'cancer', 9, 'bundle', onnxOnly), /not found/);
    await register(platform.services.registry, 'jsm', join(MODELS, 'js_model'));
    await assert.rejects(exportModel(registryModelSource(platform.services.registry), 'jsm', 1, 'bundle', onnxOnly), /a js model cannot be exported to ONNX/);
  });

  test('in Node with onnxruntime-node: the registry model\'s predictions to 1e-5, and bad rows named', async () => {
    const ort = await import('onnxruntime-node');
    const { load, InputError } = await import(pathToFileURL(join(xgbDir, 'model.mjs')).href);
    const sig = JSON.parse(readFileSync(join(xgbDir, 'signature.json'), 'utf8'));
    const model = await load(ort, readFileSync(join(xgbDir, 'model.onnx')), sig);
    const expected = expectedProbabilities();
    const out = await model.predict(featureRows);
    out.forEach((o: { prediction: number }, i: number) => assert.ok(Math.abs(o.prediction - expected[i]) <= 1e-5, `row ${i}: ${o.prediction} vs ${expected[i]}`));
    const { mean_radius: _gone, ...partial } = featureRows[0];
    await assert.rejects(model.predict([featureRows[1], partial]), (err: Error) => err instanceof InputError && /row 1: missing "mean_radius"/.test(err.message));
    await assert.rejects(model.predict([{ ...featureRows[0], mean_area: 'big' }]), /row 0: "mean_area" must be a number, got "big"/);
    await assert.rejects(model.predict([{ ...featureRows[0], color: 1 }]), /row 0: unknown "color"/);

    const logreg = await (await import(pathToFileURL(join(logregDir, 'model.mjs')).href)).load(ort, readFileSync(join(logregDir, 'model.onnx')), JSON.parse(readFileSync(join(logregDir, 'signature.json'), 'utf8')));
    const reference = await expectedLogreg();
    const probs = await logreg.predict(arrayRows);
    probs.forEach((p: { label: number; probabilities: number[] }, i: number) => {
      assert.equal(p.label, reference.label[i]);
      assert.ok(Math.abs(p.probabilities[1] - reference.probabilities[i][1]) <= 1e-5);
    });
  });

  test('in headless Chromium with onnxruntime-web served from node_modules: the same predictions', async () => {
    const { chromium } = await import('playwright-core');
    const { url, server } = await serve({ xgb: xgbDir, ort: ORT_WEB });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const predictions = (await page.evaluate(async (rows) => {
        const ort = await import('/ort/ort.wasm.min.mjs' as string);
        ort.env.wasm.wasmPaths = '/ort/';
        ort.env.wasm.numThreads = 1;
        const { load } = await import('/xgb/model.mjs' as string);
        const signature = await (await fetch('/xgb/signature.json')).json();
        const bytes = new Uint8Array(await (await fetch('/xgb/model.onnx')).arrayBuffer());
        const model = await load(ort, bytes, signature);
        return (await model.predict(rows)).map((o: { prediction: number }) => o.prediction);
      }, featureRows)) as number[];
      const expected = expectedProbabilities();
      assert.equal(predictions.length, 114);
      predictions.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) <= 1e-5, `row ${i}: ${p} vs ${expected[i]}`));
    } finally {
      await browser.close();
      server.close();
    }
  });
});
