/** The registry service's contract, run on SQLite and on PostgreSQL. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postgresSkip } from '../helpers/services.js';
import { FIXTURES, openRegistry, uploadFolder, type RegistryHarness } from './helpers.js';
import type { RegistryEvent } from '../../src/registry/events.js';

const noSkip = async () => false as const;

function contract(engine: 'sqlite' | 'postgres', skip: () => Promise<string | false>) {
  describe(`registry service on ${engine}`, async () => {
    const reason = await skip();
    let h: RegistryHarness;
    const events: RegistryEvent[] = [];
    before(async () => {
      if (reason) return;
      h = await openRegistry(engine);
      h.registry.events.onAny((e) => events.push(e));
    });
    after(async () => {
      if (!reason) await h.close();
    });

    test('models: create, duplicate, get, tags, rename, update, search', { skip: reason }, async () => {
      const r = h.registry;
      const m = await r.createModel({ name: 'fraud', description: 'card fraud', tags: { team: 'risk' } }, { user: 'ana' });
      assert.equal(m.name, 'fraud');
      assert.deepEqual(m.tags, { team: 'risk' });
      assert.equal(m.createdAt, h.clock.now());
      await assert.rejects(r.createModel({ name: 'fraud' }), { code: 'AlreadyExists', message: 'Registered Model (name=fraud) already exists.' });
      await assert.rejects(r.getModel('nope'), { code: 'NotFound', message: 'Registered Model with name=nope not found' });
      await r.createModel({ name: 'churn', tags: { team: 'growth', tier: 'gold' } });
      await r.createModel({ name: 'Churn-EU', tags: { team: 'growth' } });
      h.clock.advance(1000);
      await r.setModelTag('fraud', 'tier', 'gold');
      await r.updateModel('fraud', { description: 'v2' });
      assert.equal((await r.getModel('fraud')).description, 'v2');
      assert.equal((await r.getModel('fraud')).updatedAt, h.clock.now());

      const names = async (filter?: string, orderBy?: string[]) => (await r.searchModels({ filter, orderBy })).models.map((x) => x.name);
      assert.deepEqual(await names(), ['Churn-EU', 'churn', 'fraud']);
      assert.deepEqual(await names("name = 'churn'"), ['churn']);
      assert.deepEqual(await names("name LIKE 'chu%'"), ['churn'], 'LIKE is case-sensitive');
      assert.deepEqual(await names("name ILIKE 'chu%'"), ['Churn-EU', 'churn']);
      assert.deepEqual(await names("name != 'churn'"), ['Churn-EU', 'fraud']);
      assert.deepEqual(await names("tags.team = 'growth'"), ['Churn-EU', 'churn']);
      assert.deepEqual(await names("tags.team = 'growth' AND tags.tier = 'gold'"), ['churn']);
      assert.deepEqual(await names('tags.`tier` LIKE "go%"'), ['churn', 'fraud']);
      assert.deepEqual(await names("name LIKE '%_%'"), ['Churn-EU', 'churn', 'fraud']);
      assert.deepEqual(await names("name LIKE 'Churn_EU'"), ['Churn-EU'], '_ matches one character');
      assert.deepEqual(await names(undefined, ['last_updated_timestamp DESC']), ['fraud', 'Churn-EU', 'churn']);
      assert.deepEqual(await names("name = 'x'' OR 1=1 --'"), [], 'quotes in values are data, never SQL');
      await assert.rejects(r.searchModels({ filter: "name = 'a' OR name = 'b'" }), /Invalid clause/);
      await assert.rejects(r.searchModels({ filter: "run_id = 'a'" }), /Invalid attribute key 'run_id'/);
      await assert.rejects(r.searchModels({ filter: 'tags.team = 5' }), /Expected a quoted string value for tag/);
      await assert.rejects(r.searchModels({ filter: "name IN ('a')" }), { code: 'InvalidArgument' });
      await assert.rejects(r.searchModels({ maxResults: 1001 }), /at most 1000/);

      const page1 = await r.searchModels({ maxResults: 2 });
      assert.deepEqual(page1.models.map((x) => x.name), ['Churn-EU', 'churn']);
      assert.ok(page1.nextPageToken);
      const page2 = await r.searchModels({ maxResults: 2, pageToken: page1.nextPageToken });
      assert.deepEqual(page2.models.map((x) => x.name), ['fraud']);
      assert.equal(page2.nextPageToken, undefined);

      const renamed = await r.renameModel('Churn-EU', 'churn-eu');
      assert.equal(renamed.name, 'churn-eu');
      await assert.rejects(r.renameModel('churn-eu', 'churn'), { code: 'AlreadyExists' });
      await r.deleteModelTag('fraud', 'tier');
      assert.deepEqual((await r.getModel('fraud')).tags, { team: 'risk' });
    });

    test('versions: register fixture models, numbers, flavors, sha256, search', { skip: reason }, async () => {
      const r = h.registry;
      const onnx = await r.createVersion({ name: 'fraud', files: await uploadFolder(r, join(FIXTURES, 'mlflow_onnx')), runId: 'run1', tags: { k: 'v' } }, { user: 'ana' });
      assert.equal(onnx.version, 1);
      assert.equal(onnx.status, 'READY');
      assert.equal(onnx.flavor, 'onnx');
      assert.equal(onnx.modelUuid, '2f4e1c1a8f3a4f0bb0b0c6b8a0d1e2f3');
      assert.match(onnx.sha256!, /^[0-9a-f]{64}$/);
      assert.match(onnx.source, /^modelport-registry:\//);
      assert.deepEqual(onnx.tags, { k: 'v' });
      assert.ok(onnx.signature, 'the MLmodel signature is kept');
      const xgb = await r.createVersion({ name: 'fraud', files: await uploadFolder(r, join(FIXTURES, 'xgb_breast_cancer'), ['model.json']), runId: 'run2' });
      assert.equal(xgb.version, 2);
      assert.equal(xgb.flavor, 'xgboost');
      const manifest = await r.manifest('fraud', 2);
      assert.deepEqual(manifest.files.map((f) => f.path), ['MLmodel', 'model.json'], 'an MLmodel file is written for a bare model file');
      const ubj = await r.createVersion({ name: 'fraud', files: await uploadFolder(r, join(FIXTURES, 'mlflow_xgboost')) });
      assert.equal(ubj.flavor, 'xgboost');
      const js = await r.createVersion({ name: 'churn', files: await uploadFolder(r, join(FIXTURES, 'js_model')), flavor: 'js' });
      assert.equal(js.flavor, 'js');
      const logreg = await r.createVersion({ name: 'scratch', createModel: true, files: await uploadFolder(r, join(FIXTURES, 'onnx_logreg_breast_cancer'), ['model.onnx']) });
      const parsed = (sig: unknown) => Object.fromEntries(['inputs', 'outputs'].map((k) => [k, JSON.parse((sig as Record<string, string>)[k])]));
      assert.deepEqual(parsed(logreg.signature), parsed(onnx.signature), 'a bare file gets the signature its runtime reads, as MLflow writes it');
      await r.deleteModel('scratch');
      const forest = await r.createVersion({ name: 'churn', files: await uploadFolder(r, join(FIXTURES, 'onnx_forest_breast_cancer'), ['model.onnx']) });
      assert.equal(forest.flavor, 'onnx');
      assert.equal(forest.version, 2);

      await r.deleteVersion('churn', 2);
      const again = await r.createVersion({ name: 'churn', source: 'models:/churn/1' });
      assert.equal(again.version, 3, 'version numbers are never reused');
      assert.deepEqual(again.parents, [{ name: 'churn', version: 1 }]);
      assert.equal(again.sha256, js.sha256, 'same content, same sha256');

      const vs = async (filter?: string) => (await r.searchVersions({ filter, orderBy: ['name ASC', 'version_number ASC'] })).versions.map((v) => `${v.name}/${v.version}`);
      assert.deepEqual(await vs(), ['churn/1', 'churn/3', 'fraud/1', 'fraud/2', 'fraud/3']);
      assert.deepEqual(await vs("name = 'fraud' AND version_number >= 2"), ['fraud/2', 'fraud/3']);
      assert.deepEqual(await vs("run_id IN ('run1', 'run2')"), ['fraud/1', 'fraud/2']);
      assert.deepEqual(await vs("run_id = 'run1'"), ['fraud/1']);
      assert.deepEqual(await vs("source_path LIKE 'models:/%'"), ['churn/3']);
      assert.deepEqual(await vs("tags.k = 'v'"), ['fraud/1']);
      await assert.rejects(r.searchVersions({ filter: "name IN ('fraud')" }), /Only the 'run_id' attribute/);
      const newest = await r.searchVersions({ maxResults: 1 });
      assert.equal(newest.versions[0].version, 3, 'default order: last updated first');
      assert.ok(newest.nextPageToken);

      await assert.rejects(r.getVersion('fraud', 9), { code: 'NotFound', message: 'Model Version (name=fraud, version=9) not found' });
      await assert.rejects(r.getVersion('fraud', 'x'), { code: 'InvalidArgument' });
    });

    test('bad artifacts are refused, saying what was expected', { skip: reason }, async () => {
      const r = h.registry;
      const csv = await uploadFolder(r, join(FIXTURES, 'xgb_breast_cancer'), ['input.csv']);
      await assert.rejects(r.createVersion({ name: 'fraud', files: [{ path: 'model.onnx', sha256: csv[0].sha256 }] }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'InvalidArgument');
        assert.match(err.message, /model\.onnx is not a valid onnx model: expected an ONNX model/);
        return true;
      });
      const noOpset = Buffer.from([0x08, 0x08, 0x3a, 0x02, 0x0a, 0x00]);
      await assert.rejects(
        r.createVersion({ name: 'fraud', files: [{ path: 'x.onnx', sha256: (await r.putBlob(noOpset)).sha256 }] }),
        /^InvalidArgument: x\.onnx is not a working onnx model: ONNX model x\.onnx could not be loaded: .*Missing opset/,
      );
      const onnx = await uploadFolder(r, join(FIXTURES, 'onnx_logreg_breast_cancer'), ['model.onnx']);
      await assert.rejects(r.createVersion({ name: 'fraud', files: onnx, flavor: 'xgboost' }), /model\.onnx is not a valid xgboost model: expected an XGBoost model \(JSON or UBJSON/);
      await assert.rejects(r.createVersion({ name: 'fraud', files: [{ path: 'model.json', sha256: csv[0].sha256 }], flavor: 'xgboost' }), /model\.json is not a valid xgboost model/);
      await assert.rejects(r.createVersion({ name: 'fraud', files: onnx, flavor: 'lightgbm' }), /flavor "lightgbm" is not one of onnx, xgboost, js/);
      await assert.rejects(r.createVersion({ name: 'fraud', files: [{ path: '../x.onnx', sha256: onnx[0].sha256 }] }), /relative path/);
      await assert.rejects(r.createVersion({ name: 'fraud', files: [{ path: 'm.onnx', sha256: 'a'.repeat(64) }] }), /was not uploaded/);
      await assert.rejects(r.createVersion({ name: 'nope', files: onnx }), { code: 'NotFound' });
      await assert.rejects(r.createVersion({ name: 'fraud', source: '/etc/passwd' }), /Local paths are not read/);
      const sklearn = await r.createVersion({
        name: 'fraud',
        files: [
          { path: 'MLmodel', sha256: (await r.putBlob('flavors:\n  sklearn: {pickled_model: model.pkl}\n  python_function: {loader_module: mlflow.sklearn}\n')).sha256 },
          { path: 'model.pkl', sha256: (await r.putBlob('pickle bytes')).sha256 },
        ],
      });
      assert.equal(sklearn.status, 'READY', 'MLflow models of other flavors are registered as MLflow does');
      assert.equal(sklearn.flavor, undefined);
      await assert.rejects(r.loadVersion('fraud', sklearn.version), /has no flavor modelport can serve/);
      await assert.rejects(
        r.createVersion({ name: 'fraud', files: [{ path: 'MLmodel', sha256: (await r.putBlob('flavors:\n  onnx: {data: model.onnx}\n')).sha256 }] }),
        /MLmodel's onnx flavor names data "model.onnx", which is not in the artifact/,
      );
      await r.deleteVersion('fraud', sklearn.version);
      const elsewhere = await r.createVersion({ name: 'fraud', source: 's3://bucket/model' });
      assert.equal(elsewhere.status, 'PENDING_REGISTRATION', 'a source on another store is recorded, as MLflow records it');
      assert.match(elsewhere.statusMessage!, /no artifact source serves this URI/);
      await r.deleteVersion('fraud', elsewhere.version);
    });

    test('aliases move atomically; stages archive; events', { skip: reason }, async () => {
      const r = h.registry;
      events.length = 0;
      await r.setAlias('fraud', 'champion', 1, { user: 'ana' });
      await r.setAlias('fraud', 'champion', 2, { user: 'ana' });
      assert.equal((await r.getVersionByAlias('fraud', 'champion')).version, 2);
      assert.deepEqual((await r.getVersion('fraud', 2)).aliases, ['champion']);
      assert.deepEqual((await r.getModel('fraud')).aliases, [{ alias: 'champion', version: 2 }]);
      const moves = events.filter((e) => e.type === 'model_version.alias_set').map((e) => e.data);
      assert.deepEqual(moves, [
        { name: 'fraud', alias: 'champion', version: 1, previousVersion: undefined, user: 'ana' },
        { name: 'fraud', alias: 'champion', version: 2, previousVersion: 1, user: 'ana' },
      ]);
      await assert.rejects(r.setAlias('fraud', 'latest', 1), /reserved/);
      await assert.rejects(r.setAlias('fraud', 'v3', 1), /reserved/);
      await assert.rejects(r.setAlias('fraud', 'bad alias', 1), /Invalid alias name/);
      await assert.rejects(r.setAlias('fraud', 'x', 42), { code: 'NotFound' });
      await assert.rejects(r.getVersionByAlias('fraud', 'nope'), { code: 'NotFound' });
      assert.equal((await r.resolveVersion('fraud', '@champion')).version, 2);
      assert.equal((await r.resolveVersion('fraud', 'latest')).version, 3);

      await r.transitionStage('fraud', 1, 'production', false);
      await r.transitionStage('fraud', 2, 'Production', true);
      assert.equal((await r.getVersion('fraud', 1)).stage, 'Archived');
      assert.equal((await r.getVersion('fraud', 2)).stage, 'Production');
      await assert.rejects(r.transitionStage('fraud', 3, 'Archived', true), /not an Active stage/);
      await assert.rejects(r.transitionStage('fraud', 3, 'Prod', false), /Invalid Model Version stage: Prod/);
      const latest = await r.getLatestVersions('fraud');
      assert.deepEqual(latest.map((v) => [v.version, v.stage]), [[1, 'Archived'], [2, 'Production'], [3, 'None']]);
      assert.deepEqual((await r.getLatestVersions('fraud', ['production'])).map((v) => v.version), [2]);
      const staged = events.filter((e) => e.type === 'model_version.stage_changed').map((e) => e.data);
      assert.deepEqual(staged[1], { name: 'fraud', version: 2, from: 'None', to: 'Production', archived: [1], user: undefined });

      await r.deleteAlias('fraud', 'champion');
      await assert.rejects(r.getVersionByAlias('fraud', 'champion'), { code: 'NotFound' });
    });

    test('approval policies: a model policy replaces the global one; approvers and roles are enforced', { skip: reason }, async () => {
      const r = h.registry;
      const global = await r.putPolicy({ protectedAliases: ['*'], protectedStages: ['production'] });
      assert.deepEqual(global.protectedStages, ['Production']);
      await assert.rejects(r.setAlias('churn', 'anything', 1), { code: 'PermissionDenied' });
      await assert.rejects(r.transitionStage('churn', 1, 'Production', false), /stage Production of model churn is protected/);
      await r.transitionStage('churn', 1, 'Staging', false);
      const own = await r.putPolicy({ model: 'churn', protectedAliases: ['champion'], approvers: ['dana'] });
      await r.setAlias('churn', 'shadow', 1);
      await r.transitionStage('churn', 1, 'Production', false);
      await assert.rejects(r.setAlias('churn', 'champion', 1), { code: 'PermissionDenied' });
      assert.equal((await r.policyFor('churn'))!.id, own.id);
      assert.equal((await r.policyFor('fraud'))!.id, global.id);
      const again = await r.putPolicy({ model: 'churn', protectedAliases: ['champion'], approvers: ['dana', 'eve'] });
      assert.equal(again.id, own.id, 'putting a policy replaces it');
      assert.equal((await r.listPolicies()).length, 2);

      await assert.rejects(r.requestApproval({ name: 'churn', version: 1, alias: 'champion' }, {}), { code: 'Unauthenticated' });
      await assert.rejects(r.requestApproval({ name: 'churn', version: 1 }, { user: 'ana' }), /exactly one of alias or stage/);
      await assert.rejects(r.requestApproval({ name: 'churn', version: 1, stage: 'Archived', archiveExistingVersions: true }, { user: 'ana' }), /not an Active stage/);
      await assert.rejects(r.requestApproval({ name: 'churn', version: 99, alias: 'champion' }, { user: 'ana' }), { code: 'NotFound' });
      const req = await r.requestApproval({ name: 'churn', version: 1, alias: 'champion' }, { user: 'ana' });
      await assert.rejects(r.approve(req.id, { user: 'bob', roles: ['admin'] }), /user bob is not an approver for this model \(approvers: dana, eve\)/);
      const done = await r.approve(req.id, { user: 'eve' });
      assert.equal(done.status, 'APPROVED');
      assert.equal((await r.getVersionByAlias('churn', 'champion')).version, 1);
      assert.deepEqual((await r.listApprovals({ name: 'churn' })).map((a) => a.status), ['APPROVED']);
      await assert.rejects(r.reject(req.id, { user: 'dana' }), { code: 'FailedPrecondition' });
      await assert.rejects(r.getApproval('nope'), { code: 'NotFound' });
      for (const p of await r.listPolicies()) await r.deletePolicy(p.id);
      await assert.rejects(r.deletePolicy(global.id), { code: 'NotFound' });
    });

    test('deletion guards veto deleting a served version', { skip: reason }, async () => {
      const r = h.registry;
      const remove = r.addDeletionGuard(({ name, version }) => (name === 'fraud' && version === 2 ? 'deployment "fraud-prod" serves it' : undefined));
      await assert.rejects(r.deleteVersion('fraud', 2), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'FailedPrecondition');
        assert.match(err.message, /deployment "fraud-prod" serves it/);
        return true;
      });
      await assert.rejects(r.deleteModel('fraud'), /fraud-prod/);
      remove();
      await r.deleteVersion('fraud', 3);
      await assert.rejects(r.getVersion('fraud', 3), { code: 'NotFound' });
    });

    test('concurrent materializations never remove a copy another caller is reading', { skip: reason }, async () => {
      const r = h.registry;
      const failures: string[] = [];
      await Promise.all(
        Array.from({ length: 24 }, async () => {
          const { path } = await r.materialize('fraud', 1);
          for (let i = 0; i < 20; i++) {
            try {
              assert.ok((await stat(join(path, 'model.onnx'))).size > 0);
            } catch (err) {
              failures.push((err as Error).message);
            }
            await new Promise((done) => setImmediate(done));
          }
        }),
      );
      assert.deepEqual(failures, []);
      const leftovers = (await readdir(join(h.dataDir, 'registry-cache'))).filter((f) => f.includes('.tmp-') || f.includes('.stale-'));
      assert.deepEqual(leftovers, []);
    });

    test('materialize verifies content; corrupted blobs are refused at load', { skip: reason }, async () => {
      const r = h.registry;
      const { path } = await r.materialize('fraud', 1);
      assert.deepEqual((await readdir(path)).sort(), ['.complete', 'MLmodel', 'model.onnx']);
      const predictor = await r.loadVersion('fraud', 1);
      assert.equal(predictor.flavor, 'onnx');
      await predictor.close();

      const db = (h.registry as unknown as { db: import('kysely').Kysely<import('../../src/registry/tables.js').RegistryTables> }).db;
      const row = await db.selectFrom('reg_version').select(['model_id', 'manifest']).where('version', '=', 1).where('sha256', '=', (await r.getVersion('fraud', 1)).sha256!).executeTakeFirstOrThrow();
      await db.updateTable('reg_version').set({ manifest: row.manifest!.replace('"size":908', '"size":909') }).where('model_id', '=', row.model_id).where('version', '=', 1).execute();
      await assert.rejects(r.manifest('fraud', 1), /manifest is corrupt/);
      await assert.rejects(r.openFile('fraud', 1, 'model.onnx'), { code: 'FailedPrecondition' });

      const v = await r.createVersion({ name: 'churn', files: await uploadFolder(r, join(FIXTURES, 'xgb_breast_cancer'), ['model.ubj']) });
      const file = (await r.manifest('churn', v.version)).files.find((f) => f.path === 'model.ubj')!;
      await writeFile(join(h.dataDir, 'blobs', 'objects', file.sha256.slice(0, 2), file.sha256), 'tampered');
      await assert.rejects(r.materialize('churn', v.version), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'FailedPrecondition');
        assert.match(err.message, /corrupt/);
        return true;
      });
    });
  });
}

contract('sqlite', noSkip);
contract('postgres', postgresSkip);
