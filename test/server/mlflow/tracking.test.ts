/** MLflow REST 2.0 tracking contract: every endpoint, on SQLite and on PostgreSQL. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../src/server/serve.js';
import { testServer } from '../../helpers/platform.js';
import { postgresSkip, freshPostgresUri, dropSchema } from '../../helpers/services.js';
import { mlflowCaller } from './contract.js';

function contract(engine: string, storeUri: () => Promise<{ uri?: string; cleanup(): Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`MLflow tracking REST contract: ${engine}`, async () => {
    const reason = await skip();
    let server: RunningServer;
    let cleanup: () => Promise<void>;
    let api: ReturnType<typeof mlflowCaller>;
    before(async () => {
      if (reason) return;
      const store = await storeUri();
      cleanup = store.cleanup;
      server = await testServer(store.uri ? { store: store.uri } : {});
      api = mlflowCaller(server.url);
    });
    after(async () => {
      if (reason) return;
      await server.close();
      await cleanup();
    });

    const newExperiment = async (name: string, extra: Record<string, unknown> = {}) =>
      (await api.ok('POST', '/experiments/create', { name, ...extra })).experiment_id as string;
    const newRun = async (experiment_id: string, extra: Record<string, unknown> = {}) =>
      (await api.ok('POST', '/runs/create', { experiment_id, start_time: 1000, ...extra })).run;

    test('experiments: create, get, get-by-name, rename, tags, delete and restore', { skip: reason }, async () => {
      const id = await newExperiment('exp-a', { tags: [{ key: 'team', value: 'ml' }] });
      assert.match(id, /^\d+$/);
      const { experiment } = await api.ok('GET', '/experiments/get', { experiment_id: id });
      assert.equal(experiment.name, 'exp-a');
      assert.equal(experiment.lifecycle_stage, 'active');
      assert.equal(experiment.artifact_location, `mlflow-artifacts:/${id}`);
      assert.deepEqual(experiment.tags, [{ key: 'team', value: 'ml' }]);
      assert.equal(typeof experiment.creation_time, 'number');

      const dup = await api.post('/experiments/create', { name: 'exp-a' });
      assert.equal(dup.status, 400);
      assert.equal(dup.body.error_code, 'RESOURCE_ALREADY_EXISTS');

      assert.equal((await api.ok('GET', '/experiments/get-by-name', { experiment_name: 'exp-a' })).experiment.experiment_id, id);
      const missing = await api.get('/experiments/get-by-name', { experiment_name: 'nope' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      for (const bad of ['424242', 'abc']) {
        const r = await api.get('/experiments/get', { experiment_id: bad });
        assert.equal(r.status, 404, bad);
        assert.equal(r.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      }

      await api.ok('POST', '/experiments/update', { experiment_id: id, new_name: 'exp-a2' });
      assert.equal((await api.ok('GET', '/experiments/get', { experiment_id: id })).experiment.name, 'exp-a2');
      await newExperiment('exp-taken');
      assert.equal((await api.post('/experiments/update', { experiment_id: id, new_name: 'exp-taken' })).body.error_code, 'RESOURCE_ALREADY_EXISTS');

      await api.ok('POST', '/experiments/set-experiment-tag', { experiment_id: id, key: 'team', value: 'platform' });
      await api.ok('POST', '/experiments/set-experiment-tag', { experiment_id: id, key: 'stage', value: 'dev' });
      assert.deepEqual((await api.ok('GET', '/experiments/get', { experiment_id: id })).experiment.tags, [
        { key: 'stage', value: 'dev' },
        { key: 'team', value: 'platform' },
      ]);
      await api.ok('POST', '/experiments/delete-experiment-tag', { experiment_id: id, key: 'stage' });
      assert.equal((await api.post('/experiments/delete-experiment-tag', { experiment_id: id, key: 'stage' })).status, 404);

      const run = await newRun(id);
      const deletedBefore = await newRun(id);
      await api.ok('POST', '/runs/delete', { run_id: deletedBefore.info.run_id });
      await api.ok('POST', '/experiments/delete', { experiment_id: id });
      const deleted = (await api.ok('GET', '/experiments/get', { experiment_id: id })).experiment;
      assert.equal(deleted.lifecycle_stage, 'deleted', 'a deleted experiment can still be fetched');
      assert.equal((await api.ok('GET', '/runs/get', { run_id: run.info.run_id })).run.info.lifecycle_stage, 'deleted', 'its runs are deleted with it');
      const inDeleted = await api.post('/runs/create', { experiment_id: id });
      assert.equal(inDeleted.status, 400);
      assert.equal(inDeleted.body.error_code, 'INVALID_PARAMETER_VALUE');
      await api.ok('POST', '/experiments/restore', { experiment_id: id });
      assert.equal((await api.ok('GET', '/runs/get', { run_id: run.info.run_id })).run.info.lifecycle_stage, 'active');
      assert.equal((await api.ok('GET', '/runs/get', { run_id: deletedBefore.info.run_id })).run.info.lifecycle_stage, 'deleted', 'a run deleted on its own stays deleted');

      const defaultDelete = await api.post('/experiments/delete', { experiment_id: '0' });
      assert.equal(defaultDelete.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal((await api.post('/experiments/create', {})).body.error_code, 'INVALID_PARAMETER_VALUE');
    });

    test('experiments/search: filter, order, view type, pages, GET and POST', { skip: reason }, async () => {
      for (const n of ['search-b', 'search-a', 'search-c']) await newExperiment(n, { tags: [{ key: 'kind', value: n === 'search-c' ? 'x' : 'y' }] });
      const body = await api.ok('POST', '/experiments/search', { filter: "name LIKE 'search-%'", order_by: ['name ASC'] });
      assert.deepEqual(body.experiments.map((e: { name: string }) => e.name), ['search-a', 'search-b', 'search-c']);
      const tagged = await api.ok('GET', '/experiments/search', { filter: "tags.kind = 'y' AND name ILIKE 'SEARCH-%'", order_by: 'name DESC' });
      assert.deepEqual(tagged.experiments.map((e: { name: string }) => e.name), ['search-b', 'search-a']);
      const page1 = await api.ok('POST', '/experiments/search', { filter: "name LIKE 'search-%'", order_by: ['name'], max_results: 2 });
      assert.equal(page1.experiments.length, 2);
      assert.ok(page1.next_page_token);
      const page2 = await api.ok('POST', '/experiments/search', { filter: "name LIKE 'search-%'", order_by: ['name'], max_results: 2, page_token: page1.next_page_token });
      assert.deepEqual(page2.experiments.map((e: { name: string }) => e.name), ['search-c']);
      assert.equal(page2.next_page_token, undefined);
      const id = (await api.ok('GET', '/experiments/get-by-name', { experiment_name: 'search-c' })).experiment.experiment_id;
      await api.ok('POST', '/experiments/delete', { experiment_id: id });
      const active = await api.ok('POST', '/experiments/search', { filter: "name LIKE 'search-%'" });
      assert.equal(active.experiments.length, 2);
      const deletedOnly = await api.ok('POST', '/experiments/search', { filter: "name LIKE 'search-%'", view_type: 'DELETED_ONLY' });
      assert.deepEqual(deletedOnly.experiments.map((e: { name: string }) => e.name), ['search-c']);
      const bad = await api.post('/experiments/search', { filter: 'name = ' });
      assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
      const badToken = await api.post('/experiments/search', { page_token: 'not-a-token' });
      assert.equal(badToken.body.error_code, 'INVALID_PARAMETER_VALUE');
    });

    test('runs: create, get, update status and end time, nested runs, delete and restore', { skip: reason }, async () => {
      const exp = await newExperiment('runs-exp');
      const parent = await newRun(exp, { run_name: 'parent', tags: [{ key: 'mlflow.user', value: 'ada' }] });
      assert.match(parent.info.run_id, /^[0-9a-f]{32}$/);
      assert.equal(parent.info.run_uuid, parent.info.run_id);
      assert.equal(parent.info.status, 'RUNNING');
      assert.equal(parent.info.start_time, 1000);
      assert.equal(parent.info.user_id, 'ada');
      assert.equal(parent.info.experiment_id, exp);
      assert.equal(parent.info.artifact_uri, `mlflow-artifacts:/${exp}/${parent.info.run_id}/artifacts`);
      assert.deepEqual(parent.data.tags, [
        { key: 'mlflow.runName', value: 'parent' },
        { key: 'mlflow.user', value: 'ada' },
      ]);
      const child = await newRun(exp, { tags: [{ key: 'mlflow.parentRunId', value: parent.info.run_id }] });
      assert.ok(child.info.run_name, 'an unnamed run gets a generated name');
      const children = await api.ok('POST', '/runs/search', { experiment_ids: [exp], filter: `tags.mlflow.parentRunId = '${parent.info.run_id}'` });
      assert.deepEqual(children.runs.map((r: { info: { run_id: string } }) => r.info.run_id), [child.info.run_id]);

      for (const status of ['SCHEDULED', 'FAILED', 'KILLED', 'FINISHED']) {
        const { run_info } = await api.ok('POST', '/runs/update', { run_id: child.info.run_id, status, end_time: 5000 });
        assert.equal(run_info.status, status);
        assert.equal(run_info.end_time, 5000);
      }
      await api.ok('POST', '/runs/update', { run_uuid: child.info.run_id, run_name: 'renamed' });
      const renamed = (await api.ok('GET', '/runs/get', { run_uuid: child.info.run_id })).run;
      assert.equal(renamed.info.run_name, 'renamed');
      assert.ok(renamed.data.tags.some((t: { key: string; value: string }) => t.key === 'mlflow.runName' && t.value === 'renamed'));
      assert.equal((await api.post('/runs/update', { run_id: child.info.run_id, status: 'DONE' })).body.error_code, 'INVALID_PARAMETER_VALUE');

      await api.ok('POST', '/runs/delete', { run_id: child.info.run_id });
      assert.equal((await api.ok('GET', '/runs/get', { run_id: child.info.run_id })).run.info.lifecycle_stage, 'deleted');
      const logDeleted = await api.post('/runs/log-metric', { run_id: child.info.run_id, key: 'm', value: 1, timestamp: 1 });
      assert.equal(logDeleted.body.error_code, 'INVALID_PARAMETER_VALUE');
      await api.ok('POST', '/runs/restore', { run_id: child.info.run_id });
      assert.equal((await api.ok('GET', '/runs/get', { run_id: child.info.run_id })).run.info.lifecycle_stage, 'active');

      const unknown = await api.get('/runs/get', { run_id: 'f'.repeat(32) });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal((await api.post('/runs/log-batch', { run_id: 'nope', metrics: [] })).status, 404);
      assert.equal((await api.post('/runs/create', { experiment_id: '999999' })).status, 404);
      assert.equal((await api.get('/runs/get', {})).body.error_code, 'INVALID_PARAMETER_VALUE');
      const defaultRun = (await api.ok('POST', '/runs/create', {})).run;
      assert.equal(defaultRun.info.experiment_id, '0', 'no experiment means the Default experiment');
    });

    test('params are write-once, tags last-write-wins, metrics keep full history and latest values', { skip: reason }, async () => {
      const run = await newRun(await newExperiment('logging-exp'));
      const run_id = run.info.run_id;
      await api.ok('POST', '/runs/log-parameter', { run_id, key: 'lr', value: '0.1' });
      await api.ok('POST', '/runs/log-parameter', { run_id, key: 'lr', value: '0.1' });
      const changed = await api.post('/runs/log-parameter', { run_id, key: 'lr', value: '0.2' });
      assert.equal(changed.status, 400);
      assert.equal(changed.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(changed.body.message, /Changing param values is not allowed/);

      await api.ok('POST', '/runs/set-tag', { run_id, key: 'note', value: 'a' });
      await api.ok('POST', '/runs/log-batch', { run_id, tags: [{ key: 'note', value: 'b' }, { key: 'note', value: 'c' }] });
      await api.ok('POST', '/runs/set-tag', { run_id, key: 'gone', value: 'x' });
      await api.ok('POST', '/runs/delete-tag', { run_id, key: 'gone' });
      assert.equal((await api.post('/runs/delete-tag', { run_id, key: 'gone' })).status, 404);

      await api.ok('POST', '/runs/log-metric', { run_id, key: 'loss', value: 0.9, timestamp: 10, step: 0 });
      await api.ok('POST', '/runs/log-batch', {
        run_id,
        metrics: [
          { key: 'loss', value: 0.5, timestamp: 20, step: 1 },
          { key: 'loss', value: 0.7, timestamp: 15, step: 2 },
          { key: 'loss', value: 0.7, timestamp: 15, step: 2 },
          { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
          { key: 'inf', value: 'Infinity', timestamp: 1, step: 0 },
          { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
        ],
        params: [{ key: 'depth', value: '3' }],
      });
      const got = (await api.ok('GET', '/runs/get', { run_id })).run;
      assert.deepEqual(got.data.params, [
        { key: 'depth', value: '3' },
        { key: 'lr', value: '0.1' },
      ]);
      assert.deepEqual(got.data.tags.find((t: { key: string }) => t.key === 'note'), { key: 'note', value: 'c' });
      assert.equal(got.data.tags.find((t: { key: string }) => t.key === 'gone'), undefined);
      const latest = Object.fromEntries(got.data.metrics.map((m: { key: string }) => [m.key, m]));
      assert.deepEqual(latest.loss, { key: 'loss', value: 0.7, timestamp: 15, step: 2 }, 'the latest value is the one at the highest step');
      assert.equal(latest.nan.value, 'NaN');
      assert.equal(latest.inf.value, 1.7976931348623157e308, 'MLflow stores +Infinity as the largest double');
      assert.equal(latest.ninf.value, -1.7976931348623157e308);

      const history = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'loss' });
      assert.deepEqual(history.metrics, [
        { key: 'loss', value: 0.9, timestamp: 10, step: 0 },
        { key: 'loss', value: 0.5, timestamp: 20, step: 1 },
        { key: 'loss', value: 0.7, timestamp: 15, step: 2 },
      ], 'identical points collapse into one');
      const p1 = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'loss', max_results: 2 });
      assert.equal(p1.metrics.length, 2);
      const p2 = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'loss', max_results: 2, page_token: p1.next_page_token });
      assert.deepEqual(p2.metrics.map((m: { step: number }) => m.step), [2]);
      assert.deepEqual((await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'never' })).metrics, []);

      // Batches that overlap in steps, repeat points and arrive out of order still read back in order, once each.
      for (const steps of [[0, 10], [5, 10], [3]]) {
        await api.ok('POST', '/runs/log-batch', { run_id, metrics: steps.map((step) => ({ key: 'mixed', value: step / 10, timestamp: 7, step })) });
      }
      for (let read = 0; read < 2; read++) {
        const mixed = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'mixed' });
        assert.deepEqual(mixed.metrics.map((m: { step: number }) => m.step), [0, 3, 5, 10]);
      }
      await api.ok('POST', '/runs/log-batch', { run_id, metrics: [{ key: 'ordered', value: 1, timestamp: 1, step: 0 }] });
      await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'ordered' });
      await api.ok('POST', '/runs/log-batch', { run_id, metrics: [{ key: 'ordered', value: 'NaN', timestamp: 1, step: 1 }] });
      const ordered = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'ordered' });
      assert.deepEqual(ordered.metrics, [
        { key: 'ordered', value: 1, timestamp: 1, step: 0 },
        { key: 'ordered', value: 'NaN', timestamp: 1, step: 1 },
      ], 'a history that grew since the last read includes the new block');
      assert.equal((await api.get('/metrics/get-history', { run_id: 'x'.repeat(32), metric_key: 'loss' })).status, 404);
    });

    test('get-history with max_points downsamples a long curve by LTTB, keeping its ends and peaks', { skip: reason }, async () => {
      const run_id = (await newRun(await newExperiment('downsample'))).info.run_id;
      const n = 5000;
      for (let from = 0; from < n; from += 1000) {
        const metrics = Array.from({ length: 1000 }, (_, j) => ({ key: 'loss', value: from + j === 3210 ? 9 : 1 / (1 + from + j), timestamp: 100 + from + j, step: from + j }));
        await api.ok('POST', '/runs/log-batch', { run_id, metrics });
      }
      const { metrics } = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'loss', max_points: 300 });
      assert.equal(metrics.length, 300);
      assert.deepEqual(metrics[0], { key: 'loss', value: 1, timestamp: 100, step: 0 });
      assert.equal(metrics.at(-1).step, n - 1);
      assert.deepEqual(metrics.find((m: { step: number }) => m.step === 3210), { key: 'loss', value: 9, timestamp: 3310, step: 3210 }, 'the spike is kept');
      const whole = await api.ok('GET', '/metrics/get-history', { run_id, metric_key: 'loss', max_points: 10_000 });
      assert.equal(whole.metrics.length, n, 'a short history comes back whole');
      const small = await api.get('/metrics/get-history', { run_id, metric_key: 'loss', max_points: 2 });
      assert.equal(small.status, 400);
      assert.match(small.body.message, /max_points/);
      const mixed = await api.get('/metrics/get-history', { run_id, metric_key: 'loss', max_points: 100, max_results: 10 });
      assert.equal(mixed.status, 400);
      assert.match(mixed.body.message, /max_points .*cannot be combined with max_results or page_token/);
    });

    test('log-model records MLmodels in the run history tag', { skip: reason }, async () => {
      const run_id = (await newRun(await newExperiment('log-model'))).info.run_id;
      const model = { artifact_path: 'model', flavors: { python_function: { loader_module: 'mlflow.sklearn' } }, run_id };
      await api.ok('POST', '/runs/log-model', { run_id, model_json: JSON.stringify(model) });
      await api.ok('POST', '/runs/log-model', { run_id, model_json: JSON.stringify({ ...model, artifact_path: 'model2' }) });
      const tags = (await api.ok('GET', '/runs/get', { run_id })).run.data.tags;
      const history = JSON.parse(tags.find((t: { key: string }) => t.key === 'mlflow.log-model.history').value);
      assert.deepEqual(history.map((m: { artifact_path: string }) => m.artifact_path), ['model', 'model2']);
      const bad = await api.post('/runs/log-model', { run_id, model_json: '{"flavors": {}}' });
      assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(bad.body.message, /missing mandatory fields: \["artifact_path"\]/);
    });

    test('bad input: keys, values, oversize batches, bodies', { skip: reason }, async () => {
      const run_id = (await newRun(await newExperiment('bad-exp'))).info.run_id;
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['/runs/log-metric', { run_id, key: 'bad key!', value: 1, timestamp: 1 }, /Invalid metric name/],
        ['/runs/log-metric', { run_id, key: '../up', value: 1, timestamp: 1 }, /Invalid metric name/],
        ['/runs/log-metric', { run_id, key: 'm', value: true, timestamp: 1 }, /Invalid value True for parameter 'value' supplied/],
        ['/runs/log-metric', { run_id, key: 'm', value: 'abc', timestamp: 1 }, /Invalid value abc for parameter 'value' supplied/],
        ['/runs/log-metric', { run_id, key: 'm', value: 1, timestamp: -5 }, /timestamp/i],
        ['/runs/set-tag', { run_id, key: 'k'.repeat(251), value: 'v' }, /exceeded length limit of 250/],
        ['/runs/log-batch', { run_id, metrics: Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i })) }, /at most 1000 metrics/],
        ['/runs/log-batch', { run_id, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: '1' })) }, /at most 100 params/],
        ['/runs/log-batch', { run_id, tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: '1' })) }, /at most 100 tags/],
        [
          '/runs/log-batch',
          {
            run_id,
            metrics: Array.from({ length: 900 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i })),
            params: Array.from({ length: 50 }, (_, i) => ({ key: `p${i}`, value: '1' })),
            tags: Array.from({ length: 51 }, (_, i) => ({ key: `t${i}`, value: '1' })),
          },
          /at most 1000 metrics, params, and tags/,
        ],
        ['/runs/log-batch', { run_id, params: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }, /Duplicate parameter keys/],
        ['/runs/log-batch', { run_id, metrics: 'many' }, /metrics/],
      ];
      for (const [path, body, message] of cases) {
        const r = await api.post(path, body);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}`);
        assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
        assert.match(r.body.message, message);
      }
      const big = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ run_id, tags: [{ key: 'big', value: 'x'.repeat(1_000_001) }] }),
      });
      assert.equal(big.status, 400);
      assert.equal(((await big.json()) as { error_code: string }).error_code, 'INVALID_PARAMETER_VALUE');
      const malformed = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"run_id":' });
      assert.equal(malformed.status, 400);
      assert.equal(((await malformed.json()) as { error_code: string }).error_code, 'INVALID_PARAMETER_VALUE');
      const got = (await api.ok('GET', '/runs/get', { run_id })).run;
      assert.deepEqual(got.data.metrics, [], 'refused batches wrote nothing');
    });

    test('log-inputs: datasets with digests and context, searchable', { skip: reason }, async () => {
      const exp = await newExperiment('inputs-exp');
      const a = await newRun(exp);
      const b = await newRun(exp);
      const dataset = { name: 'loans', digest: 'abc123', source_type: 'local', source: '{"uri": "loans.csv"}', schema: '{"mlflow_colspec": []}' };
      await api.ok('POST', '/runs/log-inputs', { run_id: a.info.run_id, datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }] });
      await api.ok('POST', '/runs/log-inputs', { run_id: b.info.run_id, datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'eval' }], dataset: { ...dataset, digest: 'def456' } }] });
      const got = (await api.ok('GET', '/runs/get', { run_id: a.info.run_id })).run;
      assert.deepEqual(got.inputs.dataset_inputs, [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }]);
      const search = (filter: string) =>
        api.ok('POST', '/runs/search', { experiment_ids: [exp], filter }).then((r) => r.runs.map((x: { info: { run_id: string } }) => x.info.run_id));
      assert.deepEqual(await search("datasets.digest = 'abc123'"), [a.info.run_id]);
      assert.deepEqual(await search("datasets.context IN ('eval', 'test')"), [b.info.run_id]);
      assert.deepEqual(await search("datasets.name = 'loans' AND datasets.context = 'training'"), [a.info.run_id]);
      const missing = await api.post('/runs/log-inputs', { run_id: a.info.run_id, datasets: [{ dataset: { name: 'x', digest: 'y', source_type: 'local' } }] });
      assert.equal(missing.body.error_code, 'INVALID_PARAMETER_VALUE');
      const long = await api.post('/runs/log-inputs', { run_id: a.info.run_id, datasets: [{ dataset: { ...dataset, digest: 'd'.repeat(37) } }] });
      assert.match(long.body.message, /exceeded length limit of 36/);
    });

    test('runs/search: every entity and comparator, order with missing and NaN values, pages', { skip: reason }, async () => {
      const exp = await newExperiment('search-runs');
      const spec = [
        { name: 'r1', start: 100, acc: 0.9, lr: '0.1', tag: 'Alpha', status: 'FINISHED' },
        { name: 'r2', start: 200, acc: 0.5, lr: '0.01', tag: 'beta', status: 'FAILED' },
        { name: 'r3', start: 300, acc: 'NaN', lr: '0.1', tag: 'alpha', status: 'FINISHED' },
        { name: 'r4', start: 400, acc: undefined, lr: undefined, tag: undefined, status: 'RUNNING' },
      ];
      const ids: Record<string, string> = {};
      for (const s of spec) {
        const run = await newRun(exp, { run_name: s.name, start_time: s.start });
        ids[s.name] = run.info.run_id;
        await api.ok('POST', '/runs/log-batch', {
          run_id: run.info.run_id,
          metrics: s.acc === undefined ? [] : [{ key: 'acc', value: s.acc, timestamp: 1, step: 0 }],
          params: s.lr === undefined ? [] : [{ key: 'lr', value: s.lr }],
          tags: s.tag === undefined ? [] : [{ key: 'group', value: s.tag }],
        });
        await api.ok('POST', '/runs/update', { run_id: run.info.run_id, status: s.status, end_time: s.start + 50 });
      }
      const names = async (filter: string, order_by?: string[], extra: Record<string, unknown> = {}) => {
        const r = await api.ok('POST', '/runs/search', { experiment_ids: [exp], filter, order_by, ...extra });
        return r.runs.map((x: { info: { run_name: string } }) => x.info.run_name).join(',');
      };
      assert.equal(await names(''), 'r4,r3,r2,r1', 'default order is start_time DESC');
      assert.equal(await names('metrics.acc > 0.6'), 'r1');
      assert.equal(await names('metrics.acc >= 0.5', ['metrics.acc ASC']), 'r2,r1');
      assert.equal(await names('metrics.acc < 1'), 'r2,r1', 'NaN never compares less');
      assert.equal(await names('metrics.acc <= 0.5'), 'r2');
      assert.equal(await names('metrics.acc = 0.9'), 'r1');
      assert.equal(await names('metrics.acc != 0.9'), 'r3,r2', 'NaN is unequal to everything; a missing metric never matches');
      assert.equal(await names("params.lr = '0.1'"), 'r3,r1');
      assert.equal(await names('params.lr != "0.1"'), 'r2');
      assert.equal(await names("params.lr LIKE '0.0%'"), 'r2');
      assert.equal(await names("tags.group LIKE 'a%'"), 'r3', 'LIKE is case-sensitive');
      assert.equal(await names("tags.group ILIKE 'a%'"), 'r3,r1');
      assert.equal(await names("tags.group = 'beta' AND params.lr = '0.01'"), 'r2');
      assert.equal(await names('tags.group IS NULL'), 'r4');
      assert.equal(await names("attributes.status = 'FINISHED'"), 'r3,r1');
      assert.equal(await names("status IN ('FAILED', 'RUNNING')"), 'r4,r2');
      assert.equal(await names("attributes.status NOT IN ('FINISHED')"), 'r4,r2');
      assert.equal(await names("attributes.run_name LIKE 'r%' AND attributes.start_time > 150 AND attributes.start_time <= 300"), 'r3,r2');
      assert.equal(await names(`attributes.run_id IN ('${ids.r1}', '${ids.r2}')`), 'r2,r1');
      assert.equal(await names(`run_id = '${ids.r4}'`), 'r4');
      assert.equal(await names('attributes.end_time < 300'), 'r2,r1');
      assert.equal(await names("`run name` = 'r2'"), 'r2');
      assert.equal(await names('', ['metrics.acc DESC']), 'r1,r2,r3,r4', 'NaN after numbers, missing last');
      assert.equal(await names('', ['metrics.acc ASC']), 'r2,r1,r3,r4');
      assert.equal(await names('', ['params.lr DESC', 'attributes.start_time ASC']), 'r1,r3,r2,r4');
      assert.equal(await names('', ['attributes.run_name DESC']), 'r4,r3,r2,r1');
      assert.equal(await names('', ['tags.group']), 'r1,r3,r2,r4');

      const page1 = await api.ok('POST', '/runs/search', { experiment_ids: [exp], max_results: 3 });
      assert.equal(page1.runs.length, 3);
      const page2 = await api.ok('POST', '/runs/search', { experiment_ids: [exp], max_results: 3, page_token: page1.next_page_token });
      assert.deepEqual(page2.runs.map((r: { info: { run_name: string } }) => r.info.run_name), ['r1']);
      assert.equal(page2.next_page_token, undefined);

      await api.ok('POST', '/runs/delete', { run_id: ids.r4 });
      assert.equal(await names(''), 'r3,r2,r1');
      assert.equal(await names('', undefined, { run_view_type: 'DELETED_ONLY' }), 'r4');
      assert.equal(await names('', undefined, { run_view_type: 'ALL' }), 'r4,r3,r2,r1');
      const full = (await api.ok('POST', '/runs/search', { experiment_ids: [exp], filter: "attributes.run_name = 'r1'" })).runs[0];
      assert.deepEqual(full.data.params, [{ key: 'lr', value: '0.1' }], 'search returns whole runs');

      const tooMany = await api.post('/runs/search', { experiment_ids: [exp], max_results: 50_001 });
      assert.equal(tooMany.body.error_code, 'INVALID_PARAMETER_VALUE');
      const dupOrder = await api.post('/runs/search', { experiment_ids: [exp], order_by: ['metrics.acc', 'metrics.acc DESC'] });
      assert.equal(dupOrder.body.error_code, 'INVALID_PARAMETER_VALUE');
    });

    test('a malformed filter names the token where parsing failed', { skip: reason }, async () => {
      const exp = await newExperiment('malformed');
      const cases: [string, RegExp][] = [
        ['metrics.acc > 0.5 OR params.lr = "1"', /OR is not supported.*"OR" \(position 19\)/],
        ['metrics.acc >', /expected a number.*end of the filter/],
        ["metrics.acc > 'high'", /expected a number for metric acc at 'high' \(position 15\)/],
        ['params.lr = 0.1', /expected a quoted string value for param lr.*"0.1"/],
        ['foo.bar = "x"', /invalid entity type.*"foo"/],
        ['attributes.colour = "red"', /invalid attribute key "colour"/],
        ['metrics.acc LIKE "9%"', /comparator LIKE is not valid for metrics/],
        ['metrics.acc > 1 AND', /expected an identifier.*end of the filter/],
        ['metrics.acc > 1 params.lr = "x"', /expected AND or the end of the filter at "params"/],
        ['(metrics.acc > 1)', /expected an identifier.*"\(" \(position 1\)/],
        ["params.lr = 'unterminated", /unterminated quoted text/],
        ['metrics.acc ~ 1', /unexpected character at "~"/],
      ];
      for (const [filter, message] of cases) {
        const r = await api.post('/runs/search', { experiment_ids: [exp], filter });
        assert.equal(r.status, 400, filter);
        assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE', filter);
        assert.match(r.body.message, message, filter);
      }
      const order = await api.post('/runs/search', { experiment_ids: [exp], order_by: ['metrics.acc SIDEWAYS'] });
      assert.match(order.body.message, /expected ASC or DESC at "SIDEWAYS"/);
    });

    test('injection attempts are data, never SQL', { skip: reason }, async () => {
      const exp = await newExperiment('injection');
      const run = await newRun(exp, { run_name: "o'brien" });
      const evil = "x' OR '1'='1";
      await api.ok('POST', '/runs/log-batch', { run_id: run.info.run_id, params: [{ key: 'p', value: evil }], tags: [{ key: 't', value: 'a"; drop table tracking_run; --' }] });
      const search = async (filter: string) => (await api.ok('POST', '/runs/search', { experiment_ids: [exp], filter })).runs.length;
      assert.equal(await search(`params.p = "${evil}"`), 1, 'the quote is part of the value');
      assert.equal(await search(`params.p = "x' OR 1=1 --"`), 0);
      assert.equal(await search(`tags.t = 'a"; drop table tracking_run; --'`), 1);
      assert.equal(await search('params.`p = \'1\' or 1=1 --` = "x"'), 0, 'a hostile key is just a key');
      assert.equal(await search('metrics."acc; delete from tracking_run" > 0'), 0);
      assert.equal(await search(`attributes.run_name = "o'brien"`), 1);
      assert.equal(await search(`attributes.run_name LIKE "%' or '1'='1"`), 0);
      const expSearch = await api.ok('POST', '/experiments/search', { filter: `name = 'injection'' OR ''1''=''1'` }).catch(() => ({ experiments: [] }));
      assert.equal(expSearch.experiments.length, 0);
      const order = await api.post('/runs/search', { experiment_ids: [exp], order_by: ['attributes.run_id; drop table tracking_run'] });
      assert.equal(order.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal((await api.ok('GET', '/runs/get', { run_id: run.info.run_id })).run.info.run_name, "o'brien", 'every table is still there');
    });

    test('get-history-bulk-interval samples steps across runs; get-history-bulk returns whole histories', { skip: reason }, async () => {
      const exp = await newExperiment('bulk');
      const a = (await newRun(exp)).info.run_id;
      const b = (await newRun(exp)).info.run_id;
      await api.ok('POST', '/runs/log-batch', { run_id: a, metrics: Array.from({ length: 100 }, (_, i) => ({ key: 'm', value: i, timestamp: i, step: i })) });
      await api.ok('POST', '/runs/log-batch', { run_id: b, metrics: [{ key: 'm', value: 7, timestamp: 1, step: 5 }] });
      const all = await api.ok('GET', '/metrics/get-history-bulk-interval', { run_ids: [a, b], metric_key: 'm' });
      assert.equal(all.metrics.filter((m: { run_id: string }) => m.run_id === a).length, 100);
      assert.deepEqual(all.metrics.filter((m: { run_id: string }) => m.run_id === b), [{ key: 'm', value: 7, timestamp: 1, step: 5, run_id: b }]);
      const sampled = await api.ok('GET', '/metrics/get-history-bulk-interval', { run_ids: a, metric_key: 'm', max_results: 10 });
      const steps = sampled.metrics.map((m: { step: number }) => m.step);
      assert.deepEqual(steps, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99]);
      const ranged = await api.ok('GET', '/metrics/get-history-bulk-interval', { run_ids: a, metric_key: 'm', start_step: 10, end_step: 14 });
      assert.deepEqual(ranged.metrics.map((m: { step: number }) => m.step), [10, 11, 12, 13, 14]);
      const half = await api.get('/metrics/get-history-bulk-interval', { run_ids: a, metric_key: 'm', start_step: 3 });
      assert.equal(half.body.error_code, 'INVALID_PARAMETER_VALUE');
      const bulk = await api.ok('GET', '/metrics/get-history-bulk', { run_id: [a, b], metric_key: 'm' });
      assert.equal(bulk.metrics.length, 101);
    });

    test('artifacts: proxy upload, list, download, delete; run listing; raw bodies of any type', { skip: reason }, async () => {
      const exp = await newExperiment('artifacts');
      const run = (await newRun(exp)).info;
      const root = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/${run.run_id}/artifacts`;
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      const uploads: [string, string | Buffer, string | undefined][] = [
        ['model/MLmodel', 'flavors: {}\n', 'text/plain'],
        ['model/model.onnx', big, 'application/octet-stream'],
        ['metrics.json', '{"not": "parsed"}', 'application/json'],
        ['notes', 'no content type', undefined],
      ];
      for (const [path, body, type] of uploads) {
        const res = await fetch(`${root}/${path}`, { method: 'PUT', body, headers: type ? { 'content-type': type } : {} });
        assert.equal(res.status, 200, path);
        assert.deepEqual(await res.json(), {});
      }
      const listed = await api.ok('GET', '/artifacts/list', { run_id: run.run_id });
      assert.equal(listed.root_uri, run.artifact_uri);
      assert.deepEqual(listed.files, [
        { path: 'metrics.json', is_dir: false, file_size: 17 },
        { path: 'model', is_dir: true },
        { path: 'notes', is_dir: false, file_size: 15 },
      ]);
      assert.deepEqual((await api.ok('GET', '/artifacts/list', { run_id: run.run_id, path: 'model' })).files, [
        { path: 'model/MLmodel', is_dir: false, file_size: 12 },
        { path: 'model/model.onnx', is_dir: false, file_size: big.length },
      ]);
      const proxyList: any = await (await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${exp}/${run.run_id}/artifacts/model`)).json();
      assert.deepEqual(proxyList.files.map((f: { path: string }) => f.path), ['MLmodel', 'model.onnx']);

      const down = await fetch(`${root}/model/model.onnx`);
      assert.equal(down.status, 200);
      assert.equal(down.headers.get('x-content-type-options'), 'nosniff');
      assert.match(down.headers.get('content-disposition') ?? '', /attachment; filename="model.onnx"/);
      assert.ok(Buffer.from(await down.arrayBuffer()).equals(big));
      const json = await fetch(`${root}/metrics.json`);
      assert.equal(await json.text(), '{"not": "parsed"}');
      const legacy = await fetch(`${server.url}/get-artifact?run_id=${run.run_id}&path=notes`);
      assert.equal(await legacy.text(), 'no content type');

      const ui = await fetch(`${server.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run.run_id}&path=ui/plot.png`, { method: 'POST', body: Buffer.from([137, 80, 78, 71]), headers: { 'content-type': 'image/png' } });
      assert.equal(ui.status, 200);
      assert.equal((await fetch(`${root}/ui/plot.png`)).headers.get('content-type'), 'image/png');

      assert.equal((await fetch(`${root}/metrics.json`, { method: 'DELETE' })).status, 200);
      const gone = await fetch(`${root}/metrics.json`);
      assert.equal(gone.status, 404);
      assert.equal(((await gone.json()) as { error_code: string }).error_code, 'RESOURCE_DOES_NOT_EXIST');
      const escape = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${exp}/${run.run_id}/artifacts/..%2F..%2Fsecret`, { method: 'PUT', body: 'x' });
      assert.equal(escape.status, 400);
      assert.equal((await api.get('/artifacts/list', { run_id: 'nope' })).status, 404);
    });

    test('the ajax-api prefix serves the same API', { skip: reason }, async () => {
      const ajax = mlflowCaller(server.url, '/ajax-api/2.0/mlflow');
      const id = (await ajax.ok('POST', '/experiments/create', { name: 'ajax' })).experiment_id;
      assert.equal((await api.ok('GET', '/experiments/get', { experiment_id: id })).experiment.name, 'ajax');
      const missing = await ajax.get('/runs/get', { run_id: 'nope' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    });
  });
}

contract(
  'SQLite',
  async () => ({ uri: undefined, cleanup: async () => {} }),
  async () => false,
);

contract(
  'PostgreSQL',
  async () => {
    const { uri, schema } = freshPostgresUri();
    return { uri, cleanup: () => dropSchema(schema) };
  },
  postgresSkip,
);
