/** `modelport server --workers N`: N processes on one port, supervised, stopped gracefully. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { isRunning, runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { testConfig, testPlatform } from '../helpers/platform.js';
import { parseWorkers } from '../../src/cli/server.js';
import { createPlatform } from '../../src/platform.js';
import { workerExecArgv } from '../../src/cluster/index.js';
import { LOGREG, breastCancerRows, expectedLogreg, post, register, v2Row } from '../serving/helpers.js';

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

test("workers get a 64 MB semi-space unless the operator's flags or NODE_OPTIONS choose one", () => {
  assert.deepEqual(workerExecArgv(['--import', 'tsx'], ''), ['--import', 'tsx', '--max-semi-space-size=64']);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=16'], ''), ['--max-semi-space-size=16']);
  assert.deepEqual(workerExecArgv([], '--max_semi_space_size=8 --enable-source-maps'), []);
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
      const last = (await api(`${url}/api/v1/deployments/d/rollout`)).body.rollout?.last;
      return last && last.canary.requests + last.primary.requests === 40 ? true : undefined;
    });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('--workers: a worker takes connections only once it serves every deployment; the primary killed takes its workers along, and a restart serves all that was acknowledged', async () => {
  const data = tempDir('mpserve');
  const seed = await createPlatform(testConfig({ data }));
  await register(seed.services.registry, 'cancer', LOGREG, ['model.onnx']);
  await seed.services.serving.create({ model: 'cancer', version: 1 });
  await seed.close();
  const rows = await breastCancerRows();
  const label = (await expectedLogreg()).label[0];
  // Fresh connections, so the primary hands them to the workers in turn.
  const check = async (url: string) => {
    const ready = await fetch(`${url}/ready`, { headers: { connection: 'close' } });
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.deepEqual(((await ready.json()) as { checks: object }).checks, { metadata: { ok: true }, artifacts: { ok: true }, online: { ok: true }, serving: { ok: true } });
    const infer = await post(`${url}/v2/models/cancer/infer`, v2Row(rows[0]), { connection: 'close' });
    assert.equal(infer.status, 200, JSON.stringify(infer.body));
    assert.equal(infer.body.outputs.find((o: { name: string }) => o.name === 'label').data[0], label);
  };

  const primary = spawnCli(['--data', data, 'server', '--port', '0', '--workers', '2']);
  let stderr = '';
  primary.stderr!.on('data', (d) => (stderr += d));
  let workers: number[] = [];
  try {
    const [, url] = await waitForLine(primary, /modelport listening on (\S+) \(2 worker processes\)/, 180_000);
    for (let i = 0; i < 10; i++) await check(url);
    const { experiment_id } = (await post(`${url}/api/2.0/mlflow/experiments/create`, { name: 'acknowledged' })).body;
    assert.ok(experiment_id);

    // A replacement worker: the survivor answers every connection until the new one has loaded the deployment.
    workers = childrenOf(primary.pid!);
    const joined = waitForLine(primary, /worker process (\d+) serves every deployment and takes connections/, 180_000);
    process.kill(workers[0], 'SIGKILL');
    // Connections the killed worker held are lost with it; from the restart notice on, none is.
    await until(() => (stderr.includes(`worker process ${workers[0]} exited (SIGKILL); starting another`) ? true : undefined), 'the restart notice');
    let replaced = false;
    void joined.then(() => (replaced = true), () => undefined);
    let during = 0;
    while (!replaced) {
      await check(url);
      during++;
    }
    const [, pid] = await joined;
    console.log(`# ${during} requests answered while the replacement loaded`);
    for (let i = 0; i < 10; i++) await check(url);

    workers = [workers[1], Number(pid)];
    primary.kill('SIGKILL');
    await once(primary, 'exit');
    await until(() => (workers.some(isRunning) ? undefined : true), 'the workers to exit with their primary');
    const port = new URL(url).port;
    const again = spawnCli(['--data', data, 'server', '--port', port, '--workers', '2']);
    try {
      await waitForLine(again, /modelport listening on \S+ \(2 worker processes\)/, 180_000);
      for (let i = 0; i < 4; i++) await check(url);
      const found = await fetch(`${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=acknowledged`);
      assert.equal(((await found.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id, experiment_id);
    } finally {
      again.kill('SIGTERM');
      await once(again, 'exit');
    }
  } finally {
    if (primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
    for (const w of workers) if (isRunning(w)) process.kill(w, 'SIGKILL');
  }
});
