import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testPlatform, testServer } from '../helpers/platform.js';
import { runCli } from '../helpers/cli.js';
import type { RunningServer } from '../../src/server/serve.js';

async function call(url: string, token: string | undefined, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('per-resource permissions and the audit log', () => {
  let server: RunningServer;
  let admin: string;
  let alice: string;
  let bob: string;
  let api: string;

  before(async () => {
    server = await testServer();
    api = `${server.url}/api/2.0/mlflow`;
    const tokens = server.platform.services.security.tokens;
    admin = (await tokens.create({ name: 'root', role: 'admin', createdBy: 'test' })).token;
    alice = (await tokens.create({ name: 'alice', role: 'viewer', createdBy: 'test' })).token;
    bob = (await tokens.create({ name: 'bob', role: 'editor', createdBy: 'test' })).token;
    await server.platform.services.security.tokensChanged();
  });
  after(() => server.close());

  test("MLflow's permission routes widen a viewer on one experiment and close another to an editor", async () => {
    const own = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'alice-exp' })).body.experiment_id as string;
    const secret = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'secret-exp' })).body.experiment_id as string;
    const create = await call(`${api}/experiments/permissions/create`, admin, 'POST', { experiment_id: own, username: 'alice', permission: 'EDIT' });
    assert.deepEqual(create.body, { experiment_permission: { experiment_id: own, user_id: 'alice', permission: 'EDIT' } });
    assert.equal((await call(`${api}/experiments/permissions/create`, admin, 'POST', { experiment_id: secret, username: 'bob', permission: 'NO_PERMISSIONS' })).status, 200);

    // alice (viewer) may now change her experiment, and log to its runs, but not another.
    assert.equal((await call(`${api}/experiments/set-experiment-tag`, alice, 'POST', { experiment_id: own, key: 'k', value: 'v' })).status, 200);
    const run = (await call(`${api}/runs/create`, alice, 'POST', { experiment_id: own })).body.run.info.run_id as string;
    assert.equal((await call(`${api}/runs/log-metric`, alice, 'POST', { run_id: run, key: 'm', value: 1, timestamp: 1, step: 0 })).status, 200);
    assert.equal((await call(`${api}/experiments/set-experiment-tag`, alice, 'POST', { experiment_id: secret, key: 'k', value: 'v' })).status, 403);
    // bob (editor) may not even read the closed one.
    const denied = await call(`${api}/experiments/get?experiment_id=${secret}`, bob);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error_code, 'PERMISSION_DENIED');
    assert.equal((await call(`${api}/experiments/get?experiment_id=${own}`, bob)).status, 200);
    // MLflow 3 logged models belong to their experiment: the same grants apply, by path and in search.
    assert.equal((await call(`${api}/logged-models`, alice, 'POST', { experiment_id: own, name: 'mine' })).status, 200);
    assert.equal((await call(`${api}/logged-models`, alice, 'POST', { experiment_id: secret, name: 'theirs' })).status, 403);
    const hidden = (await call(`${api}/logged-models`, admin, 'POST', { experiment_id: secret, name: 'hidden' })).body.model.info.model_id as string;
    assert.equal((await call(`${api}/logged-models/${hidden}`, bob)).status, 403);
    assert.equal((await call(`${api}/logged-models/${hidden}/tags`, bob, 'PATCH', { tags: [{ key: 'k', value: 'v' }] })).status, 403);
    const seen = await call(`${api}/logged-models/search`, bob, 'POST', { experiment_ids: [own, secret] });
    assert.deepEqual(seen.body.models.map((m: { info: { name: string } }) => m.info.name), ['mine']);

    const got = await call(`${api}/experiments/permissions/get?experiment_id=${own}&username=alice`, admin);
    assert.equal(got.body.experiment_permission.permission, 'EDIT');
    assert.equal((await call(`${api}/experiments/permissions/update`, admin, 'PATCH', { experiment_id: own, username: 'alice', permission: 'READ' })).status, 200);
    assert.equal((await call(`${api}/experiments/set-experiment-tag`, alice, 'POST', { experiment_id: own, key: 'k', value: 'w' })).status, 403);
    assert.equal((await call(`${api}/experiments/permissions/delete`, admin, 'DELETE', { experiment_id: own, username: 'alice' })).status, 200);
    assert.equal((await call(`${api}/experiments/permissions/get?experiment_id=${own}&username=alice`, admin)).body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal((await call(`${api}/experiments/permissions/create`, alice, 'POST', { experiment_id: own, username: 'alice', permission: 'MANAGE' })).status, 403, 'a viewer cannot grant herself');
  });

  test("a logged model named by model_id needs edit on its own experiment, not only on the run's or the registered model's", async () => {
    const open = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'lm-open' })).body.experiment_id as string;
    const closed = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'lm-closed' })).body.experiment_id as string;
    // bob (editor) may read the closed experiment but not change it.
    assert.equal((await call(`${api}/experiments/permissions/create`, admin, 'POST', { experiment_id: closed, username: 'bob', permission: 'READ' })).status, 200);
    const theirs = (await call(`${api}/logged-models`, admin, 'POST', { experiment_id: closed, name: 'theirs' })).body.model.info.model_id as string;
    const mine = (await call(`${api}/logged-models`, bob, 'POST', { experiment_id: open, name: 'mine' })).body.model.info.model_id as string;
    const run = (await call(`${api}/runs/create`, bob, 'POST', { experiment_id: open })).body.run.info.run_id as string;
    const point = (model_id: string) => ({ key: 'acc', value: 1, timestamp: 1, step: 0, model_id });
    assert.equal((await call(`${api}/runs/log-metric`, bob, 'POST', { run_id: run, ...point(theirs) })).status, 403);
    assert.equal((await call(`${api}/runs/log-batch`, bob, 'POST', { run_id: run, metrics: [point(mine), point(theirs)] })).status, 403);
    assert.equal((await call(`${api}/runs/log-metric`, bob, 'POST', { run_id: run, ...point(mine) })).status, 200);
    assert.equal((await call(`${api}/runs/log-batch`, bob, 'POST', { run_id: run, metrics: [point(mine)] })).status, 200);
    const got = await call(`${api}/logged-models/${theirs}`, bob);
    assert.deepEqual(got.body.model.data.metrics ?? [], [], 'nothing reached the closed experiment');
    // A registration lists itself in the model's tag: bob may register, but not write to their model.
    assert.equal((await call(`${api}/registered-models/create`, bob, 'POST', { name: 'bobs' })).status, 200);
    const register = await call(`${api}/model-versions/create`, bob, 'POST', { name: 'bobs', source: `models:/${theirs}`, model_id: theirs });
    assert.equal(register.status, 403);
    assert.deepEqual((await call(`${api}/registered-models/get?name=bobs`, bob)).body.registered_model.latest_versions ?? [], []);
  });

  test('registered models: a group grant reaches the group’s tokens', async () => {
    assert.equal((await call(`${api}/registered-models/create`, admin, 'POST', { name: 'churn' })).status, 200);
    const grant = await call(`${server.url}/api/v1/security/grants`, admin, 'PUT', { subject_kind: 'group', subject: 'ml-team', resource_kind: 'registered_model', resource: 'churn', permission: 'EDIT' });
    assert.equal(grant.status, 200);
    const setTag = () => call(`${api}/registered-models/set-tag`, alice, 'POST', { name: 'churn', key: 'team', value: 'ml' });
    assert.equal((await setTag()).status, 403);
    assert.equal((await call(`${server.url}/api/v1/security/tokens/alice/groups`, admin, 'POST', { group: 'ml-team' })).status, 204);
    assert.equal((await setTag()).status, 200);
    const bad = await call(`${server.url}/api/v1/security/grants`, admin, 'PUT', { subject_kind: 'group', subject: 'x', resource_kind: 'model', resource: 'churn', permission: 'EDIT' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /resource_kind: must be one of experiment, registered_model, dataset, deployment, pipeline/);
  });

  test('searches and lists leave out what a grant of NO_PERMISSIONS closes', async () => {
    const hidden = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'hidden-exp' })).body.experiment_id as string;
    const shown = (await call(`${api}/experiments/create`, admin, 'POST', { name: 'shown-exp' })).body.experiment_id as string;
    for (const experiment_id of [hidden, shown]) assert.equal((await call(`${api}/runs/create`, admin, 'POST', { experiment_id })).status, 200);
    for (const name of ['hidden-model', 'shown-model']) assert.equal((await call(`${api}/registered-models/create`, admin, 'POST', { name })).status, 200);
    for (const [resource_kind, resource] of [['experiment', hidden], ['registered_model', 'hidden-model']]) {
      assert.equal((await call(`${server.url}/api/v1/security/grants`, admin, 'PUT', { subject_kind: 'token', subject: 'bob', resource_kind, resource, permission: 'NO_PERMISSIONS' })).status, 200);
    }
    const experiments = async (token: string) => ((await call(`${api}/experiments/search?max_results=1000`, token)).body.experiments as { name: string }[]).map((e) => e.name);
    const models = async (token: string) => ((await call(`${api}/registered-models/search?max_results=1000`, token)).body.registered_models as { name: string }[]).map((m) => m.name);
    assert.ok((await experiments(admin)).includes('hidden-exp'));
    assert.deepEqual([(await experiments(bob)).includes('hidden-exp'), (await experiments(bob)).includes('shown-exp')], [false, true]);
    assert.deepEqual([(await models(bob)).includes('hidden-model'), (await models(bob)).includes('shown-model')], [false, true]);
    assert.ok((await models(alice)).includes('hidden-model'), 'the grant is bob’s alone');
    assert.equal((await call(`${api}/experiments/get-by-name?experiment_name=hidden-exp`, bob)).status, 403, 'nor by its name');
    assert.equal((await call(`${api}/experiments/get-by-name?experiment_name=shown-exp`, bob)).status, 200);
    const ours = ((await call(`${server.url}/api/v1/registry/models?maxResults=1000`, bob)).body.models as { name: string }[]).map((m) => m.name);
    assert.deepEqual([ours.includes('hidden-model'), ours.includes('shown-model')], [false, true]);
    const runs = (await call(`${api}/runs/search`, bob, 'POST', { experiment_ids: [hidden, shown] })).body.runs as { info: { experiment_id: string } }[];
    assert.deepEqual(runs.map((r) => r.info.experiment_id), [shown]);
  });

  test('every mutating and every refused call is in the audit log, with who, what, outcome and request id', async () => {
    await call(`${api}/experiments/create`, bob, 'POST', { name: 'audited' });
    await call(`${api}/experiments/create`, alice, 'POST', { name: 'refused' });
    await call(`${api}/experiments/create`, 'mp_wrong', 'POST', { name: 'wrong-token' });
    await call(`${api}/experiments/search?max_results=1`, bob);
    const { entries } = (await call(`${server.url}/api/v1/audit?limit=1000`, admin)).body as { entries: any[] };
    const create = entries.find((e) => e.actor === 'token:bob' && e.action === 'POST /api/2.0/mlflow/experiments/create');
    assert.equal(create.outcome, 'ok');
    assert.equal(create.status, 200);
    assert.equal(create.client, '127.0.0.1');
    assert.match(create.request_id, /^[0-9a-f-]{36}$/);
    assert.ok(entries.some((e) => e.actor === 'token:alice' && e.outcome === 'denied' && e.status === 403));
    assert.ok(entries.some((e) => e.actor === 'anonymous' && e.outcome === 'denied' && e.status === 401));
    assert.equal(entries.some((e) => e.action.includes('experiments/search')), false, 'reads are not audited');
    assert.equal(JSON.stringify(entries).includes('mp_wrong'), false, 'a presented token is never recorded');
    const onlyBob = (await call(`${server.url}/api/v1/audit?actor=token:bob`, admin)).body.entries as any[];
    assert.ok(onlyBob.length > 0 && onlyBob.every((e) => e.actor === 'token:bob'));
    assert.deepEqual((await call(`${server.url}/api/v1/audit/verify`, admin)).body, { ok: true, entries: entries.length });
  });

  test('audit verify names the first tampered, deleted or reordered entry', async () => {
    const audit = server.platform.services.security.audit;
    const db = server.platform.metadata.db;
    const before = await audit.list();
    assert.ok(before.length >= 6);
    const target = before[2];

    await sql`update sec_audit set actor = 'token:mallory' where seq = ${target.seq}`.execute(db);
    let verdict = await audit.verify();
    assert.deepEqual([verdict.ok, !verdict.ok && verdict.brokenAt], [false, target.seq]);
    assert.match(!verdict.ok ? verdict.reason : '', /was altered/);
    await sql`update sec_audit set actor = ${target.actor} where seq = ${target.seq}`.execute(db);
    assert.equal((await audit.verify()).ok, true);

    // Reordered: two entries swap their content but keep their places.
    const [a, b] = [before[3], before[4]];
    for (const [into, from] of [[a, b], [b, a]] as const) {
      await sql`update sec_audit set actor = ${from.actor}, action = ${from.action}, target = ${from.target}, outcome = ${from.outcome}, status = ${from.status}, request_id = ${from.request_id}, time_ms = ${from.time_ms}, prev_hash = ${from.prev_hash}, hash = ${from.hash} where seq = ${into.seq}`.execute(db);
    }
    verdict = await audit.verify();
    assert.deepEqual([verdict.ok, !verdict.ok && verdict.brokenAt], [false, a.seq]);
    for (const e of [a, b]) {
      await sql`update sec_audit set actor = ${e.actor}, action = ${e.action}, target = ${e.target}, outcome = ${e.outcome}, status = ${e.status}, request_id = ${e.request_id}, time_ms = ${e.time_ms}, prev_hash = ${e.prev_hash}, hash = ${e.hash} where seq = ${e.seq}`.execute(db);
    }
    assert.equal((await audit.verify()).ok, true);

    await sql`delete from sec_audit where seq = ${before[1].seq}`.execute(db);
    const cli = await runCli(['audit', 'verify', '--server', server.url, '--token', admin]);
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, new RegExp(`audit chain broken at entry ${before[2].seq}: entry ${before[1].seq} is missing`));
  });
});

test("deleting the audit log's newest entries, or rewriting its head record, is detected", async () => {
  const platform = await testPlatform();
  try {
    const { audit } = platform.services.security;
    const db = platform.metadata.db;
    assert.deepEqual(await audit.verify(), { ok: true, entries: 0 });
    for (let i = 0; i < 5; i++) await audit.append({ actor: 'token:alice', action: `POST /x/${i}`, target: 'x', outcome: 'ok', status: 200, client: '127.0.0.1', request_id: `r${i}` });
    assert.deepEqual(await audit.verify(), { ok: true, entries: 5 });

    const [head] = await sql<{ seq: number; hash: string; mac: string }>`select seq, hash, mac from sec_audit_head`.execute(db).then((r) => r.rows);
    await sql`delete from sec_audit where seq >= 4`.execute(db);
    assert.deepEqual(await audit.verify(), { ok: false, entries: 3, brokenAt: 4, reason: 'entries 4 to 5 are missing (the log was truncated)' });

    const third = (await audit.list()).at(-1)!;
    await sql`update sec_audit_head set seq = 3, hash = ${third.hash}`.execute(db);
    assert.deepEqual(await audit.verify(), { ok: false, entries: 3, brokenAt: 3, reason: 'the head record was altered (its MAC does not match)' });

    await sql`delete from sec_audit_head`.execute(db);
    assert.equal((await audit.verify()).ok, false, 'a missing head record');
    await sql`insert into sec_audit_head (id, seq, hash, mac) values (1, ${head.seq}, ${head.hash}, ${head.mac})`.execute(db);
    await audit.append({ actor: 'token:alice', action: 'POST /x/again', target: 'x', outcome: 'ok', status: 200, client: '127.0.0.1', request_id: 'r6' });
    assert.deepEqual(await audit.verify(), { ok: false, entries: 4, brokenAt: 6, reason: 'entry 4 is missing (the next is 6)' }, 'the next append does not paper over the cut');
  } finally {
    await platform.close();
  }
});
