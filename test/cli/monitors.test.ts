/** `modelport monitors run`: its exit status says whether the check ran. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { LOGREG } from '../serving/helpers.js';

test('a check that could not run exits 2 and says why on stderr', async () => {
  const data = tempDir('mpcli');
  const cli = (...args: string[]) => runCli([...args, '--data', data]);
  assert.equal((await cli('models', 'register', 'cancer', join(LOGREG, 'model.onnx'))).code, 0);
  assert.equal((await cli('deploy', 'cancer', '-v', '1')).code, 0);
  const scored = await cli('predict', 'cancer', '--input', join(LOGREG, 'input.csv'), '--output', join(tempDir('mpcli-out'), 'out.csv'));
  assert.equal(scored.code, 0, scored.stderr);
  const created = await cli('monitors', 'create', 'cancer-drift', '--deployment', 'cancer', '--kind', 'drift', '--reference-from', '0', '--reference-to', '1000');
  assert.equal(created.code, 0, created.stderr);
  const run = await cli('monitors', 'run', 'cancer-drift');
  assert.equal(run.code, 2, run.stdout + run.stderr);
  assert.match(run.stdout, /\berror\b/);
  assert.match(run.stderr, /^modelport: monitor cancer-drift: the check could not run: .*no logged predictions/);
});
