/** `modelport server --workers N`: N processes on one port, supervised, stopped gracefully. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { testPlatform } from '../helpers/platform.js';
import { LOGREG, breastCancerRows, register } from '../serving/helpers.js';
import { parseWorkers } from '../../src/cli/server.js';

/** Pids of the Node processes whose parent is `pid` (tsx's esbuild service is a child too). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces): state, then the parent pid.
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      const node = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'node';
      if (node && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out.sort();
}

async function until<T>(get: () => T | undefined, what: string, ms = 30_000): Promise<T> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 50))) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

async function untilAsync<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

test('two worker processes answer on one port; a dead one is replaced; SIGTERM stops them all', async () => {
  const child = spawnCli(['--data', tempDir('mpserve'), 'server', '--port', '0', '--workers', '2']);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const [, url] = await waitForLine(child, /modelport listening on (\S+) \(2 worker processes\)/, 180_000);
    const workers = childrenOf(child.pid!);
    assert.equal(workers.length, 2, `worker processes: ${workers}`);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/v2/health/live`, { headers: { connection: 'close' } });
      assert.deepEqual(await res.json(), { live: true });
    }

    process.kill(workers[0], 'SIGKILL');
    await until(() => (stderr.includes(`worker process ${workers[0]} exited (SIGKILL); starting another`) ? true : undefined), 'the restart notice');
    const replaced = await until(() => {
      const now = childrenOf(child.pid!);
      return now.length === 2 && !now.includes(workers[0]) ? now : undefined;
    }, 'a replacement worker');
    assert.ok(replaced.includes(workers[1]));
    // Until the replacement listens, the survivor answers every connection.
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${url}/v2/health/live`, { headers: { connection: 'close' } })).status, 200);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
    assert.deepEqual(childrenOf(child.pid!), []);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('--workers must be a whole number; a taken port stops every worker with one line', async () => {
  const bad = await runCli(['--data', tempDir('mpserve'), 'server', '--workers', '0']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'modelport: --workers: must be a whole number from 1 to 64 or auto, got "0"');
  assert.equal(parseWorkers('auto'), Math.min(64, os.availableParallelism()));

  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const port = (taken.address() as AddressInfo).port;
    const r = await runCli(['--data', tempDir('mpserve'), 'server', '--port', String(port), '--workers', '2']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), `modelport: --port: 127.0.0.1:${port} is already in use; choose another with --port`);
  } finally {
    taken.close();
  }
});

test('--workers on SQLite: a change reaches every process over the primary, every process heartbeats, and rollout gates count them all', async () => {
  const data = tempDir('mpserve');
  const setup = await testPlatform({ data });
  await register(setup.services.registry, 'm', LOGREG, ['model.onnx']);
  await register(setup.services.registry, 'm', LOGREG, ['model.onnx']);
  await setup.close();
  // The store reconcile is pushed out of the test's reach: what the other process learns comes over the relay.
  const child = spawnCli(['--data', data, 'server', '--port', '0', '--workers', '2'], { MODELPORT_RECONCILE_MS: '600000' });
  const api = (url: string, method = 'GET', body?: unknown) =>
    fetch(url, { method, headers: { connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  try {
    const [, url] = await waitForLine(child, /modelport listening on (\S+) \(2 worker processes\)/, 180_000);
    assert.equal((await api(`${url}/api/v1/deployments`, 'POST', { name: 'd', model: 'm', version: 1 })).status, 201);
    await untilAsync('both processes serving d in the heartbeats', async () => {
      const d = await api(`${url}/api/v1/deployments/d`);
      return d.body.replicas.filter((r: { state: string }) => r.state === 'ready').length === 2 ? true : undefined;
    });

    const rollout = await api(`${url}/api/v1/deployments/d/rollout`, 'POST', { version: 2, steps: [50, 100], min_requests: 1000 });
    assert.equal(rollout.status, 201, JSON.stringify(rollout.body));
    // Both processes on the canary's revision: the step's window reset, sent after it, has reached them too.
    await untilAsync('both processes on the rollout revision', async () => {
      const d = await api(`${url}/api/v1/deployments/d`);
      return d.body.replicas.filter((r: { state: string; revision: number }) => r.state === 'ready' && r.revision === d.body.revision).length === 2 ? true : undefined;
    });
    const row = (await breastCancerRows())[0];
    // One connection each: the primary hands connections to the two processes in turn.
    for (let i = 0; i < 40; i++) {
      const res = await api(`${url}/v2/models/d/infer`, 'POST', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: row }] });
      assert.equal(res.status, 200);
    }
    await untilAsync('the rollout controller counting both processes', async () => {
      const last = (await api(`${url}/api/v1/deployments/d/rollout`)).body.last;
      return last && last.canary.requests + last.primary.requests === 40 ? true : undefined;
    });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
