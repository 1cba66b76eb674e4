/** `modelport experiments` through the real command, embedded against a data folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';

test('experiments create and list, embedded; a taken name is a one-line error', async () => {
  const data = tempDir('cli-exp');
  const created = await runCli(['--data', data, 'experiments', 'create', 'churn', '--tag', 'team=ml']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^\d+\n$/);
  const again = await runCli(['--data', data, 'experiments', 'create', 'churn']);
  assert.equal(again.code, 2);
  assert.equal(again.stderr, 'modelport: Experiment(name=churn) already exists.\n');
  const listed = await runCli(['--data', data, 'experiments', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^id\s+name\s+stage\s+created\s+artifact location$/);
  assert.match(listed.stdout, new RegExp(`${created.stdout.trim()}\\s+churn\\s+active`));
  assert.match(listed.stdout, /0\s+Default\s+active/);
  const json = await runCli(['--data', data, 'experiments', 'list', '--json', '--filter', "tags.team = 'ml'"]);
  assert.deepEqual(JSON.parse(json.stdout).map((e: { name: string }) => e.name), ['churn']);
  const bad = await runCli(['--data', data, 'experiments', 'list', '--view', 'sideways']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--view: "sideways" is not one of active, deleted, all/);
});
