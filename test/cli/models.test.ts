/** `modelport models ...` as a user runs it: against a server (streamed uploads) and embedded. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { FIXTURES } from '../registry/helpers.js';
import type { RunningServer } from '../../src/server/serve.js';

const MODELS: [string, string][] = [
  ['mlflow_onnx', 'onnx'],
  ['mlflow_xgboost', 'xgboost'],
  ['onnx_logreg_breast_cancer/model.onnx', 'onnx'],
  ['onnx_forest_breast_cancer/model.onnx', 'onnx'],
  ['xgb_breast_cancer/model.json', 'xgboost'],
  ['xgb_breast_cancer/model.ubj', 'xgboost'],
  ['js_model', 'js'],
];

describe('modelport models against a server', () => {
  let server: RunningServer;
  before(async () => {
    server = await testServer();
  });
  after(async () => {
    await server.close();
  });

  test('registers every fixture model and prints each new version', async () => {
    const results = await Promise.all(MODELS.map(([path], i) => runCli(['--server', server.url, 'models', 'register', `fixture-${i}`, join(FIXTURES, path)])));
    for (const [i, res] of results.entries()) {
      const [path, flavor] = MODELS[i];
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`^registered fixture-${i} version 1 \\(${flavor}, \\d+ bytes, sha256 [0-9a-f]{64}\\)\\n$`), path);
      assert.equal((await server.platform.services.registry.getVersion(`fixture-${i}`, 1)).flavor, flavor);
    }
  });

  test('list, show, alias and the approval flow between two users', async () => {
    const cli = (...args: string[]) => runCli(['--server', server.url, 'models', ...args]);
    const registry = server.platform.services.registry;
    // fixtures v1..v3: copies of the onnx folder, the ubj folder and the logreg file registered above.
    for (const i of [0, 1, 2]) await registry.createVersion({ name: 'fixtures', source: `models:/fixture-${i}/1`, createModel: true });
    const [list, show] = await Promise.all([cli('list'), cli('show', 'fixtures', '1')]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+LATEST\s+ALIASES/);
    assert.match(list.stdout, /\nfixtures\s+3\s+-/);
    assert.match(show.stdout, /^fixtures version 1 \(onnx,/);
    assert.match(show.stdout, /\nMLmodel\s+691\s+[0-9a-f]{64}\nmodel\.onnx\s+908\s+/);

    await server.platform.services.registry.putPolicy({ model: 'fixtures', protectedAliases: ['champion'] });
    const [direct, challenger, requested] = await Promise.all([
      cli('alias', 'fixtures', 'champion', '2', '--as', 'ana'),
      cli('alias', 'fixtures', 'challenger', '3', '--as', 'ana'),
      cli('request', 'fixtures', '2', '--alias', 'champion', '--as', 'ana', '--comment', 'wins offline'),
    ]);
    assert.equal(direct.code, 2);
    assert.match(direct.stderr, /^modelport: alias "champion" of model fixtures is protected by an approval policy: request the change \(POST \/api\/v1\/approvals or `modelport models request`\)/);
    assert.equal(challenger.stdout, 'fixtures@challenger → version 3\n');
    assert.equal(requested.code, 0, requested.stderr);
    const id = /^approval (\S+) requested by ana: alias champion → fixtures version 2\n$/.exec(requested.stdout)![1];
    const [self, pending] = await Promise.all([cli('approve', id, '--as', 'ana'), cli('approvals', '--status', 'pending')]);
    assert.equal(self.code, 2);
    assert.match(self.stderr, /another user than the requester/);
    assert.match(pending.stdout, new RegExp(`${id}\\s+fixtures\\s+2\\s+alias champion\\s+PENDING\\s+ana\\s+-`));
    const ok = await cli('approve', id, '--as', 'bob');
    assert.equal(ok.stdout, `approval ${id} approved by bob: alias champion → fixtures version 2\n`);
    assert.equal((await server.platform.services.registry.getVersionByAlias('fixtures', 'champion')).version, 2);
  });
});

describe('modelport models embedded', () => {
  test('registers into the local data folder; bad input exits 2 with one line', async () => {
    const data = tempDir('mpcli');
    const reg = await runCli(['--data', data, 'models', 'register', 'churn', join(FIXTURES, 'xgb_breast_cancer/model.ubj'), '--tag', 'team=growth', '--description', 'first']);
    assert.equal(reg.code, 0, reg.stderr);
    assert.match(reg.stdout, /^registered churn version 1 \(xgboost, /);
    const [json, notModel, badFlavor, missing] = await Promise.all([
      runCli(['--data', data, 'models', 'show', 'churn', 'latest', '--json']),
      runCli(['--data', data, 'models', 'register', 'churn', join(FIXTURES, 'xgb_breast_cancer/input.csv'), '--flavor', 'onnx']),
      runCli(['--data', data, 'models', 'register', 'churn', join(FIXTURES, 'js_model'), '--flavor', 'lightgbm']),
      runCli(['--data', data, 'models', 'show', 'nope']),
    ]);
    const v = JSON.parse(json.stdout) as { tags: Record<string, string>; description: string; flavor: string };
    assert.deepEqual([v.tags, v.description, v.flavor], [{ team: 'growth' }, 'first', 'xgboost']);

    assert.equal(notModel.code, 2);
    assert.equal(notModel.stderr.trim().split('\n').at(-1), 'modelport: input.csv is not a valid onnx model: expected an ONNX model (a protobuf ModelProto with ir_version and a graph, as onnx.save writes it)');
    assert.equal(badFlavor.code, 2);
    assert.match(badFlavor.stderr, /--flavor: "lightgbm" is not onnx, xgboost or js/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^modelport: Registered Model with name=nope not found/);
  });
});
