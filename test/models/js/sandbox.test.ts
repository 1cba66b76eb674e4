import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batch, loadModel, type Predictor } from '../../../src/models/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'modelport-sandbox-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Each row names an escape attempt; the model answers what happened: "allowed: ..." or the
 * error code and message that stopped it. A string in, a string out, so one load covers all.
 */
const ATTEMPTS = `
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
export const signature = { inputs: [{ name: 'attempt', dtype: 'string', shape: [] }, { name: 'arg', dtype: 'string', shape: [] }], outputs: [{ name: 'outcome', dtype: 'string', shape: [] }] };
const require = createRequire(import.meta.url);
const attempts = {
  write: (p) => { writeFileSync(p, 'pwned'); },
  read: (p) => readFileSync(p, 'utf8').slice(0, 20),
  spawn: () => require('node:child_process').execFileSync('/bin/sh', ['-c', 'echo pwned']).toString(),
  worker: () => new (process.getBuiltinModule('node:worker_threads').Worker)('1', { eval: true }),
  connect: (port) => new Promise((resolve, reject) => { const s = require('node:net').connect(Number(port), '127.0.0.1', () => resolve('connected')); s.on('error', reject); }),
  listen: () => new Promise((resolve, reject) => { const s = process.getBuiltinModule('net').createServer(); s.listen(0, () => resolve('listening')); s.on('error', reject); }),
  fetch: (port) => fetch('http://127.0.0.1:' + port + '/').then((r) => 'status ' + r.status),
  udp: (port) => require('node:dgram').createSocket('udp4').send('x', Number(port), '127.0.0.1'),
  dns: () => import('node:dns/promises').then((d) => d.lookup('localhost')).then((r) => JSON.stringify(r)),
  signal: () => process.kill(process.ppid, 0),
  env: () => JSON.stringify(Object.keys(process.env).filter((k) => !k.startsWith('NODE_CHANNEL'))),
};
export async function predict(batch) {
  const names = batch.column('attempt').data;
  const args = batch.column('arg').data;
  const out = [];
  for (let i = 0; i < batch.rows; i++) {
    try {
      out.push('allowed: ' + (await attempts[names[i]](args[i])));
    } catch (err) {
      const cause = err.cause ?? err;
      out.push('refused: ' + (cause.code ?? '') + ' ' + cause.message);
    }
  }
  return { outcome: { dtype: 'string', shape: [], data: out } };
}
`;

describe('js models run sandboxed', () => {
  let model: Predictor;
  let listener: Server;
  let port: number;
  let connections = 0;
  const dir = join(tmp, 'attempts');

  before(async () => {
    writeFileSync(join(tmp, 'placeholder'), '');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.mjs'), ATTEMPTS);
    writeFileSync(join(dir, 'own.txt'), 'its own file');
    model = await loadModel(dir);
    listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
  });
  after(async () => {
    await model.close();
    listener.close();
  });

  const attempt = async (name: string, arg = ''): Promise<string> => {
    const out = await model.predict(Batch.from({ attempt: { dtype: 'string', shape: [], data: [name] }, arg: { dtype: 'string', shape: [], data: [arg] } }));
    return (out.column('outcome').data as string[])[0];
  };

  test('it reads its own folder', async () => {
    assert.equal(await attempt('read', join(dir, 'own.txt')), 'allowed: its own file');
  });

  test('it cannot read other files', async () => {
    assert.match(await attempt('read', '/etc/passwd'), /^refused: ERR_ACCESS_DENIED/);
    assert.match(await attempt('read', join(tmp, 'placeholder')), /^refused: ERR_ACCESS_DENIED/, 'not even next to its folder');
  });

  test('it cannot write a file, not even into its own folder', async () => {
    for (const target of [join(tmp, 'pwned'), join(dir, 'pwned')]) {
      assert.match(await attempt('write', target), /^refused: ERR_ACCESS_DENIED/);
      assert.equal(existsSync(target), false);
    }
  });

  test('it cannot start a process or a thread', async () => {
    assert.match(await attempt('spawn'), /^refused: ERR_ACCESS_DENIED/);
    assert.match(await attempt('worker'), /^refused: ERR_ACCESS_DENIED/);
  });

  test('it cannot open a socket, listen, send a datagram, fetch or resolve a name', async () => {
    for (const name of ['connect', 'listen', 'fetch', 'udp', 'dns']) {
      assert.match(await attempt(name, String(port)), /^refused: .*(ERR_ACCESS_DENIED|not allowed)/, name);
    }
    assert.equal(connections, 0, 'no connection reached the listener');
  });

  test('it cannot signal other processes and sees none of the server environment', async () => {
    assert.match(await attempt('signal'), /^refused: ERR_ACCESS_DENIED/);
    assert.equal(await attempt('env'), 'allowed: []');
  });

  test('code run at import time is sandboxed too', async () => {
    const eager = join(tmp, 'eager');
    mkdirSync(eager);
    const target = join(tmp, 'written-at-import');
    writeFileSync(join(eager, 'model.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(target)}, 'pwned');\nexport function predict(b) { return b; }\n`);
    await assert.rejects(loadModel(eager), { code: 'InvalidArgument', message: /could not be imported: .*ERR_ACCESS_DENIED|could not be imported: Access to this API/ });
    assert.equal(existsSync(target), false);
  });

  test('a model whose process dies fails its calls, answers 503 while it restarts, then serves again', async () => {
    const dying = join(tmp, 'dying');
    mkdirSync(dying);
    writeFileSync(join(dying, 'model.mjs'), 'export function predict(batch) { if (batch.column("x").data[0] === 3) process.exit(3); return { y: batch.column("x") }; }\n');
    const p = await loadModel(dying);
    const x = (v: number) => Batch.from({ x: { dtype: 'float64', shape: [], data: new Float64Array([v]) } });
    await assert.rejects(p.predict(x(3)), { code: 'FailedPrecondition', message: /exited \(code 3\)/ });
    await assert.rejects(p.predict(x(1)), (err: Error & { code: string }) => {
      assert.equal(err.code, 'Unavailable');
      assert.match(err.message, /exited \(code 3\); restarting it in 0.5 s/);
      assert.doesNotMatch(err.message, new RegExp(tmp));
      return true;
    });
    let answer: Batch | undefined;
    while (!answer) answer = await p.predict(x(1)).catch(async () => void (await new Promise((r) => setTimeout(r, 100))));
    assert.deepEqual([...(answer.column('y').data as Float64Array)], [1]);
    // It dies again: the next wait is longer (backoff), and it comes back again.
    await assert.rejects(p.predict(x(3)), { code: 'FailedPrecondition' });
    await assert.rejects(p.predict(x(1)), { code: 'Unavailable', message: /restarting it in 1 s/ });
    await p.close();
  });

  test('an async predict takes calls concurrently: a slow call does not hold up the next', async () => {
    const waiting = join(tmp, 'waiting');
    mkdirSync(waiting);
    // The first call waits until a second one arrives; answered one at a time, neither would finish.
    writeFileSync(
      join(waiting, 'model.mjs'),
      'let release;\nexport async function predict(batch) {\n  if (!release) await new Promise((r) => { release = r; });\n  else release();\n  return { y: batch.column("x") };\n}\n',
    );
    const p = await loadModel(waiting);
    try {
      assert.equal(p.concurrentCalls, Number.POSITIVE_INFINITY);
      const x = (v: number) => Batch.from({ x: { dtype: 'float64', shape: [], data: new Float64Array([v]) } });
      const [a, b] = await Promise.all([p.predict(x(1)), p.predict(x(2))]);
      assert.deepEqual([a.column('y').data[0], b.column('y').data[0]], [1, 2]);
    } finally {
      await p.close();
    }
  });
});
