import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ModelportClient } from '../../src/client/client.js';
import { TrackingClient } from '../../src/client/tracking.js';
import { RegistryClient } from '../../src/client/registry.js';
import { ClientTrainingTracker, runStudy, trainFile } from '../../src/client/training.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batch } from '../../src/models/batch.js';
import { loadModel } from '../../src/models/index.js';
import { predictMargins } from '../../src/training/gbdt/export.js';
import { readTable } from '../../src/data/read-table.js';
import { encodeFeatures } from '../../src/training/prepare.js';
import { parseSpace } from '../../src/training/search/space.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';
import { FIXTURES } from './helpers.js';

const TRAIN = `${FIXTURES}breast_cancer_train.csv`;
const TEST = `${FIXTURES}breast_cancer_test.csv`;

describe('training tracked and registered through the SDK against a real server', () => {
  let server: RunningServer;
  let client: ModelportClient;
  let tracker: ClientTrainingTracker;

  before(async () => {
    server = await testServer();
    client = new ModelportClient(server.url);
    tracker = new ClientTrainingTracker(client, { url: server.url });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test('a GBDT run holds its parameters, its curve round by round and its metrics; the registered version serves its predictions', async () => {
    const result = await trainFile(
      { file: TRAIN, target: 'target', valid: TEST, params: { max_depth: 3, n_estimators: 30, eval_metric: 'logloss,auc' }, experiment: 'bc', register: 'bc-gbdt', dataset: 'breast-cancer' },
      tracker,
    );
    const tracking = new TrackingClient(client);
    const run = await tracking.getRun(result.runId!);
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    assert.equal(params.max_depth, '3');
    assert.equal(params.eta, '0.3');
    assert.equal(params.eval_metric, 'logloss,auc');
    const curve = await tracking.getMetricHistory(result.runId!, 'validation-auc');
    assert.equal(curve.length, 30);
    assert.deepEqual(curve.map((m) => Number(m.step)).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(Number(curve.find((m) => Number(m.step) === 29)!.value), result.fitted.curve.validation.auc[29]);
    assert.equal((await tracking.getMetricHistory(result.runId!, 'train-logloss')).length, 30);
    const val = run.data.metrics.find((m) => m.key === 'val_roc_auc');
    assert.ok(val && Number(val.value) > 0.95);
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(run.inputs.dataset_inputs[0]?.dataset.name, 'breast-cancer');

    const registry = new RegistryClient(client);
    const version = await registry.getVersion('bc-gbdt', result.modelVersion!);
    assert.equal(version.flavor, 'xgboost');
    assert.equal(version.runId, result.runId);
    assert.equal(version.tags.training_dataset, 'breast-cancer@1');
    // The signature is MLflow's: inputs as a JSON string of named columns, in the model's feature order.
    const inputs = JSON.parse((version.signature as { inputs: string }).inputs) as { name: string }[];
    assert.deepEqual(inputs.map((i) => i.name), result.encoding.featureNames);

    const table = await readTable(TEST);
    const x = encodeFeatures(table, result.encoding);
    const want = predictMargins(result.fitted.gbdt!, x);
    const dir = mkdtempSync(join(tmpdir(), 'mp-reg-'));
    const files = await tracking.listArtifacts(result.runId!, 'model');
    assert.deepEqual(files.map((f) => f.path).sort(), ['model/encoding.json', 'model/model.json']);
    writeFileSync(join(dir, 'model.json'), await tracking.downloadArtifact(result.runId!, 'model/model.json'));
    const predictor = await loadModel(join(dir, 'model.json'), { threads: 0 });
    try {
      const batch = Batch.from(x.featureNames.map((name, f) => [name, { dtype: 'float32', shape: [], data: Float32Array.from({ length: x.rows }, (_, r) => x.x[r * x.numFeature + f]) }] as const), x.rows);
      const margin = (await predictor.predict(batch)).columns.get('margin')!.data as Float32Array;
      assert.deepEqual(Array.from(margin), Array.from(want));
    } finally {
      await predictor.close();
    }
  });

  test('a linear model registers as ONNX', async () => {
    const result = await trainFile({ file: TRAIN, target: 'target', model: 'linear', validFraction: 0.25, params: { C: 0.5 }, register: 'bc-linear' }, tracker);
    const version = await new RegistryClient(client).getVersion('bc-linear', result.modelVersion!);
    assert.equal(version.flavor, 'onnx');
    assert.ok(result.metrics.val_roc_auc > 0.95);
  });

  test('a study nests every trial under its run, registers the best, and resumes after a process died mid-trial', async () => {
    const space = parseSpace({ eta: { type: 'float', low: 0.05, high: 0.5, log: true }, max_depth: { type: 'int', low: 1, high: 4 } });
    const first = await runStudy(
      { file: TRAIN, target: 'target', valid: TEST, params: { n_estimators: 20 }, space, trials: 6, parallel: 2, experiment: 'bc-tune', study: 'bc', register: 'bc-best', seed: 3 },
      tracker,
    );
    assert.equal(first.trials.length, 6);
    assert.equal(first.resumed, 0);
    assert.ok(first.trials.every((t) => t.state === 'COMPLETE' || t.state === 'PRUNED'));
    const completes = first.trials.filter((t) => t.state === 'COMPLETE');
    assert.equal(first.best!.value, Math.max(...completes.map((t) => t.value!)));
    const children = await tracker.childRuns(first.parentRunId!);
    assert.equal(children.length, 6);
    const bestRun = children.find((c) => c.runId === first.bestRunId)!;
    assert.equal(bestRun.metrics.val_roc_auc, first.best!.value);
    assert.equal(JSON.parse(bestRun.tags.modelport_trial_params).max_depth, first.best!.params.max_depth);
    const parent = await tracker.getRun(first.parentRunId!);
    assert.equal(parent.tags.best_run_id, first.bestRunId);
    assert.equal(parent.metrics.best_val_roc_auc, first.best!.value);
    const version = await new RegistryClient(client).getVersion('bc-best', first.modelVersion!);
    assert.equal(version.flavor, 'xgboost');

    // A process killed mid-trial leaves a RUNNING child behind.
    const orphan = await tracker.startRun({ experiment: 'bc-tune', name: 'trial-6', parentRunId: first.parentRunId, tags: { modelport_trial: '6', modelport_trial_params: JSON.stringify({ eta: 0.1, max_depth: 2 }) } });
    const second = await runStudy({ file: TRAIN, target: 'target', valid: TEST, params: { n_estimators: 20 }, space, trials: 2, experiment: 'bc-tune', study: 'bc', seed: 3 }, tracker);
    assert.equal(second.parentRunId, first.parentRunId);
    assert.equal(second.resumed, 7);
    assert.equal(second.trials.length, 9);
    assert.equal(second.trials.find((t) => t.number === 6)!.state, 'FAIL');
    assert.equal((await tracker.getRun(orphan)).status, 'FAILED');
    assert.deepEqual(second.trials.slice(7).map((t) => t.number), [7, 8]);
    // Resumed trials keep their curves, which the median pruner reads.
    assert.equal(second.trials.find((t) => t.number === 0)!.intermediate.size > 0, true);
    assert.equal((await tracker.childRuns(first.parentRunId!)).length, 9);
  });
});
