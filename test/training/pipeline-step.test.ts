/**
 * The built-in `train` and `rollout` pipeline steps on the loans fixture: the trainer's model is
 * registered with lineage and its curve tracked on the step's run, and the next version goes out
 * as a canary of the deployment that serves the first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../../src/platform.js';
import type { StepContext } from '../../src/pipelines/context.js';
import type { PipelineSpec } from '../../src/pipelines/index.js';
import type { Encoding } from '../../src/training/prepare.js';
import { trainStep } from '../../src/training/pipeline-step.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

const LOANS = fileURLToPath(new URL('../fixtures/loans/loans.csv', import.meta.url));
const DROP = ['loan_id', 'customer_id', 'event_timestamp', 'home_ownership', 'purpose'];

let platform: Platform;
before(async () => {
  platform = await testPlatform({ data: tempDir('mpdata') });
  const file = join(tempDir('loans'), 'loans.csv');
  writeFileSync(file, `${readFileSync(LOANS, 'utf8').split('\n').slice(0, 3001).join('\n')}\n`);
  await platform.services.datasets.register('loans', file);
});
after(() => platform.close());

const pipeline = (name: string, depth: number, rollout: boolean): PipelineSpec => ({
  name,
  steps: [
    { name: 'load', uses: 'dataset.load', with: { dataset: 'loans' } },
    { name: 'split', uses: 'split', inputs: ['load/data.csv'], with: { method: 'time', column: 'event_timestamp', testFraction: 0.2 } },
    { name: 'train', uses: 'train', inputs: ['split/train.csv'], with: { target: 'defaulted', drop: DROP, params: { n_estimators: 30, max_depth: depth } } },
    { name: 'register', uses: 'model.register', needs: ['train', 'load'], with: { model: 'loans-gbdt', from: 'train', path: 'model', flavor: 'xgboost', ...(rollout ? {} : { alias: 'champion' }) } },
    ...(rollout ? [{ name: 'rollout', uses: 'rollout', needs: ['register'], with: { deployment: 'loans', steps: [25, 100], minStepSeconds: 0, minRequests: 10, gates: { p99SlackMs: 100 } } }] : []),
  ],
});

test('train writes an XGBoost model the registry serves, with metrics and a tracked curve', async () => {
  const pipelines = platform.services.pipelines;
  const run = await pipelines.wait((await pipelines.startRun({ spec: pipeline('train-loans', 3, false) })).id, 50);
  assert.equal(run.status, 'succeeded', JSON.stringify(run.steps.map((s) => [s.name, s.status, s.error])));
  const train = run.steps.find((s) => s.name === 'train')!;
  assert.ok(train.metrics.val_roc_auc > 0.6 && train.metrics.val_roc_auc < 1, `validation AUC ${train.metrics.val_roc_auc}`);
  const { metrics: curve } = await platform.services.tracking.getMetricHistory(train.trackingRunId!, 'validation-logloss');
  assert.equal(curve.length, 30, 'one point per boosting round');
  const params = (await platform.services.tracking.getRun(train.trackingRunId!)).data.params;
  assert.equal(params.find((p) => p.key === 'max_depth')?.value, '3');
  const version = await platform.services.registry.getVersionByAlias('loans-gbdt', 'champion');
  assert.equal(version.flavor, 'xgboost');
  const predictor = await platform.services.registry.loadVersion('loans-gbdt', 'champion');
  try {
    assert.deepEqual(predictor.signature.inputs.map((i) => i.name), ['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years']);
  } finally {
    await predictor.close();
  }
});

test('rollout starts a canary of the version the run registered; bad options name the field', async () => {
  const { serving, pipelines, rollouts } = platform.services;
  await serving.create({ name: 'loans', model: 'loans-gbdt', alias: 'champion' });
  const run = await pipelines.wait((await pipelines.startRun({ spec: pipeline('retrain-loans', 4, true) })).id, 50);
  assert.equal(run.status, 'succeeded', JSON.stringify(run.steps.map((s) => [s.name, s.status, s.error])));
  const rollout = await rollouts.status('loans');
  assert.equal(rollout.state, 'running');
  assert.equal(rollout.version, 2);
  assert.deepEqual(rollout.steps, [25, 100]);
  assert.match(rollout.events[0].what, /^started by pipeline retrain-loans/);
  const d = await serving.get('loans');
  assert.deepEqual(d.variants.map((v) => [v.name, v.weight]).sort(), [['canary', 25], [d.variants.find((v) => v.name !== 'canary')!.name, 75]].sort());
  await rollouts.abort('loans');

  const bad = pipeline('bad-gates', 4, true);
  bad.steps[4].with = { deployment: 'loans', gates: { maxErrors: 1 } };
  const failed = await pipelines.wait((await pipelines.startRun({ spec: bad })).id, 50);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error!, /step rollout: .*with\.gates\.maxErrors is not a gate/);
});

test('the train step codes text columns as `modelport train` does: categories for a GBDT, one-hot with with.text', async () => {
  const input = tempDir('train-text-in');
  writeFileSync(join(input, 'train.csv'), `${readFileSync(LOANS, 'utf8').split('\n').slice(0, 1001).join('\n')}\n`);
  const encodingOf = async (extra: Record<string, unknown>): Promise<Encoding> => {
    const outputDir = tempDir('train-text-out');
    const ctx = { runId: 'r', pipeline: 'p', step: 'train', params: {}, with: { target: 'defaulted', drop: ['loan_id', 'customer_id', 'event_timestamp'], params: { n_estimators: 2 }, ...extra }, inputs: { split: input }, outputDir, signal: new AbortController().signal, log: () => undefined, services: platform.services } as unknown as StepContext;
    await trainStep.run(ctx);
    return JSON.parse(readFileSync(join(outputDir, 'encoding.json'), 'utf8')) as Encoding;
  };
  const coded = await encodingOf({});
  assert.deepEqual(coded.categorical.map((c) => c.column).sort(), ['home_ownership', 'purpose']);
  assert.equal(coded.oneHot.length, 0);
  const hot = await encodingOf({ text: 'one-hot' });
  assert.equal(hot.categorical.length, 0);
  assert.deepEqual(hot.oneHot.map((c) => c.column).sort(), ['home_ownership', 'purpose']);
  await assert.rejects(encodingOf({ text: 'words' }), /text: "words" is not one of/);
});
