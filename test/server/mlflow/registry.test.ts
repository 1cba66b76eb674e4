/**
 * MLflow model-registry REST contract: every endpoint under both prefixes, on SQLite and on
 * PostgreSQL, with MLflow's shapes, statuses and error codes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/server/app.js';
import type { Platform } from '../../../src/platform.js';
import { testPlatform } from '../../helpers/platform.js';
import { dropSchema, freshPostgresUri, postgresSkip } from '../../helpers/services.js';
import { FIXTURES } from '../../registry/helpers.js';

type Json = Record<string, any>;

function contract(engine: 'sqlite' | 'postgres', prefix: string, skip: () => Promise<string | false>) {
  describe(`MLflow registry REST on ${engine} under ${prefix}`, async () => {
    const reason = await skip();
    let platform: Platform;
    let app: FastifyInstance;
    let schema: string | undefined;
    const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: Json) => {
      const res = await app.inject({
        method,
        url: `${prefix}${path}`,
        ...(method === 'GET' ? { query: payload as Record<string, string> } : { payload: payload ?? {} }),
      });
      return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Json) : {} };
    };
    const ok = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: Json) => {
      const res = await call(method, path, payload);
      assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    before(async () => {
      if (reason) return;
      const pg = engine === 'postgres' ? freshPostgresUri() : undefined;
      schema = pg?.schema;
      platform = await testPlatform(pg ? { store: pg.uri } : {});
      app = await buildApp(platform, { logger: false });
    });
    after(async () => {
      if (reason) return;
      await app.close();
      await platform.close();
      if (schema) await dropSchema(schema);
    });

    test('registered models: create, get, search, rename, update, tags, delete', { skip: reason }, async () => {
      const created = await ok('POST', '/registered-models/create', { name: 'fraud', description: 'd', tags: [{ key: 'team', value: 'risk' }] });
      assert.equal(created.registered_model.name, 'fraud');
      assert.equal(typeof created.registered_model.creation_timestamp, 'number');
      assert.deepEqual(created.registered_model.tags, [{ key: 'team', value: 'risk' }]);
      const dup = await call('POST', '/registered-models/create', { name: 'fraud' });
      assert.equal(dup.status, 400);
      assert.equal(dup.body.error_code, 'RESOURCE_ALREADY_EXISTS');
      const missing = await call('GET', '/registered-models/get', { name: 'nope' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      const noName = await call('POST', '/registered-models/create', {});
      assert.equal(noName.status, 400);
      assert.equal(noName.body.error_code, 'INVALID_PARAMETER_VALUE');

      await ok('POST', '/registered-models/create', { name: 'churn' });
      await ok('POST', '/registered-models/set-tag', { name: 'churn', key: 'team', value: 'growth' });
      assert.deepEqual((await ok('GET', '/registered-models/get', { name: 'churn' })).registered_model.tags, [{ key: 'team', value: 'growth' }]);
      const search = await ok('GET', '/registered-models/search', { filter: "tags.team = 'growth'" });
      assert.deepEqual(search.registered_models.map((m: Json) => m.name), ['churn']);
      const page = await ok('GET', '/registered-models/search', { max_results: '1', order_by: 'name DESC' });
      assert.deepEqual(page.registered_models.map((m: Json) => m.name), ['fraud']);
      const page2 = await ok('GET', '/registered-models/search', { max_results: '1', order_by: 'name DESC', page_token: page.next_page_token });
      assert.deepEqual(page2.registered_models.map((m: Json) => m.name), ['churn']);
      const bad = await call('GET', '/registered-models/search', { filter: "name = 'a' OR name = 'b'" });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
      await ok('DELETE', '/registered-models/delete-tag', { name: 'churn', key: 'team' });
      const updated = await ok('PATCH', '/registered-models/update', { name: 'churn', description: 'churn model' });
      assert.equal(updated.registered_model.description, 'churn model');
      const renamed = await ok('POST', '/registered-models/rename', { name: 'churn', new_name: 'churn2' });
      assert.equal(renamed.registered_model.name, 'churn2');
      assert.deepEqual(await ok('DELETE', '/registered-models/delete', { name: 'churn2' }), {});
      assert.equal((await call('GET', '/registered-models/get', { name: 'churn2' })).status, 404);
    });

    test('model versions from a run logged through tracking: create, get, search, update, stages, aliases, tags, download, delete', { skip: reason }, async () => {
      const tracking = platform.services.tracking;
      const run = await tracking.createRun({ experiment_id: '0', tags: [{ key: 'mlflow.source.git.commit', value: 'a1b2c3d4e5f6' }] });
      const root = `0/${run.info.run_id}/artifacts`;
      for (const f of ['MLmodel', 'model.onnx']) await tracking.artifacts.put(`${root}/model/${f}`, await readFile(join(FIXTURES, 'mlflow_onnx', f)));
      const mv = await ok('POST', '/model-versions/create', { name: 'fraud', source: `runs:/${run.info.run_id}/model`, run_id: run.info.run_id, tags: [{ key: 'k', value: 'v' }] });
      assert.equal(mv.model_version.version, '1');
      assert.equal(mv.model_version.status, 'READY');
      assert.equal(mv.model_version.current_stage, 'None');
      assert.equal(mv.model_version.run_id, run.info.run_id);
      assert.deepEqual(mv.model_version.tags, [{ key: 'k', value: 'v' }]);
      const viaProxy = await ok('POST', '/model-versions/create', { name: 'fraud', source: `mlflow-artifacts:/${root}/model` });
      assert.equal(viaProxy.model_version.version, '2');
      assert.equal(viaProxy.model_version.status, 'READY');
      const notYet = await ok('POST', '/model-versions/create', { name: 'fraud', source: `runs:/${run.info.run_id}/model/model.onnx/none` });
      assert.equal(notYet.model_version.status, 'PENDING_REGISTRATION', 'a folder without files yet is recorded, as MLflow records it');
      await ok('DELETE', '/model-versions/delete', { name: 'fraud', version: notYet.model_version.version });
      const noSource = await call('POST', '/model-versions/create', { name: 'fraud' });
      assert.equal(noSource.body.error_code, 'INVALID_PARAMETER_VALUE');
      const unknownModel = await call('POST', '/model-versions/create', { name: 'ghost', source: `runs:/${run.info.run_id}/model` });
      assert.equal(unknownModel.status, 404);
      assert.equal(unknownModel.body.error_code, 'RESOURCE_DOES_NOT_EXIST');

      const got = await ok('GET', '/model-versions/get', { name: 'fraud', version: '1' });
      assert.equal(got.model_version.source, `runs:/${run.info.run_id}/model`);
      const miss = await call('GET', '/model-versions/get', { name: 'fraud', version: '7' });
      assert.equal(miss.status, 404);
      assert.equal(miss.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      const byRun = await ok('GET', '/model-versions/search', { filter: `run_id = '${run.info.run_id}'` });
      assert.deepEqual(byRun.model_versions.map((v: Json) => v.version), ['1']);
      const all = await ok('GET', '/model-versions/search', { filter: "name = 'fraud'", order_by: 'version_number ASC' });
      assert.deepEqual(all.model_versions.map((v: Json) => v.version), ['1', '2']);
      const badSearch = await call('GET', '/model-versions/search', { filter: 'tags.k = 1' });
      assert.equal(badSearch.body.error_code, 'INVALID_PARAMETER_VALUE');

      const upd = await ok('PATCH', '/model-versions/update', { name: 'fraud', version: '1', description: 'first' });
      assert.equal(upd.model_version.description, 'first');
      await ok('POST', '/model-versions/set-tag', { name: 'fraud', version: '1', key: 'validated', value: 'true' });
      await ok('DELETE', '/model-versions/delete-tag', { name: 'fraud', version: '1', key: 'k' });
      assert.deepEqual((await ok('GET', '/model-versions/get', { name: 'fraud', version: '1' })).model_version.tags, [{ key: 'validated', value: 'true' }]);

      const staged = await ok('POST', '/model-versions/transition-stage', { name: 'fraud', version: '1', stage: 'Production', archive_existing_versions: false });
      assert.equal(staged.model_version.current_stage, 'Production');
      await ok('POST', '/model-versions/transition-stage', { name: 'fraud', version: '2', stage: 'production', archive_existing_versions: true });
      assert.equal((await ok('GET', '/model-versions/get', { name: 'fraud', version: '1' })).model_version.current_stage, 'Archived');
      const badStage = await call('POST', '/model-versions/transition-stage', { name: 'fraud', version: '1', stage: 'Prod', archive_existing_versions: false });
      assert.equal(badStage.body.error_code, 'INVALID_PARAMETER_VALUE');
      const latest = await ok('POST', '/registered-models/get-latest-versions', { name: 'fraud', stages: ['Production'] });
      assert.deepEqual(latest.model_versions.map((v: Json) => v.version), ['2']);
      const latestGet = await ok('GET', '/registered-models/get-latest-versions', { name: 'fraud' });
      assert.deepEqual(latestGet.model_versions.map((v: Json) => [v.version, v.current_stage]), [['1', 'Archived'], ['2', 'Production']]);

      await ok('POST', '/registered-models/alias', { name: 'fraud', alias: 'champion', version: '1' });
      await ok('POST', '/registered-models/alias', { name: 'fraud', alias: 'champion', version: '2' });
      const byAlias = await ok('GET', '/registered-models/alias', { name: 'fraud', alias: 'champion' });
      assert.equal(byAlias.model_version.version, '2');
      assert.deepEqual(byAlias.model_version.aliases, ['champion']);
      assert.deepEqual((await ok('GET', '/registered-models/get', { name: 'fraud' })).registered_model.aliases, [{ alias: 'champion', version: '2' }]);
      const reserved = await call('POST', '/registered-models/alias', { name: 'fraud', alias: 'latest', version: '1' });
      assert.equal(reserved.body.error_code, 'INVALID_PARAMETER_VALUE');
      await ok('DELETE', '/registered-models/alias', { name: 'fraud', alias: 'champion' });
      const gone = await call('GET', '/registered-models/alias', { name: 'fraud', alias: 'champion' });
      assert.equal(gone.status, 400, 'MLflow answers a deleted alias with INVALID_PARAMETER_VALUE');
      assert.equal(gone.body.error_code, 'INVALID_PARAMETER_VALUE');

      const uri = await ok('GET', '/model-versions/get-download-uri', { name: 'fraud', version: '1' });
      assert.equal(uri.artifact_uri, `runs:/${run.info.run_id}/model`);

      const release = platform.services.registry.addDeletionGuard(({ version }) => (version === 2 ? 'deployment "fraud-live" serves it' : undefined));
      const vetoed = await call('DELETE', '/model-versions/delete', { name: 'fraud', version: '2' });
      assert.equal(vetoed.status, 400);
      assert.equal(vetoed.body.error_code, 'FAILED_PRECONDITION');
      assert.match(vetoed.body.message, /fraud-live/);
      release();
      assert.deepEqual(await ok('DELETE', '/model-versions/delete', { name: 'fraud', version: '2' }), {});
      assert.equal((await call('GET', '/model-versions/get', { name: 'fraud', version: '2' })).status, 404);
    });
  });
}

for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
  contract('sqlite', prefix, async () => false);
  contract('postgres', prefix, postgresSkip);
}
