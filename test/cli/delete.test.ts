/** Deleting through the CLI: models, versions, experiments and datasets, with the deployment guard. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { LOGREG } from '../serving/helpers.js';

const LOANS = fileURLToPath(new URL('../fixtures/loans/loans.csv', import.meta.url));
const SHIFTED = fileURLToPath(new URL('../fixtures/loans/loans_shifted.csv', import.meta.url));

test('models, versions, experiments and datasets are deleted; a deployed version is not', async () => {
  const data = tempDir('mpcli');
  const cli = (...args: string[]) => runCli([...args, '--data', data]);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('models', 'register', 'cancer', join(LOGREG, 'model.onnx'));
  await ok('models', 'register', 'cancer', join(LOGREG, 'model.onnx'));
  await ok('deploy', 'cancer', '-v', '1');
  const guarded = await cli('models', 'delete', 'cancer', '1');
  assert.equal(guarded.code, 2);
  assert.match(guarded.stderr, /^modelport: Model version cancer\/1 is in use and cannot be deleted: .*deployment "cancer"/);
  assert.equal(await ok('models', 'delete', 'cancer', '2'), 'deleted cancer version 2\n');
  assert.doesNotMatch(await ok('models', 'show', 'cancer'), /^2\s/m);
  assert.equal((await cli('models', 'delete', 'cancer')).code, 2, 'the model still has a deployed version');
  assert.match(guarded.stderr, /--force/);
  assert.equal(await ok('models', 'delete', 'cancer', '--force'), 'deleted deployment cancer\ndeleted model cancer and its versions\n');
  assert.doesNotMatch(await ok('deployments', 'list'), /cancer/, 'no deployment is left serving a deleted version');
  assert.equal((await cli('models', 'show', 'cancer')).code, 2);

  await ok('experiments', 'create', 'churn');
  assert.equal(await ok('experiments', 'delete', 'churn'), 'deleted experiment churn\n');
  assert.match(await ok('experiments', 'list', '--view', 'deleted'), /churn\s+deleted/);

  await ok('datasets', 'register', 'loans', LOANS);
  await ok('datasets', 'register', 'loans', SHIFTED);
  assert.equal(await ok('datasets', 'delete', 'loans@2'), 'deleted loans version 2\n');
  assert.match(await ok('datasets', 'show', 'loans'), /^loans@1:/);
  assert.equal(await ok('datasets', 'delete', 'loans'), 'deleted loans version 1\n');
  const gone = await cli('datasets', 'show', 'loans');
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /dataset "loans" does not exist/);
});
