import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { createPlatform } from '../../src/platform.js';
import { runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { registerSimulated } from '../serving/rollouts/helpers.js';

test('status and ab on a deployment with neither a rollout nor outcomes are one-line errors; an embedded rollout is stored with a note on who advances it; --wait follows it and fails when it is aborted; `rollouts` lists it', async () => {
  const data = tempDir('mprollcli');
  const open = () => createPlatform(loadConfig({ data, logLevel: 'silent' }, {}));
  let platform = await open();
  try {
    await registerSimulated(platform.services.registry, 'm', 0, 0);
    await registerSimulated(platform.services.registry, 'm', 0, 0);
    await platform.services.serving.create({ name: 'd', model: 'm', version: 1 });
  } finally {
    await platform.close();
  }

  const noRollout = await runCli(['rollout', 'status', 'd', '--data', data]);
  assert.notEqual(noRollout.code, 0);
  assert.match(noRollout.stderr, /deployment "d" has no rollout/);
  assert.equal(noRollout.stderr.trim().split('\n').length, 1, noRollout.stderr);
  const noOutcomes = await runCli(['ab', 'd', '--data', data]);
  assert.notEqual(noOutcomes.code, 0);
  assert.match(noOutcomes.stderr, /deployment "d" has no outcomes to analyse: send feedback/);
  assert.equal(noOutcomes.stderr.trim().split('\n').length, 1, noOutcomes.stderr);

  const started = await runCli(['rollout', 'd', '--version', '2', '--steps', '20,100', '--data', data]);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /^d: rollout \S+ running, canary m version 2 at 20% \(step 1 of 20 → 100\)/);
  assert.match(started.stderr, /note: no server runs in this process; rollout \S+ is kept in the store and advances while `modelport server` on this store serves "d"/);
  assert.match(started.stderr, /Follow it with `modelport rollout status d --wait`/);

  const waiting = spawnCli(['rollout', 'status', 'd', '--wait', '--poll-seconds', '0.2', '--data', data]);
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    let stdout = '';
    let stderr = '';
    waiting.stdout!.on('data', (d) => (stdout += d));
    waiting.stderr!.on('data', (d) => (stderr += d));
    waiting.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  await waitForLine(waiting, /running, canary m version 2 at 20%/);
  platform = await open();
  try {
    await platform.services.rollouts.abort('d', 'tester');
  } finally {
    await platform.close();
  }
  const followed = await exited;
  assert.equal(followed.code, 2, followed.stderr);
  assert.match(followed.stdout, /d: rollout \S+ aborted/);
  assert.match(followed.stderr, /rollout \S+ of "d" aborted/);

  const listed = await runCli(['rollouts', 'd', '--data', data]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^\S+  \d{4}-\d\d-\d\dT\S+Z  aborted      m:2 at 20% \(20,100\)  aborted by tester\n$/);
  const bad = await runCli(['rollouts', 'd', '--limit', '0', '--data', data]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--limit: "0" is not a whole number >= 1/);
});
