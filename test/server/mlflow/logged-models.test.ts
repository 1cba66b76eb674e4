/**
 * MLflow 3 logged models, replayed from test/fixtures/mlflow/logged-models.json: log_model's
 * create → upload → log outputs → finalize, registration from `models:/<model_id>`, loading the
 * registered version, and the MlflowClient logged-model calls. Then
 * test/fixtures/mlflow/logged-model-metrics.json: metrics logged with model_id and dataset, the
 * models' metrics on get, search ordered and filtered by them, and the versions registered with
 * a model_id listed in the model's `mlflow.modelVersions` tag. Both fixtures are transcribed
 * from MLflow 3's source (their `source` field says from which files), not recorded.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RunningServer } from '../../../src/server/serve.js';
import { testServer } from '../../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../../helpers/services.js';
import { mlflowCaller } from './contract.js';

interface Step {
  test: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body: string | null;
  status: number;
  error_code: string | null;
  contains: string[];
  /** The variable a created model's id goes to. */
  save?: string;
  /** The model ids a search answers, in order. */
  order?: string[];
}

const load = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/mlflow/${name}`, import.meta.url), 'utf8')) as { steps: Step[] };
const fixture = load('logged-models.json');
const metricsFixture = load('logged-model-metrics.json');
const ONNX = new URL('../../fixtures/models/mlflow_onnx/', import.meta.url);

for (const engine of ['sqlite', 'postgres'] as const) describe(`MLflow 3 logged models replayed on ${engine}`, async () => {
  const skip = engine === 'postgres' ? await postgresSkip() : false;
  const pg = engine === 'postgres' && !skip ? freshPostgresUri() : undefined;
  let server: RunningServer;
  const vars: Record<string, string> = {};
  before(async () => {
    if (skip) return;
    server = await testServer(pg ? { store: pg.uri } : {});
    const api = mlflowCaller(server.url);
    vars.EXP_ID = (await api.ok('POST', '/experiments/create', { name: 'logged-models' })).experiment_id;
    vars.RUN_ID = (await api.ok('POST', '/runs/create', { experiment_id: vars.EXP_ID, start_time: 1 })).run.info.run_id;
  });
  after(async () => {
    if (skip) return;
    await server.close();
    if (pg) await dropSchema(pg.schema);
  });

  const fill = (text: string) => text.replace(/\$(EXP_ID|RUN_ID|MODEL_ID|MODEL_A|MODEL_B)/g, (_m, k: string) => vars[k]);

  async function replay(step: Step): Promise<string> {
    const query = step.query ? `?${new URLSearchParams(Object.entries(step.query).map(([k, v]): [string, string] => [k, fill(v)]))}` : '';
    // requests sends json= bodies as application/json, and no body (nor content type) for json=None.
    const headers: Record<string, string> = step.body === null ? {} : { 'content-type': 'application/json' };
    const res = await fetch(`${server.url}${fill(step.path)}${query}`, { method: step.method, headers, body: step.body === null ? undefined : fill(step.body) });
    const text = await res.text();
    assert.equal(res.status, step.status, `${step.test}: ${text}`);
    if (step.error_code) assert.equal(JSON.parse(text).error_code, step.error_code, step.test);
    for (const part of step.contains) assert.ok(text.includes(fill(part)), `${step.test}: ${JSON.stringify(fill(part))} not in ${text}`);
    if (step.save) vars[step.save] = JSON.parse(text).model.info.model_id;
    if (step.order) assert.deepEqual((JSON.parse(text).models ?? []).map((m: { info: { model_id: string } }) => m.info.model_id), step.order.map(fill), step.test);
    return text;
  }

  test('log_model, register_model, load and the client calls, as MLflow 3 sends them', { skip }, async () => {
    const [create, ...rest] = fixture.steps;
    const created = JSON.parse(await replay(create)).model.info;
    assert.match(created.model_id, /^m-[0-9a-f]{32}$/);
    vars.MODEL_ID = created.model_id;
    assert.equal(created.artifact_uri, `mlflow-artifacts:/${vars.EXP_ID}/models/${vars.MODEL_ID}/artifacts`);
    // log_model_artifacts: the client PUTs each file to the proxy under the model's artifact_uri.
    for (const file of ['MLmodel', 'model.onnx']) {
      const url = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${vars.EXP_ID}/models/${vars.MODEL_ID}/artifacts/${file}`;
      assert.equal((await fetch(url, { method: 'PUT', body: readFileSync(new URL(file, ONNX)) })).status, 200);
    }
    for (const step of rest) await replay(step);
  });

  test("logged-model metrics and registrations, as MLflow 3's client sends and reads them", { skip }, async () => {
    for (const step of metricsFixture.steps) await replay(step);
  });

  test('the registered version serves: its files came from the logged model', { skip }, async () => {
    const res = await fetch(`${server.url}/api/v1/registry/models/lm-replay/versions/1`);
    const version = (await res.json()) as { flavor?: string; status?: string };
    assert.equal(version.flavor, 'onnx', JSON.stringify(version));
  });

  test('a registration naming a missing or deleted model creates nothing; a hand-set tag does not fail it', { skip }, async () => {
    const send = async (method: Step['method'], path: string, body: unknown) => {
      const res = await fetch(`${server.url}/api/2.0/mlflow${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const api = mlflowCaller(server.url);
    await api.ok('POST', '/registered-models/create', { name: 'lm-guard' });
    const gone = (await api.ok('POST', '/logged-models', { experiment_id: vars.EXP_ID, name: 'gone' })).model.info.model_id as string;
    assert.equal((await send('DELETE', `/logged-models/${gone}`, {})).status, 200);
    for (const model_id of ['m-00000000000000000000000000000000', gone]) {
      const refused = await send('POST', '/model-versions/create', { name: 'lm-guard', source: `models:/${vars.MODEL_A}`, model_id });
      assert.deepEqual([refused.status, refused.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST'], model_id);
    }
    assert.deepEqual((await api.ok('GET', '/registered-models/get', { name: 'lm-guard' })).registered_model.latest_versions ?? [], [], 'no version was created');
    assert.equal((await send('PATCH', `/logged-models/${vars.MODEL_A}/tags`, { tags: [{ key: 'mlflow.modelVersions', value: 'set by hand' }] })).status, 200);
    const created = await api.ok('POST', '/model-versions/create', { name: 'lm-guard', source: `models:/${vars.MODEL_A}`, model_id: vars.MODEL_A });
    assert.equal(created.model_version.version, '1');
    const tags = (await api.ok('GET', `/logged-models/${vars.MODEL_A}`)).model.info.tags as { key: string; value: string }[];
    assert.equal(tags.find((t) => t.key === 'mlflow.modelVersions')?.value, '[{"name": "lm-guard", "version": 1}]');
  });

});
