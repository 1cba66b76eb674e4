/**
 * modelport's registry API end to end over HTTP with the SDK: streamed uploads of every fixture
 * model, manifests and downloads, lineage through tracking, the approval flow between two users,
 * and webhooks to a receiver on loopback (allowed explicitly) with signatures and retries.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { Config } from '../../src/config.js';
import { ModelportClient } from '../../src/client/client.js';
import { RegistryClient, httpBlobUploader } from '../../src/client/registry.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { testConfig } from '../helpers/platform.js';
import { FIXTURES } from '../registry/helpers.js';

const FIXTURE_MODELS: { path: string; flavor: string }[] = [
  { path: 'mlflow_onnx', flavor: 'onnx' },
  { path: 'mlflow_xgboost', flavor: 'xgboost' },
  { path: 'onnx_logreg_breast_cancer/model.onnx', flavor: 'onnx' },
  { path: 'onnx_forest_breast_cancer/model.onnx', flavor: 'onnx' },
  { path: 'xgb_breast_cancer/model.json', flavor: 'xgboost' },
  { path: 'xgb_breast_cancer/model.ubj', flavor: 'xgboost' },
  { path: 'js_model', flavor: 'js' },
];

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback that answers the queued statuses (then 200). */
async function receiver(): Promise<{ url: string; received: Received[]; statuses: number[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, received, statuses, close: () => new Promise((r) => server.close(() => r())) };
}

describe('registry API over HTTP', () => {
  let server: RunningServer;
  let clock: ManualClock;
  const as = (user: string, roles: string[] = []) =>
    new RegistryClient(new ModelportClient(server.url), { actor: { user, roles }, uploader: httpBlobUploader({ url: server.url }, { user }) });

  before(async () => {
    clock = new ManualClock(1_795_000_000_000);
    // Loopback receivers are refused by default; this test allows them explicitly.
    const config = { ...testConfig(), allowPrivateWebhookTargets: true } as Config;
    server = await startServer(config, { clock, logger: false });
  });
  after(async () => {
    await server.close();
  });

  test('registers every fixture model through streamed uploads, with flavor, manifest and download', async () => {
    const ana = as('ana');
    for (const [i, m] of FIXTURE_MODELS.entries()) {
      const v = await ana.register('fixtures', join(FIXTURES, m.path));
      assert.equal(v.version, i + 1);
      assert.equal(v.flavor, m.flavor, m.path);
      assert.equal(v.status, 'READY');
      assert.equal(v.userId, 'ana');
      const manifest = await ana.manifest('fixtures', v.version);
      assert.equal(manifest.sha256, v.sha256);
      assert.ok(manifest.files.some((f) => f.path === 'MLmodel'), `${m.path}: the version holds an MLmodel file`);
    }
    const file = await fetch(`${server.url}/api/v1/registry/models/fixtures/versions/5/files/model.json`);
    assert.equal(file.status, 200);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), await readFile(join(FIXTURES, 'xgb_breast_cancer/model.json')));
    const mlmodel = await (await fetch(`${server.url}/api/v1/registry/models/fixtures/versions/5/files/MLmodel`)).text();
    assert.match(mlmodel, /xgboost:\n\s+code: null\n\s+data: model\.json/);
    assert.match(mlmodel, /model_uuid: [0-9a-f]{32}/);
    assert.equal((await as('ana').getVersion('fixtures', 'latest')).version, FIXTURE_MODELS.length);

    const wrong = await fetch(`${server.url}/api/v1/registry/models/fixtures/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: [{ path: 'model.onnx', sha256: (await ana.manifest('fixtures', 5)).files.find((f) => f.path === 'model.json')!.sha256 }] }),
    });
    assert.equal(wrong.status, 400);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /not a valid onnx model: expected an ONNX model/);
    const unknown = await fetch(`${server.url}/api/v1/registry/models/nope/versions/1`);
    assert.equal(unknown.status, 404);
    const badUpload = await fetch(`${server.url}/api/v1/registry/blobs?sha256=${'0'.repeat(64)}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: 'abc' });
    assert.equal(badUpload.status, 400);
    assert.match(((await badUpload.json()) as { error: { message: string } }).error.message, /not the expected/);
  });

  test('a refused version leaves no empty model behind; an unknown run id is refused here but recorded through MLflow', async () => {
    const ana = as('ana');
    const json = (await ana.manifest('fixtures', 5)).files.find((f) => f.path === 'model.json')!;
    const post = (name: string, body: object) =>
      fetch(`${server.url}/api/v1/registry/models/${name}/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post('not-onnx', { files: [{ path: 'model.onnx', sha256: json.sha256 }] });
    assert.equal(refused.status, 400);
    assert.equal((await fetch(`${server.url}/api/v1/registry/models/not-onnx`)).status, 404, 'no model was created');

    const noRun = await post('with-run', { files: [{ path: 'model.json', sha256: json.sha256 }], runId: 'nonexistentrun' });
    assert.equal(noRun.status, 400);
    assert.match(((await noRun.json()) as { error: { message: string } }).error.message, /^run nonexistentrun does not exist/);
    assert.equal((await fetch(`${server.url}/api/v1/registry/models/with-run`)).status, 404);

    const mlflow = await fetch(`${server.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"mlflow-run"}' });
    assert.equal(mlflow.status, 200);
    const viaMlflow = await fetch(`${server.url}/api/2.0/mlflow/model-versions/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mlflow-run', source: 'models:/fixtures/5', run_id: 'nonexistentrun' }),
    });
    assert.equal(viaMlflow.status, 200, await viaMlflow.clone().text());
    assert.equal(((await viaMlflow.json()) as { model_version: { run_id: string } }).model_version.run_id, 'nonexistentrun');
  });

  test('lineage: version → run → datasets and git commit; parent versions', async () => {
    const tracking = server.platform.services.tracking;
    const run = await tracking.createRun({ experiment_id: '0', tags: [{ key: 'mlflow.source.git.commit', value: '0123456789abcdef' }] });
    await tracking.logInputs(run.info.run_id, [
      { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset: { name: 'loans', digest: 'd1g35t', source_type: 'local', source: 'loans.csv' } },
    ]);
    const ana = as('ana');
    const base = await ana.register('scorer', join(FIXTURES, 'xgb_breast_cancer/model.json'), { runId: run.info.run_id });
    const tuned = await ana.register('scorer', join(FIXTURES, 'xgb_breast_cancer/model.ubj'), { parents: [{ name: 'scorer', version: base.version }] });
    const graph = await ana.lineage('scorer', tuned.version);
    assert.equal(graph.root, `model_version:scorer/${tuned.version}`);
    const kinds = Object.fromEntries(graph.nodes.map((n) => [n.id, n.kind]));
    assert.deepEqual(kinds, {
      [`model_version:scorer/${tuned.version}`]: 'model_version',
      [`model_version:scorer/${base.version}`]: 'model_version',
      [`run:${run.info.run_id}`]: 'run',
      'dataset:loans@d1g35t': 'dataset',
      'code:0123456789abcdef': 'code',
    });
    assert.deepEqual(graph.edges, [
      { from: `model_version:scorer/${base.version}`, to: `run:${run.info.run_id}`, relation: 'produced_by' },
      { from: `run:${run.info.run_id}`, to: 'dataset:loans@d1g35t', relation: 'trained_on' },
      { from: `run:${run.info.run_id}`, to: 'code:0123456789abcdef', relation: 'code_version' },
      { from: `model_version:scorer/${tuned.version}`, to: `model_version:scorer/${base.version}`, relation: 'derived_from' },
    ]);
    assert.equal(graph.nodes.find((n) => n.kind === 'dataset')!.data.context, 'training');
  });

  test('approvals: a protected alias and Production need a second user with the approver role; webhooks follow, signed and retried', async () => {
    const hook = await receiver();
    const admin = as('root');
    const created = await admin.createWebhook({
      url: hook.url,
      secret: 's3cret',
      events: ['approval.requested', 'approval.decided', 'model_version.alias_set', 'model_version.stage_changed'],
      model: 'fixtures',
    });
    const test = await admin.testWebhook(created.id);
    assert.equal(test.status, 'SUCCEEDED');
    assert.equal(hook.received.shift()!.headers['x-modelport-event'], 'webhook.test');

    await admin.putPolicy({ model: 'fixtures', protectedAliases: ['champion'], protectedStages: ['Production'], approverRoles: ['approver'] });
    const ana = as('ana');
    await assert.rejects(ana.setAlias('fixtures', 'champion', 1), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PermissionDenied');
      assert.match(err.message, /alias "champion" of model fixtures is protected by an approval policy/);
      return true;
    });
    const mlflowAttempt = await fetch(`${server.url}/api/2.0/mlflow/model-versions/transition-stage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-modelport-user': 'ana' },
      body: JSON.stringify({ name: 'fixtures', version: '1', stage: 'Production', archive_existing_versions: false }),
    });
    assert.equal(mlflowAttempt.status, 403);
    assert.equal(((await mlflowAttempt.json()) as { error_code: string }).error_code, 'PERMISSION_DENIED');
    await ana.setAlias('fixtures', 'challenger', 2);
    const registry = server.platform.services.registry;
    await registry.idle();

    hook.statuses.push(500);
    const request = await ana.requestApproval({ name: 'fixtures', version: 1, alias: 'champion', comment: 'best AUC' });
    assert.equal(request.status, 'PENDING');
    assert.equal(request.requestedBy, 'ana');
    assert.equal(request.requestedAt, clock.now());
    // The first delivery (approval.requested) failed with 500 and waits 1 s of clock time to retry.
    const waitFor = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(async () => (await admin.deliveries(created.id)).some((d) => d.status === 'PENDING' && d.attempts === 1));
    const pending = (await admin.deliveries(created.id)).find((d) => d.status === 'PENDING')!;
    assert.equal(pending.event, 'approval.requested');
    assert.equal(pending.responseStatus, 500);
    assert.equal(pending.nextAttemptAt, pending.updatedAt + 1000);
    clock.advance(1000);
    await registry.idle();
    assert.equal((await admin.deliveries(created.id)).find((d) => d.id === pending.id)!.status, 'SUCCEEDED');

    await assert.rejects(new RegistryClient(new ModelportClient(server.url)).requestApproval({ name: 'fixtures', version: 1, alias: 'champion' }), { code: 'Unauthenticated' });
    await assert.rejects(ana.approve(request.id), /another user than the requester/);
    await assert.rejects(as('bob').approve(request.id), /needs one of the roles approver; user bob has none/);
    assert.equal((await ana.listApprovals({ status: 'PENDING' })).length, 1);

    clock.advance(60_000);
    const approved = await as('carol', ['approver']).approve(request.id, 'ok');
    assert.equal(approved.status, 'APPROVED');
    assert.equal(approved.decidedBy, 'carol');
    assert.equal(approved.decidedAt, clock.now());
    assert.equal((await ana.getVersion('fixtures', 'champion')).version, 1);
    await assert.rejects(as('carol', ['approver']).approve(request.id), /already approved by carol/);

    const stage = await ana.requestApproval({ name: 'fixtures', version: 2, stage: 'production', archiveExistingVersions: true });
    const rejected = await as('carol', ['approver']).reject(stage.id, 'not yet');
    assert.equal(rejected.status, 'REJECTED');
    assert.equal((await ana.getVersion('fixtures', 2)).stage, 'None');

    await registry.idle();
    const log = await admin.deliveries(created.id);
    assert.ok(log.every((d) => d.status === 'SUCCEEDED'), JSON.stringify(log));
    assert.equal(log.find((d) => d.id === pending.id)!.attempts, 2);
    const events = hook.received.map((r) => JSON.parse(r.body) as { event: string; data: Record<string, unknown> });
    assert.deepEqual(events.map((e) => e.event).sort(), ['approval.decided', 'approval.decided', 'approval.requested', 'approval.requested', 'approval.requested', 'model_version.alias_set', 'model_version.alias_set'].sort());
    const moved = events.filter((e) => e.event === 'model_version.alias_set').map((e) => e.data);
    assert.deepEqual(moved.map((d) => [d.alias, d.version, d.user]).sort(), [['challenger', 2, 'ana'], ['champion', 1, 'carol']]);
    for (const r of hook.received) {
      const expected = `sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`;
      assert.equal(r.headers['x-modelport-signature'], expected);
      assert.equal(r.headers['content-type'], 'application/json');
    }
    await admin.deleteWebhook(created.id);
    await hook.close();
  });
});
