/** The attacks found when modelport was tried from outside, and the hardening list: each refused. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testServer } from '../helpers/platform.js';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/services.js';
import type { RunningServer } from '../../src/server/serve.js';
import { checkWebhookUrl } from '../../src/core/webhook-security.js';
import { LOGREG, brokenModel, register } from '../serving/helpers.js';

/** A raw request, so that Host and Origin are exactly what an attacker's browser would send. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function json(url: string, token: string | undefined, method = 'GET', body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('with auth off (loopback, no token)', () => {
  let server: RunningServer;
  before(async () => {
    server = await testServer();
  });
  after(() => server.close());

  test('a cross-site text/plain POST cannot write an artifact, and CORS stays closed', async () => {
    const run = (await json(`${server.url}/api/2.0/mlflow/runs/create`, undefined, 'POST', { experiment_id: '0' })).body.run.info.run_id;
    const upload = `${server.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run}&path=evil.html`;
    const crossSite = await raw(upload, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'http://evil.example' }, body: '<script>alert(1)</script>' });
    assert.equal(crossSite.status, 403);
    assert.match(crossSite.body, /another site/);
    const fetchMetadata = await raw(upload, { method: 'POST', headers: { 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' }, body: 'x' });
    assert.equal(fetchMetadata.status, 403);
    const list = await json(`${server.url}/api/2.0/mlflow/artifacts/list?run_id=${run}`, undefined);
    assert.equal((list.body.files ?? []).length, 0, 'nothing was written');
    const sameSite = await raw(upload, { method: 'POST', headers: { 'content-type': 'text/plain', origin: server.url }, body: 'ok' });
    assert.equal(sameSite.status, 200, 'the server’s own page may still upload');
    const preflight = await raw(`${server.url}/api/2.0/mlflow/experiments/create`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const simple = await raw(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: { origin: 'http://evil.example' } });
    assert.equal(simple.headers['access-control-allow-origin'], undefined);
  });

  test('DNS rebinding: only loopback Host names are served', async () => {
    const port = new URL(server.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `192.168.1.5:${port}`]) {
      const res = await raw(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: { host } });
      assert.equal(res.status, 403, host);
      assert.match(res.body, /is not served while authentication is off/);
    }
    const fast = await raw(`${server.url}/v2/models/x/infer`, { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(fast.status, 403, 'the fast inference path checks it too');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      assert.equal((await raw(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`, { headers: { host } })).status, 200, host);
    }
  });

  test('the data folder and its files are readable by their owner only', async () => {
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    const dir = server.platform.config.dataDir;
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)]));
    const all = walk(dir);
    assert.ok(all.some((f) => f.includes('objects')), 'blobs were written');
    for (const f of all) {
      const mode = statSync(f).mode;
      assert.equal(mode & 0o077, 0, `${f} is ${(mode & 0o777).toString(8)}`);
    }
  });

  test("a broken js model's status names no server path", async () => {
    const version = await register(server.platform.services.registry, 'cancer', brokenModel(), ['model.mjs']);
    const importFails = tempDir('badjs');
    writeFileSync(join(importFails, 'model.mjs'), "import 'no-such-package-anywhere';\nexport function predict() {}\n");
    const version2 = await register(server.platform.services.registry, 'cancer', importFails, ['model.mjs']);
    for (const [name, v, why] of [['broken', version, /weights file is corrupt/], ['unimportable', version2, /no-such-package-anywhere/]] as const) {
      const created = await json(`${server.url}/api/v1/deployments`, undefined, 'POST', { name, model: 'cancer', version: v });
      assert.equal(created.body.state, 'failed');
      assert.match(created.body.message, why);
      assert.doesNotMatch(created.body.message, /\/(tmp|home|work|var|root)\//, created.body.message);
      assert.equal(created.body.message.includes(server.platform.config.dataDir), false);
    }
  });
});

describe('with auth on', () => {
  let server: RunningServer;
  let admin: string;
  let alice: string;
  let bob: string;
  let roots: string;

  before(async () => {
    roots = tempDir('roots');
    server = await testServer({ dataRoots: roots });
    const tokens = server.platform.services.security.tokens;
    admin = (await tokens.create({ name: 'root', role: 'admin', createdBy: 'test' })).token;
    alice = (await tokens.create({ name: 'alice', role: 'editor', createdBy: 'test' })).token;
    bob = (await tokens.create({ name: 'bob', role: 'editor', createdBy: 'test' })).token;
    await server.platform.services.security.tokensChanged();
  });
  after(() => server.close());

  test('from-path reads only under --data-roots, for admins only, and does not tell whether a path exists', async () => {
    const url = (name: string) => `${server.url}/api/v1/datasets/${name}/versions/from-path`;
    const passwd = await json(url('leak'), admin, 'POST', { path: '/etc/passwd', format: 'csv' });
    const missing = await json(url('leak'), admin, 'POST', { path: '/etc/no-such-file-here', format: 'csv' });
    assert.equal(passwd.status, 403);
    assert.deepEqual({ ...passwd.body.error, request_id: 0 }, { ...missing.body.error, request_id: 0 }, 'the same answer either way');
    assert.match(passwd.body.error.message, /--data-roots/);
    assert.equal((await json(url('leak'), admin, 'POST', { path: `${roots}/../../etc/passwd`, format: 'csv' })).status, 403, 'dot-dot');
    symlinkSync('/etc', join(roots, 'escape'));
    assert.equal((await json(url('leak'), admin, 'POST', { path: join(roots, 'escape', 'passwd'), format: 'csv' })).status, 403, 'a symbolic link out');
    assert.equal((await json(url('leak'), alice, 'POST', { path: join(roots, 'x.csv') })).status, 403, 'editors may not');
    mkdirSync(join(roots, 'ok'));
    writeFileSync(join(roots, 'ok', 'a.csv'), 'x,y\n1,a\n2,b\n');
    const ok = await json(url('fine'), admin, 'POST', { path: join(roots, 'ok', 'a.csv') });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('webhooks refuse IPv6 forms that carry a loopback or private IPv4 address', async () => {
    for (const host of ['[::127.0.0.1]', '[::ffff:0:127.0.0.1]', '[2002:7f00:1::]', '[::ffff:10.0.0.1]', '[64:ff9b::192.168.0.1]', '[2001:0:4136:e378:8000:63bf:80ff:fffe]', '[::1]', '[fe80::1]']) {
      await assert.rejects(checkWebhookUrl(`http://${host}/hook`, 'url', false), /loopback or private address/, host);
      const res = await json(`${server.url}/api/v1/webhooks`, admin, 'POST', { url: `http://${host}/hook`, events: ['model_version.created'] });
      assert.equal(res.status, 400, `${host}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /loopback or private address/);
    }
    assert.equal(await checkWebhookUrl('http://[2002:808:808::]/hook', 'url', false), 'http://[2002:808:808::]/hook', 'a public 6to4 address is fine');
  });

  test('webhook secrets are stored sealed, not in plain text', async () => {
    const created = await json(`${server.url}/api/v1/webhooks`, admin, 'POST', { url: 'http://93.184.216.34/hook', events: ['model_version.created'], secret: 'hook-signing-key-42' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.hasSecret, true);
    const rows = await server.platform.metadata.db.selectFrom('reg_webhook').selectAll().execute();
    assert.equal(JSON.stringify(rows).includes('hook-signing-key-42'), false);
    assert.match(String(rows[0].secret), /^sealed:v1:server:/);
  });

  test('deploying a code model (js flavor) needs the admin role', async () => {
    const version = await register(server.platform.services.registry, 'code', brokenModel(), ['model.mjs']);
    assert.equal((await server.platform.services.registry.getVersion('code', version)).flavor, 'js');
    const byEditor = await json(`${server.url}/api/v1/deployments`, alice, 'POST', { name: 'code', model: 'code', version });
    assert.equal(byEditor.status, 403);
    assert.match(byEditor.body.error.message, /code model \(js flavor\): deploying it needs the admin role/);
    assert.equal((await json(`${server.url}/api/v1/deployments`, admin, 'POST', { name: 'code', model: 'code', version })).status, 201);

    // Registering code, or pointing an alias a deployment may follow at it, is deploying it too.
    const { registry } = server.platform.services;
    const { sha256 } = await registry.putBlob(await readFile(join(brokenModel(), 'model.mjs')));
    const files = [{ path: 'model.mjs', sha256 }];
    const registered = await json(`${server.url}/api/v1/registry/models/code/versions`, alice, 'POST', { files });
    assert.equal(registered.status, 403, JSON.stringify(registered.body));
    assert.match(registered.body.error.message, /registering code: a code model \(js flavor\) runs its author's code, which needs the admin role/);
    const aliased = await json(`${server.url}/api/v1/registry/models/code/aliases/live`, alice, 'PUT', { version });
    assert.equal(aliased.status, 403, JSON.stringify(aliased.body));
    assert.match(aliased.body.error.message, /moving alias live of code onto version \d+/);
    assert.equal((await json(`${server.url}/api/v1/registry/models/code/versions`, admin, 'POST', { files })).status, 201);
    assert.equal((await json(`${server.url}/api/v1/registry/models/code/aliases/live`, admin, 'PUT', { version })).status, 200);
    const onnx = await register(registry, 'code', LOGREG, ['model.onnx']);
    assert.equal((await json(`${server.url}/api/v1/registry/models/code/aliases/live`, alice, 'PUT', { version: onnx })).status, 200, 'editors alias models that are not code');
  });

  test('approvals take identities from tokens: headers cannot impersonate another user', async () => {
    await register(server.platform.services.registry, 'credit', LOGREG, ['model.onnx']);
    const asked = await fetch(`${server.url}/api/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'x-modelport-user': 'carol' },
      body: JSON.stringify({ name: 'credit', version: 1, alias: 'champion' }),
    });
    const approval = (await asked.json()) as { id: string; requestedBy: string };
    assert.equal(asked.status, 201, JSON.stringify(approval));
    assert.equal(approval.requestedBy, 'alice');
    const self = await fetch(`${server.url}/api/v1/approvals/${approval.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'x-modelport-user': 'dave' },
      body: '{}',
    });
    assert.equal(self.status, 403);
    assert.match(((await self.json()) as { error: { message: string } }).error.message, /another user than the requester \(alice\)/);
    const other = await json(`${server.url}/api/v1/approvals/${approval.id}/approve`, bob, 'POST', {});
    assert.equal(other.status, 200, JSON.stringify(other.body));
  });
  test('token guessing is rate-limited per address and every failed attempt is audited', async () => {
    const url = `${server.url}/api/v1/deployments`;
    for (let i = 0; i < 10; i++) assert.equal((await json(url, `mp_guess${i}`)).status, 401);
    const blocked = await json(url, 'mp_guess-more');
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.equal((await json(url, admin)).status, 429, 'even a right token waits out the block from that address');
    const entries = await server.platform.services.security.audit.list();
    const denied = entries.filter((e) => e.outcome === 'denied' && e.target === '/api/v1/deployments');
    assert.ok(denied.filter((e) => e.status === 401).length >= 10);
    assert.ok(denied.some((e) => e.status === 429));
    assert.equal(JSON.stringify(entries).includes('mp_guess'), false);
  });

});

test('tokens and secrets never reach the logs, even at trace level', async () => {
  const data = tempDir('logs');
  const adminToken = `mp_${'A'.repeat(43)}`;
  const child = spawnCli(['server', '--port', String(await freePort()), '--data', data, '--log-level', 'trace'], { MODELPORT_ADMIN_TOKEN: adminToken });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/);
    const wrong = `mp_${'W'.repeat(43)}`;
    await fetch(`${url}/api/v1/deployments`, { headers: { authorization: `Bearer ${adminToken}` } });
    await fetch(`${url}/api/v1/deployments`, { headers: { authorization: `Bearer ${wrong}` } });
    await fetch(`${url}/api/2.0/mlflow/experiments/search`, { headers: { authorization: `Basic ${Buffer.from(`u:${adminToken}`).toString('base64')}` } });
    const created = await json(`${url}/api/v1/security/tokens`, adminToken, 'POST', { name: 'ci', role: 'viewer' });
    await fetch(`${url}/api/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://[::1]/x', events: ['model_version.created'], secret: 'hook-secret-123456' }) });
    await fetch(`${url}/v2/models/x/infer`, { method: 'POST', headers: { authorization: `Bearer ${wrong}`, 'content-type': 'application/json' }, body: '{}' });
    assert.ok(output.length > 0, 'the server logged at trace level');
    for (const secret of [adminToken, wrong, created.body.token, 'hook-secret-123456', Buffer.from(`u:${adminToken}`).toString('base64')]) {
      assert.equal(output.includes(secret), false, `a secret appears in the log`);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
