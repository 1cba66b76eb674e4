import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../../src/models/index.js';
import { runCli } from '../helpers/cli.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { register, XGB } from '../serving/helpers.js';

test('modelport export --server reads the version through the API and writes the bundle', async () => {
  const server = await testServer();
  try {
    await register(server.platform.services.registry, 'cancer', XGB, ['model.json']);
    const out = tempDir('mpexport');
    const exported = await runCli(['export', 'cancer', '--version', '1', '--format', 'bundle', '--output', out, '--server', server.url]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /exported cancer version 1 \(bundle\):\n {2}\S+model\.onnx\n/);
    const signature = JSON.parse(await readFile(join(out, 'signature.json'), 'utf8')) as { model: string; version: number; inputs: unknown[] };
    assert.deepEqual([signature.model, signature.version], ['cancer', 1]);
    const onnx = await loadModel(join(out, 'model.onnx'), { flavor: 'onnx' });
    assert.deepEqual(onnx.signature.inputs, signature.inputs);
    await onnx.close();

    const missing = await runCli(['export', 'cancer', '--version', '9', '--output', out, '--server', server.url]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Model Version \(name=cancer, version=9\) not found/);
  } finally {
    await server.close();
  }
});
