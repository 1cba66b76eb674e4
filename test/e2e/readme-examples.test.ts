/**
 * Every shell example in README.md, in order, on a fresh data folder, against the servers the
 * examples themselves start: an example that stops working fails this test with its line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { examplesScript, extractExamples } from '../helpers/readme-examples.js';
import { freePort } from '../helpers/services.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

test('the extractor reads marks and expected exit codes', () => {
  const readme = ['```sh', 'a 5000', '```', '<!-- example: skip needs Docker -->', '```sh', 'b', '```', '```python', 'c', '```', '```sh', 'x y   # exits 1, says why', '```'].join('\n');
  const examples = extractExamples(readme);
  assert.deepEqual(
    examples.map((e) => [e.line, e.skip, e.code.split('\n')[0]]),
    [
      [2, undefined, 'a 5000'],
      [6, 'needs Docker', 'b'],
      [12, undefined, 'x y   # exits 1, says why'],
    ],
  );
  const { script, ran } = examplesScript(examples, { repo: '/r', cli: 'mp', ports: { main: 1, second: 2 }, slow: false });
  assert.equal(ran.length, 2);
  assert.match(script, /if x y; then/);
  assert.doesNotMatch(script, /\bb\n/);
});

test('every README shell example runs, in order, on a fresh data folder', { timeout: 15 * 60_000 }, async () => {
  // The built CLI starts in a fraction of the time tsx needs; the sources work too. scripts/test.mjs
  // transpiles the current sources (MODELPORT_TEST_CLI); dist/ may be older than them.
  const built = process.env.MODELPORT_TEST_CLI ?? join(REPO, 'dist', 'cli', 'run.js');
  const cli = existsSync(built) ? `node ${JSON.stringify(built)}` : `node --import tsx ${JSON.stringify(join(REPO, 'src', 'cli', 'run.ts'))}`;
  const dir = mkdtempSync(join(tmpdir(), 'mp-readme-'));
  for (const name of ['assets', 'examples', 'test']) symlinkSync(join(REPO, name), join(dir, name));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const ports = { main: await freePort(), second: await freePort() };
  const { script, ran } = examplesScript(extractExamples(readFileSync(join(REPO, 'README.md'), 'utf8')), { repo: REPO, cli, ports, slow: process.env.MODELPORT_README_SLOW === '1' });
  writeFileSync(join(dir, 'examples.sh'), script);
  const env: NodeJS.ProcessEnv = { ...process.env, MODELPORT_PORT: String(ports.main), MODELPORT_LOG_LEVEL: 'warn' };
  for (const k of ['MODELPORT_SERVER', 'MODELPORT_DATA', 'MODELPORT_STORE', 'MLFLOW_TRACKING_URI']) delete env[k];
  // Output goes to files, not pipes: the Node processes the examples start share bash's stdio and
  // make it non-blocking, so on a busy machine a full pipe failed bash's own echo with EAGAIN.
  const out = openSync(join(dir, 'stdout.log'), 'w');
  const err = openSync(join(dir, 'stderr.log'), 'w');
  // Its own process group, so the servers the examples start in the background stop with it.
  const child = spawn('bash', ['examples.sh'], { cwd: dir, env, detached: true, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // the group is already gone
  }
  const stdout = readFileSync(join(dir, 'stdout.log'), 'utf8');
  const stderr = readFileSync(join(dir, 'stderr.log'), 'utf8');
  const last = [...stderr.matchAll(/>>> (README\.md line \d+)/g)].pop()?.[1] ?? 'the prelude';
  const failed = existsSync(join(dir, 'failed-command.txt')) ? readFileSync(join(dir, 'failed-command.txt'), 'utf8').trim() : 'unknown';
  assert.equal(code, 0, `the example at ${last} failed (exit ${code}) in script ${failed}; ${ran.length} examples in the script at ${dir}/examples.sh\n--- stderr (end)\n${stderr.slice(-4000)}\n--- stdout (end)\n${stdout.slice(-3000)}`);
  assert.match(stderr, />>> all examples ran/);
  rmSync(dir, { recursive: true, force: true });
});
