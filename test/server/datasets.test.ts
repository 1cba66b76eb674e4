/** The datasets REST API on a real server, through raw HTTP and the SDK. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import type { RunningServer } from '../../src/server/serve.js';
import { ModelportClient } from '../../src/client/client.js';
import { DatasetsClient } from '../../src/client/datasets.js';
import { ModelportError } from '../../src/core/errors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/loans/', import.meta.url));
const LOANS = join(FIXTURES, 'loans.csv');
const SHIFTED = join(FIXTURES, 'loans_shifted.csv');
const CORRUPTED = join(FIXTURES, 'loans_corrupted.csv');

describe('datasets REST API', () => {
  let server: RunningServer;
  let streaming: DatasetsClient;
  let buffered: DatasetsClient;
  const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

  before(async () => {
    server = await testServer();
    const client = new ModelportClient(server.url);
    streaming = new DatasetsClient(client, { url: server.url });
    buffered = new DatasetsClient(client);
  });
  after(() => server.close());

  test('register by streamed upload; identical content answers 200 with the existing version', async () => {
    const r = await streaming.register('loans', LOANS, { description: 'H1' });
    assert.equal(r.created, true);
    assert.equal(r.version.version, 1);
    assert.equal(r.version.source, 'upload:loans.csv');
    assert.equal(r.version.rowCount, 20000);
    const res = await api('/api/v1/datasets/loans/versions?filename=loans.csv', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: readFileSync(LOANS),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { created: boolean }).created, false);
    const second = await buffered.register('loans', SHIFTED);
    assert.equal(second.version.version, 2);
  });

  test('read: list, dataset, version with and without profile, content', async () => {
    assert.deepEqual((await streaming.list()).map((d) => [d.name, d.latestVersion]), [['loans', 2]]);
    const d = await streaming.get('loans');
    assert.deepEqual(d.versions.map((v) => v.version), [2, 1]);
    assert.equal(d.schema.columns.length, 13);
    const v1 = await streaming.version('loans@1');
    assert.equal(v1.profile!.columns.find((c) => c.name === 'purpose')!.distinct, 5);
    assert.equal((await streaming.version('loans', { profile: false })).profile, undefined);
    const content = await api('/api/v1/datasets/loans/versions/1/content');
    assert.equal(content.status, 200);
    assert.ok(Buffer.from(await content.arrayBuffer()).equals(readFileSync(LOANS)));
  });

  test("errors use modelport's shape and name the problem", async () => {
    const cases: [string, RequestInit | undefined, number, string, RegExp][] = [
      ['/api/v1/datasets/nope', undefined, 404, 'NOT_FOUND', /dataset "nope" does not exist/],
      ['/api/v1/datasets/loans/versions/7', undefined, 404, 'NOT_FOUND', /dataset "loans" has no version 7/],
      ['/api/v1/datasets/loans/versions/x1', undefined, 400, 'INVALID_ARGUMENT', /params\.version/],
      ['/api/v1/datasets/loans/versions', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } }, 415, 'INVALID_ARGUMENT', /send the file as the raw body/],
      ['/api/v1/datasets/loans/versions', { method: 'POST', body: 'a,b\n1,2\n', headers: { 'content-type': 'application/octet-stream' } }, 400, 'INVALID_ARGUMENT', /give a format/],
      [
        '/api/v1/datasets/loans/versions?filename=ragged.csv',
        { method: 'POST', body: 'a,b,c\n1,2,3\n4,5\n', headers: { 'content-type': 'application/octet-stream' } },
        400,
        'INVALID_ARGUMENT',
        /^ragged\.csv: line 3: Expected Number of Columns: 3 Found: 2$/,
      ],
      ['/api/v1/datasets/loans/versions?filename=h.csv', { method: 'POST', body: 'a,b\n', headers: { 'content-type': 'text/csv' } }, 400, 'INVALID_ARGUMENT', /^h\.csv: no data rows \(only a header\)/],
      ['/api/v1/datasets/loans/versions?filename=e.csv', { method: 'POST', body: '', headers: { 'content-type': 'text/csv' } }, 400, 'INVALID_ARGUMENT', /body is empty/],
    ];
    for (const [path, init, status, code, message] of cases) {
      const res = await api(path, init);
      const body = (await res.json()) as { error: { code: string; message: string; request_id: string } };
      assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, code);
      assert.match(body.error.message, message);
      assert.ok(body.error.request_id);
    }
    assert.equal((await streaming.list()).length, 1, 'nothing registered by the failures');
  });

  test('validate an upload: the corrupted loans are rejected with their anomalies', async () => {
    const report = await streaming.validate('loans', CORRUPTED, { against: 1 });
    assert.equal(report.valid, false);
    assert.equal(report.comparedWith, 1);
    assert.deepEqual(report.anomalies.map((a) => `${a.kind}:${a.column}`).sort(), [
      'out_of_domain:home_ownership',
      'out_of_range:amount',
      'too_many_missing:income',
      'type_mismatch:credit_score',
    ]);
    const same = await buffered.validate('loans', LOANS, { against: 1 });
    assert.deepEqual(same, { valid: true, rowCount: 20000, anomalies: [], comparedWith: 1 });
  });

  test('validate columns sent as JSON (a batch of serving requests)', async () => {
    const columns = Object.fromEntries(
      (await streaming.schema('loans')).columns.map((c) => [c.name, c.type === 'string' ? ['RENT', 'OWN'] : [1, 2]]),
    );
    columns.loan_id = ['L1', 'L1'];
    columns.purpose = ['credit_card', 'yacht'];
    columns.event_timestamp = ['2025-07-01T00:00:00Z', '2025-07-02T00:00:00Z'];
    const report = await streaming.validateColumns('loans', columns, { against: 1 });
    const kinds = report.anomalies.map((a) => `${a.kind}:${a.column}`);
    assert.ok(kinds.includes('not_unique:loan_id'), kinds.join());
    assert.ok(kinds.includes('out_of_domain:purpose'), kinds.join());
    const res = await api('/api/v1/datasets/loans/validate/columns', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ columns: { a: [1, 2], b: [1] } }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /column "b" has 1 values, but "a" has 2/);
  });

  test('schema: read, replace (checked), re-infer', async () => {
    const schema = await streaming.schema('loans');
    const edited = { columns: schema.columns.map((c) => (c.name === 'credit_score' ? { ...c, min: 300, max: 850 } : c)) };
    assert.deepEqual(await streaming.setSchema('loans', edited), edited);
    await assert.rejects(
      streaming.setSchema('loans', { columns: [{ name: 'a', type: 'string', required: true, min: 1 }] }),
      (err: unknown) => err instanceof ModelportError && err.code === 'InvalidArgument' && /min\/max apply to int and float/.test(err.message),
    );
    await assert.rejects(
      streaming.setSchema('loans', { columns: [{ name: 'a', type: 'text', required: true }] } as never),
      (err: unknown) => err instanceof ModelportError && /body\.columns\.0\.type/.test(err.message),
    );
    assert.deepEqual(await streaming.inferSchema('loans', { version: 1, save: true }), schema);
  });

  test('diff, lineage links, registration from a server-side path', async () => {
    const d = await streaming.diff('loans@1', 'loans@2');
    assert.equal(d.sameContent, false);
    assert.equal(d.columns.find((c) => c.name === 'purpose')!.lInfinityValue, 'small_business');
    await streaming.linkRun('loans@1', 'run-1');
    const l = await streaming.linkModel('loans@1', { modelName: 'credit', modelVersion: '1', runId: 'run-1' });
    assert.deepEqual(l.runs.map((r) => r.runId), ['run-1']);
    assert.deepEqual(l.models.map((m) => m.modelName), ['credit']);
    assert.deepEqual((await streaming.lineage('loans@latest')).runs, []);

    const dir = tempDir('ds-rest');
    writeFileSync(join(dir, 'a.jsonl'), '{"x": 1, "y": "a"}\n{"x": 2, "y": "b"}\n');
    const res = await api('/api/v1/datasets/local/versions/from-path', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: dir }),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { version: { kind: string; format: string; rowCount: number } };
    assert.deepEqual([body.version.kind, body.version.format, body.version.rowCount], ['folder', 'jsonl', 2]);
  });

  test('the routes are in the OpenAPI document', async () => {
    const doc = (await (await api('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const p of ['/api/v1/datasets', '/api/v1/datasets/{name}/versions', '/api/v1/datasets/{name}/validate', '/api/v1/datasets/{name}/schema']) {
      assert.ok(doc.paths[p], p);
    }
  });
});
