/**
 * MLflow clients' requests replayed byte for byte (test/fixtures/mlflow/*.json): MLflow's field
 * rules and wording, artifact path normalisation, non-ASCII artifact names, and the long values
 * MLflow 2.17's server truncates instead of refusing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RunningServer } from '../../../src/server/serve.js';
import { testServer } from '../../helpers/platform.js';
import { mlflowCaller } from './contract.js';

interface ReplayCase {
  test: string;
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  body?: string | null;
  status: number;
  error_code: string | null;
  contains: string[];
  exact?: unknown;
}

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/mlflow/${name}`, import.meta.url), 'utf8'));

describe('MLflow clients replayed', () => {
  let server: RunningServer;
  let api: ReturnType<typeof mlflowCaller>;
  let runId: string;
  let artifactRoot: string;
  before(async () => {
    server = await testServer();
    api = mlflowCaller(server.url);
    const experiment_id = (await api.ok('POST', '/experiments/create', { name: 'replay' })).experiment_id;
    const run = (await api.ok('POST', '/runs/create', { experiment_id, start_time: 1 })).run;
    runId = run.info.run_id;
    artifactRoot = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  });
  after(() => server.close());

  const fill = (text: string) => text.replaceAll('$RUN_ID', runId);

  async function replay(c: ReplayCase): Promise<{ status: number; text: string; headers: Headers }> {
    const query = c.query ? `?${new URLSearchParams(Object.entries(c.query).map(([k, v]): [string, string] => [k, fill(v)]))}` : '';
    // requests sends `json=` bodies as application/json and `data=` strings without a content type.
    const headers: Record<string, string> = c.query ? {} : { 'content-type': 'application/json' };
    const res = await fetch(`${server.url}${c.path}${query}`, { method: c.method, headers, body: c.body == null ? undefined : fill(c.body) });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  test("MLflow's own validation tests: status, error code and wording", async () => {
    for (const c of fixture('rest-validation.json').cases as ReplayCase[]) {
      const what = `${c.test}: ${c.path} ${c.body ?? JSON.stringify(c.query)}`;
      const { status, text } = await replay(c);
      assert.equal(status, c.status, `${what} → ${text}`);
      if (c.error_code) assert.equal(JSON.parse(text).error_code, c.error_code, what);
      for (const part of c.contains) assert.ok(text.includes(part), `${what}: ${JSON.stringify(part)} not in ${text}`);
      if (c.exact) assert.deepEqual(JSON.parse(text), c.exact, what);
    }
    const uploaded = await fetch(`${server.url}/get-artifact?run_uuid=${runId}&path=test.txt`);
    assert.equal(await uploaded.text(), 'hello world', 'the accepted upload is downloadable');
  });

  test('params over 6,000 and tags over 8,000 characters are cut to the limit, as MLflow 2.17 does', async () => {
    await api.ok('POST', '/runs/log-parameter', { run_id: runId, key: 'long_param', value: 'p'.repeat(7000) });
    await api.ok('POST', '/runs/set-tag', { run_id: runId, key: 'long_tag', value: 't'.repeat(9000) });
    await api.ok('POST', '/runs/log-batch', { run_id: runId, params: [{ key: 'long_batch', value: 'b'.repeat(6500) }] });
    // Logging the same long value again is the same param, not a conflicting one.
    await api.ok('POST', '/runs/log-parameter', { run_id: runId, key: 'long_param', value: 'p'.repeat(7000) });
    const { data } = (await api.ok('GET', '/runs/get', { run_id: runId })).run;
    const value = (list: { key: string; value: string }[], key: string) => list.find((x) => x.key === key)?.value;
    assert.equal(value(data.params, 'long_param'), 'p'.repeat(6000));
    assert.equal(value(data.params, 'long_batch'), 'b'.repeat(6000));
    assert.equal(value(data.tags, 'long_tag'), 't'.repeat(8000));
  });

  test('artifact paths: ".", "./d" and "d/." are normalised, ".." and absolute paths refused', async () => {
    const put = (path: string, body: string) =>
      fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/${path}`, { method: 'PUT', body });
    assert.equal((await put('model/MLmodel', 'flavors: {}')).status, 200);
    assert.equal((await put('top.txt', 'top')).status, 200);
    const list = async (path: string) => api.get('/artifacts/list', { run_id: runId, path });
    const root = await list('.');
    assert.equal(root.status, 200, JSON.stringify(root.body));
    assert.deepEqual(
      root.body.files.map((f: { path: string }) => f.path),
      ['model', 'test.txt', 'top.txt'],
    );
    for (const path of ['./model', 'model/.', 'model/./', './model/.']) {
      const r = await list(path);
      assert.equal(r.status, 200, path);
      assert.deepEqual(r.body.files, [{ path: 'model/MLmodel', is_dir: false, file_size: 11 }], path);
    }
    const proxied = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${artifactRoot}/./model/.`)}`);
    assert.deepEqual(((await proxied.json()) as { files: unknown }).files, [{ path: 'MLmodel', is_dir: false, file_size: 11 }]);
    const viaDot = await fetch(`${server.url}/get-artifact?run_id=${runId}&path=${encodeURIComponent('./model/MLmodel')}`);
    assert.equal(await viaDot.text(), 'flavors: {}');
    for (const bad of ['..', '../x', 'model/../..', '/etc/passwd', 'a#b']) {
      const r = await list(bad);
      assert.equal(r.status, 400, bad);
      assert.deepEqual(r.body, { error_code: 'INVALID_PARAMETER_VALUE', message: `Invalid path: ${bad}` });
    }
  });

  test('a non-ASCII artifact name downloads with an RFC 6266 filename*', async () => {
    const name = 'résumé ✓.txt';
    const url = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/${encodeURIComponent(name)}`;
    assert.equal((await fetch(url, { method: 'PUT', body: 'cv' })).status, 200);
    for (const res of [await fetch(url), await fetch(`${server.url}/get-artifact?run_id=${runId}&path=${encodeURIComponent(name)}`)]) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="r_sum_ _.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt`);
      assert.equal(await res.text(), 'cv');
    }
    const plain = await fetch(`${server.url}/get-artifact?run_id=${runId}&path=top.txt`);
    assert.equal(plain.headers.get('content-disposition'), 'attachment; filename="top.txt"');
  });

  test('registry: sources without files yet or on other stores are recorded and settle when read; ".." sources refused', async () => {
    await api.ok('POST', '/registered-models/create', { name: 'replayed' });
    for (const c of fixture('registry-sources.json').cases as ReplayCase[]) {
      const { status, text } = await replay(c);
      assert.equal(status, c.status, `${c.test}: ${text}`);
      if (c.error_code) assert.equal(JSON.parse(text).error_code, c.error_code, c.test);
      for (const part of c.contains) assert.ok(text.includes(part), `${c.test}: ${JSON.stringify(part)} not in ${text}`);
    }
    const get = async (version: string) => (await api.ok('GET', '/model-versions/get', { name: 'replayed', version })).model_version;
    assert.equal((await get('1')).status, 'PENDING_REGISTRATION', 'still nothing uploaded');
    const put = (path: string, body: string) => fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${artifactRoot}/later/${path}`, { method: 'PUT', body });
    await put('MLmodel', 'flavors:\n  sklearn: {pickled_model: model.pkl}\n  python_function: {loader_module: mlflow.sklearn}\n');
    await put('model.pkl', 'pickle bytes');
    const settled = await get('1');
    assert.equal(settled.status, 'READY', JSON.stringify(settled));
    assert.equal(settled.status_message, undefined);
    assert.equal(settled.source, `runs:/${runId}/later`);
    const s3 = await get('3');
    assert.equal(s3.status, 'PENDING_REGISTRATION');
    assert.match(s3.status_message, /cannot read artifacts at 's3:\/\/bucket\/models\/fraud' yet/);
    assert.equal((await get('2')).run_id, '0123456789abcdef0123456789abcdef');

    // MlflowClient.copy_model_version registers models:/NAME/VERSION; downloads go to the original files.
    await api.ok('POST', '/registered-models/create', { name: 'replayed-copy' });
    const copy = (await api.ok('POST', '/model-versions/create', { name: 'replayed-copy', source: 'models:/replayed/1', run_id: runId })).model_version;
    assert.equal(copy.source, 'models:/replayed/1');
    assert.equal(copy.status, 'READY');
    const uri = await api.ok('GET', '/model-versions/get-download-uri', { name: 'replayed-copy', version: copy.version });
    assert.equal(uri.artifact_uri, `runs:/${runId}/later`);
  });
});
