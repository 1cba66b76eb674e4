import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer } from '../helpers/platform.js';
import { runCli } from '../helpers/cli.js';
import { Batch } from '../../src/models/index.js';
import { piiKey } from '../../src/security/index.js';
import { piiHash } from '../../src/serving/pii.js';
import type { RunningServer } from '../../src/server/serve.js';

const text = (values: string[]) => ({ dtype: 'string' as const, shape: [], data: values });

describe('privacy: data-subject export and erasure, retention per deployment', () => {
  let server: RunningServer;
  let admin: string;
  let editor: string;
  const cli = (...args: string[]) => runCli([...args, '--server', server.url, '--token', admin]);

  before(async () => {
    server = await testServer();
    const tokens = server.platform.services.security.tokens;
    admin = (await tokens.create({ name: 'root', role: 'admin', createdBy: 'test' })).token;
    editor = (await tokens.create({ name: 'ed', role: 'editor', createdBy: 'test' })).token;
    await server.platform.services.security.tokensChanged();
    const { monitoring } = server.platform.services;
    const now = Date.now();
    const log = (requestId: string, key: string | undefined, inputs: Record<string, string[]>) =>
      monitoring.log.record({ requestId, deployment: 'shop', model: 'm', version: 1, variant: 'primary', ...(key ? { key } : {}), inputs: Batch.from(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, text(v)]))), outputs: Batch.from({ y: text(['ok']) }), latencyMs: 1, timeMs: now });
    // As serving logs them: routed by the user id, or with a `pii: hash` column hashed under the installation's key.
    log('r-alice-1', 'alice@example.com', { item: ['book'] });
    log('r-alice-2', undefined, { email: [piiHash(piiKey(server.platform.config), 'alice@example.com')], item: ['pen'] });
    log('r-bob', 'bob@example.com', { item: ['lamp'] });
    await monitoring.submitFeedback([{ request_id: 'r-alice-1', label: 'bought' }, { request_id: 'r-bob', label: 'left' }]);
  });
  after(() => server.close());

  test('export writes what is held about one person to an owner-only file; erase deletes it; both are audited and admin-only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-privacy-'));
    const out = join(dir, 'alice.json');
    const exported = await cli('privacy', 'export', '--subject-key', 'alice@example.com', '--out', out);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /2 logged rows and 1 feedback rows written/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const found = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(found.predictions.map((p: { requestId: string }) => p.requestId).sort(), ['r-alice-1', 'r-alice-2']);
    assert.deepEqual(found.feedback.map((f: { requestId: string; label: string }) => [f.requestId, f.label]), [['r-alice-1', 'bought']]);

    const refused = await fetch(`${server.url}/api/v1/privacy/erase`, { method: 'POST', headers: { authorization: `Bearer ${editor}`, 'content-type': 'application/json' }, body: JSON.stringify({ subjectKey: 'alice@example.com' }) });
    assert.equal(refused.status, 403);
    const erased = await cli('privacy', 'erase', '--subject-key', 'alice@example.com');
    assert.equal(erased.code, 0, erased.stderr);
    assert.match(erased.stdout, /erased 2 logged requests \(2 rows\) and 1 feedback rows/);
    const again = JSON.parse((await cli('privacy', 'export', '--subject-key', 'alice@example.com')).stdout);
    assert.deepEqual([again.predictions, again.feedback], [[], []]);
    assert.equal((await cli('privacy', 'export', '--subject-key', 'bob@example.com')).stdout.includes('r-bob'), true, "bob's data stays");

    const audit = (await (await fetch(`${server.url}/api/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { entries: { action: string; actor: string; outcome: string }[] };
    const privacy = audit.entries.filter((e) => e.action.includes('/api/v1/privacy/'));
    assert.deepEqual(
      privacy.map((e) => [e.action.replace(/^POST /, ''), e.actor, e.outcome]),
      [
        ['/api/v1/privacy/export', 'token:root', 'ok'],
        ['/api/v1/privacy/erase', 'token:ed', 'denied'],
        ['/api/v1/privacy/erase', 'token:root', 'ok'],
        ['/api/v1/privacy/export', 'token:root', 'ok'],
        ['/api/v1/privacy/export', 'token:root', 'ok'],
      ],
    );
    assert.equal(JSON.stringify(audit.entries).includes('alice@example.com'), false, 'the subject key itself is not copied into the audit log');
  });

  test('retention is set per deployment and shown; bad input is a one-line error', async () => {
    assert.equal((await cli('privacy', 'retention', '--deployment', 'shop', '--days', '3')).code, 0);
    assert.equal((await cli('privacy', 'retention', '--deployment', 'archive', '--days', '0')).code, 0);
    const shown = await cli('privacy', 'retention');
    assert.match(shown.stdout, /\(default\)\s+30 days/);
    assert.match(shown.stdout, /shop\s+3 days/);
    assert.match(shown.stdout, /archive\s+forever/);
    assert.equal((await cli('privacy', 'retention', '--deployment', 'shop', '--days', 'default')).code, 0);
    assert.doesNotMatch((await cli('privacy', 'retention')).stdout, /shop/);
    const bad = await cli('privacy', 'retention', '--deployment', 'shop', '--days', '-2');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--days: "-2" is not a number of days/);
  });
});
