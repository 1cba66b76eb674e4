import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import mlflowPackage from 'mlflow';
import { testConfig, testServer } from '../helpers/platform.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { ModelportClient } from '../../src/client/client.js';
import { SecurityClient } from '../../src/client/security.js';
import { ManualClock } from '../../src/core/clock.js';
import { SecurityService } from '../../src/security/service.js';
import { LOGREG, breastCancerRows, register, v2Row } from '../serving/helpers.js';

const MLflow = mlflowPackage as unknown as typeof mlflowPackage.default;

async function call(url: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

const basic = (token: string, user = 'alice') => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

describe('authentication', () => {
  let server: RunningServer;
  let clock: ManualClock;
  let admin: string;
  let viewer: string;
  let editor: string;
  let scoped: string;
  let row: ReturnType<typeof v2Row>;

  before(async () => {
    clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
    server = await testServer({}, clock);
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    await server.platform.services.serving.create({ name: 'a', model: 'cancer', version: 1 });
    await server.platform.services.serving.create({ name: 'b', model: 'cancer', version: 1 });
    row = v2Row((await breastCancerRows())[0]);
  });
  after(() => server.close());

  test('a loopback server with no token answers without credentials', async () => {
    const res = await call(`${server.url}/api/2.0/mlflow/experiments/search?max_results=5`);
    assert.equal(res.status, 200);
    assert.equal((await call(`${server.url}/api/v1/security/whoami`)).body.auth, false);
  });

  test('the first token switches auth on; its text is shown once and stored only as an HMAC', async () => {
    const security = new SecurityClient(new ModelportClient(server.url));
    const created = await security.createToken({ name: 'root', role: 'admin' });
    admin = created.token;
    assert.match(admin, /^mp_[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
    assert.equal((await call(`${server.url}/api/v1/security/whoami`)).body.auth, true);
    const rows = await server.platform.metadata.db.selectFrom('sec_token').selectAll().execute();
    assert.equal(JSON.stringify(rows).includes(admin), false, 'the token text is not in the store');
    assert.equal(JSON.stringify(rows).includes(admin.slice(3, 20)), false);
    const listed = await call(`${server.url}/api/v1/security/tokens`, { token: admin });
    assert.equal(listed.status, 200);
    assert.equal(JSON.stringify(listed.body).includes(admin), false, 'listing never shows a token');
    const as = (role: string, extra: object = {}) => call(`${server.url}/api/v1/security/tokens`, { method: 'POST', token: admin, body: JSON.stringify({ name: role, role, ...extra }) });
    viewer = (await as('viewer')).body.token;
    editor = (await as('editor')).body.token;
    scoped = (await call(`${server.url}/api/v1/security/tokens`, { method: 'POST', token: admin, body: JSON.stringify({ name: 'svc-a', role: 'viewer', scopes: ['inference:a'] }) })).body.token;
  });

  test('no credentials: 401 with WWW-Authenticate, in each protocol shape', async () => {
    const mlflow = await call(`${server.url}/api/2.0/mlflow/experiments/search?max_results=5`);
    assert.equal(mlflow.status, 401);
    assert.match(mlflow.headers.get('www-authenticate') ?? '', /Bearer realm="modelport", Basic/);
    assert.equal(mlflow.body.error_code, 'UNAUTHENTICATED');
    const own = await call(`${server.url}/api/v1/deployments`);
    assert.equal(own.status, 401);
    assert.equal(own.body.error.code, 'UNAUTHENTICATED');
    const fast = await call(`${server.url}/v2/models/a/infer`, { method: 'POST', body: JSON.stringify(row) });
    assert.equal(fast.status, 401);
    assert.match(fast.headers.get('www-authenticate') ?? '', /Bearer/);
    assert.equal(typeof fast.body.error, 'string', 'V2 error shape');
    assert.equal((await call(`${server.url}/health`)).status, 200, 'public routes stay open');
  });

  test('Bearer and HTTP Basic (any user, token as password) both work; the MLflow npm client works with Basic', async () => {
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: viewer })).status, 200);
    assert.equal((await call(`${server.url}/api/v1/deployments`, { headers: { authorization: basic(viewer) } })).status, 200);
    const client = new MLflow({ endpoint: server.url, headers: { Authorization: basic(editor, 'mlflow-user') } });
    const created = (await client.Experiments.create({ name: 'with-basic-auth', artifact_location: undefined as unknown as string })) as { experiment_id: string };
    const got = (await client.Experiments.get({ experiment_id: created.experiment_id })) as { experiment: { name: string } };
    assert.equal(got.experiment.name, 'with-basic-auth');
    const anonymous = new MLflow({ endpoint: server.url });
    await assert.rejects(anonymous.Experiments.list({}), /401/);
  });

  test('roles: a viewer reads but may not change, an editor changes but may not administer', async () => {
    const create = (token: string, name: string) =>
      call(`${server.url}/api/2.0/mlflow/experiments/create`, { method: 'POST', token, body: JSON.stringify({ name }) });
    assert.equal((await create(viewer, 'by-viewer')).status, 403);
    assert.equal((await create(viewer, 'by-viewer')).body.error_code, 'PERMISSION_DENIED');
    assert.equal((await create(editor, 'by-editor')).status, 200);
    assert.equal((await call(`${server.url}/api/v1/security/tokens`, { token: editor })).status, 403);
    assert.equal((await call(`${server.url}/api/v1/webhooks`, { token: editor })).status, 403);
    assert.equal((await call(`${server.url}/api/v1/webhooks`, { token: admin })).status, 200);
  });

  test('an inference token reaches only its deployment, on the fast path and through Fastify', async () => {
    const infer = (name: string) => call(`${server.url}/v2/models/${name}/infer`, { method: 'POST', token: scoped, body: JSON.stringify(row) });
    assert.equal((await infer('a')).status, 200);
    const other = await infer('b');
    assert.equal(other.status, 403);
    assert.match(other.body.error, /may only call inference on a/);
    assert.equal((await call(`${server.url}/v2/models/a`, { token: scoped })).status, 200, 'its metadata');
    assert.equal((await call(`${server.url}/v2/models/b`, { token: scoped })).status, 403);
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: scoped })).status, 403);
    const viaFastify = await server.app.inject({ method: 'POST', url: '/v2/models/b/infer', headers: { authorization: `Bearer ${scoped}`, 'content-type': 'application/json' }, payload: JSON.stringify(row) });
    assert.equal(viaFastify.statusCode, 403);
  });

  test('a body over the limit is refused for its size only after the caller is let in, on the fast paths as through Fastify', async () => {
    const { port } = new URL(server.url);
    // Headers alone, declaring more than any limit: the answer comes before a body byte is sent.
    const status = (path: string, token?: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
          const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
          if (m) {
            resolve(Number(m[1]));
            socket.destroy();
          }
        });
        socket.on('error', reject);
        socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${token ? `authorization: Bearer ${token}\r\n` : ''}content-length: ${server.platform.config.bodyLimit + 1}\r\n\r\n`);
      });
    for (const path of ['/v2/models/a/infer', '/deployments/a/invocations', '/api/2.0/mlflow/runs/search']) {
      assert.equal(await status(path), 401, `${path} without a token`);
      assert.equal(await status(path, admin), 413, `${path} with one`);
    }
    assert.equal(await status('/v2/models/b/infer', scoped), 403, 'a token for another deployment');
  });

  test('revoked and expired tokens are refused', async () => {
    const security = new SecurityClient(new ModelportClient(server.url, { token: admin }));
    const shortLived = await security.createToken({ name: 'short', role: 'viewer', expires: '1h' });
    const doomed = await security.createToken({ name: 'doomed', role: 'viewer' });
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: shortLived.token })).status, 200);
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: doomed.token })).status, 200);
    await security.revokeToken('doomed');
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: doomed.token })).status, 401);
    clock.advance(3_600_001);
    assert.equal((await call(`${server.url}/api/v1/deployments`, { token: shortLived.token })).status, 401);
    const listed = await security.listTokens();
    assert.ok(listed.find((t) => t.name === 'doomed')!.revoked_ms);
    assert.ok(listed.find((t) => t.name === 'viewer')!.last_used_ms, 'last use is recorded');
  });

  test('on the fast path a cached token is still refused once revoked or expired, and the token is hashed only on a miss', async () => {
    const security = new SecurityClient(new ModelportClient(server.url, { token: admin }));
    const infer = (token: string) => call(`${server.url}/v2/models/a/infer`, { method: 'POST', token, body: JSON.stringify(row) });
    const expiring = await security.createToken({ name: 'expiring', role: 'viewer', expires: '1h' });
    const revoked = await security.createToken({ name: 'fast-revoked', role: 'viewer' });
    clock.advance(3_600_000 - 2_000);
    const tokens = server.platform.services.security.tokens;
    const hashed: string[] = [];
    const hash = tokens.hash.bind(tokens);
    tokens.hash = (token: string) => (hashed.push(token), hash(token));
    try {
      for (let i = 0; i < 3; i++) assert.equal((await infer(expiring.token)).status, 200);
      assert.equal((await infer(revoked.token)).status, 200);
      assert.equal(hashed.filter((t) => t === expiring.token).length, 1, 'later requests are answered from the cache');
      clock.advance(2_000);
      assert.ok(tokens.cached(expiring.token) === null, 'still cached, now expired');
      assert.equal((await infer(expiring.token)).status, 401);
      assert.ok(tokens.cached(revoked.token), 'cached');
      await security.revokeToken('fast-revoked');
      const refused = await infer(revoked.token);
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /Bearer/);
    } finally {
      tokens.hash = hash;
    }
  });

  test('a revocation made on another replica reaches this one over the cluster bus, not only when its cache ages', async () => {
    const platform = server.platform;
    const replica = await SecurityService.create({ config: platform.config, clock, metadata: platform.metadata, cluster: platform.cluster });
    const created = await platform.services.security.tokens.create({ name: 'elsewhere', role: 'viewer', createdBy: 'test' });
    assert.ok(await replica.tokens.verify(created.token));
    assert.ok(replica.tokens.cached(created.token), 'cached on the other replica');
    await platform.services.security.tokens.revoke('elsewhere');
    assert.equal(replica.tokens.cached(created.token), undefined, 'dropped at once');
    assert.equal(await replica.tokens.verify(created.token), undefined);
  });
});

describe('start-up', () => {
  test('binding beyond loopback without auth refuses to start and says how to configure it', async () => {
    await assert.rejects(startServer(testConfig({ host: '0.0.0.0' }), { logger: false }), (err: Error) => {
      assert.match(err.message, /refusing to listen on 0\.0\.0\.0 without authentication/);
      assert.match(err.message, /--auth on/);
      assert.match(err.message, /MODELPORT_ADMIN_TOKEN/);
      assert.match(err.message, /modelport tokens create --name admin --role admin/);
      return true;
    });
  });

  test('--auth on writes a bootstrap admin token once to a 0600 file; MODELPORT_ADMIN_TOKEN is taken as given', async () => {
    const config = testConfig({ auth: 'on' });
    const first = await startServer(config, { logger: false });
    let token: string;
    try {
      assert.equal(first.adminTokenFile, join(config.dataDir, 'admin-token'));
      assert.equal(statSync(first.adminTokenFile!).mode & 0o777, 0o600);
      token = readFileSync(first.adminTokenFile!, 'utf8').trim();
      assert.equal((await call(`${first.url}/api/v1/security/tokens`)).status, 401);
      assert.equal((await call(`${first.url}/api/v1/security/tokens`, { token })).status, 200);
    } finally {
      await first.close();
    }
    const again = await startServer(config, { logger: false });
    try {
      assert.equal(again.adminTokenFile, undefined, 'written once');
      assert.equal((await call(`${again.url}/api/v1/security/tokens`, { token })).body.tokens.length, 1);
    } finally {
      await again.close();
    }
    const fromEnv = 'x'.repeat(40);
    const envServer = await startServer({ ...testConfig(), adminToken: fromEnv }, { logger: false });
    try {
      assert.equal((await call(`${envServer.url}/api/v1/security/tokens`)).status, 401);
      assert.equal((await call(`${envServer.url}/api/v1/security/tokens`, { token: fromEnv })).status, 200);
    } finally {
      await envServer.close();
    }
  });
});
