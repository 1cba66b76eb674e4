/** `modelport monitors run`: its exit status says whether the check ran. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testServer } from '../helpers/platform.js';
import { LOGREG, breastCancerRows, post, v2Row } from '../serving/helpers.js';

test('a check that could not run exits 2 and says why on stderr', async () => {
  const server = await testServer();
  try {
    const cli = (...args: string[]) => runCli(['--server', server.url, ...args]);
    assert.equal((await cli('models', 'register', 'cancer', join(LOGREG, 'model.onnx'))).code, 0);
    assert.equal((await cli('deploy', 'cancer', '-v', '1')).code, 0);
    const [row] = await breastCancerRows();
    assert.equal((await post(`${server.url}/v2/models/cancer/infer`, v2Row(row!))).status, 200);
    const created = await cli('monitors', 'create', 'cancer-drift', '--deployment', 'cancer', '--kind', 'drift', '--reference-from', '0', '--reference-to', '1000');
    assert.equal(created.code, 0, created.stderr);
    // The current window holds the request above; the reference window (the epoch's first second) holds none.
    const run = await cli('monitors', 'run', 'cancer-drift');
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout, /\berror\b/);
    assert.match(run.stderr, /^modelport: monitor cancer-drift: the check could not run: .*no logged predictions/);
  } finally {
    await server.close();
  }
});
