/** The real command line, spawned as a user would run it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/services.js';

test('--help lists the commands and exits 0', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: modelport/);
  assert.match(r.stdout, /server \[options\]/);
  assert.match(r.stdout, /quickstart \[options\]/);
});

test('--version prints the version; an unknown command is refused even with --help', async () => {
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, '0.1.0\n');
  const unknown = await runCli(['frobnicate', '--help']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /^modelport: unknown command 'frobnicate'/);
  const known = await runCli(['--data', tempDir(), 'models', '--help']);
  assert.equal(known.code, 0);
  assert.match(known.stdout, /Usage: modelport models/);
});

test('a server that does not answer is named, with how to start one', async () => {
  const port = await freePort();
  for (const server of [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`]) {
    const r = await runCli(['models', 'list', '--server', server]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^modelport: no modelport server answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); start one with \`npx modelport server\``));
  }
  const bad = await runCli(['models', 'list', '--server', 'ftp://host']);
  assert.match(bad.stderr, /^modelport: --server: "ftp:\/\/host" must be an http:\/\/ or https:\/\/ URL/);
});

test('MODELPORT_PORT and MODELPORT_HOST apply when no flag is given; a flag wins', async () => {
  const [envPort, flagPort] = [await freePort(), await freePort()];
  for (const [args, port] of [[[], envPort], [['--port', String(flagPort)], flagPort]] as const) {
    const child = spawnCli(['server', '--data', tempDir(), '--log-level', 'warn', ...args], { MODELPORT_PORT: String(envPort), MODELPORT_HOST: '127.0.0.1' });
    const [, url] = await waitForLine(child, /modelport listening on (http:\/\/127\.0\.0\.1:\d+)/);
    assert.equal(new URL(url!).port, String(port));
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

test('bad input is one line on stderr and exit code 2', async () => {
  const data = tempDir();
  const blocker = join(data, 'a-file');
  writeFileSync(blocker, 'x');
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^modelport: unknown option '--bogus'/],
    [['server', '--store', 'mysql://x'], /^modelport: --store: "mysql:\/\/x" is not supported/],
    [['server', '--data', data, '--store', 'postgres://postgres@127.0.0.1:1/test'], /^modelport: --store: cannot reach PostgreSQL at 127\.0\.0\.1:1\/test/],
    [['server', '--data', join(blocker, 'sub')], /^modelport: data folder .* is not writable: ENOTDIR/],
    [['server', '--data', data, '--port', 'x'], /^modelport: --port: "x" is not a whole number/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')} exits 2 (stderr: ${r.stderr})`);
    assert.match(r.stderr, message);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
});

test('server prints its address when ready, refuses a taken port, and stops cleanly on SIGTERM', async () => {
  const child = spawnCli(['server', '--data', tempDir(), '--port', '0', '--log-level', 'warn']);
  const [, url] = await waitForLine(child, /modelport listening on (http:\/\/127\.0\.0\.1:\d+)/);
  assert.equal((await fetch(`${url}/health`)).status, 200);

  const taken = await runCli(['server', '--data', tempDir(), '--port', new URL(url).port]);
  assert.equal(taken.code, 2);
  assert.match(taken.stderr, /^modelport: --port: 127\.0\.0\.1:\d+ is already in use; choose another with --port/);

  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('each command module registers exactly the commands it is loaded for', async () => {
  const { Command } = await import('commander');
  const { COMMAND_MODULES } = await import('../../src/cli/main.js');
  for (const [names, load] of COMMAND_MODULES) {
    const program = new Command('modelport');
    (await load())(program);
    assert.deepEqual(program.commands.map((c) => c.name()), names);
  }
  const all = COMMAND_MODULES.flatMap(([names]) => names);
  assert.equal(new Set(all).size, all.length, 'no command is listed twice');
});
