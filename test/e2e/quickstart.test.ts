/**
 * `modelport quickstart --no-serve` on a fresh folder, then a server on the same folder, checked
 * through the REST API as a client would: every stage of the story left consistent state behind.
 * Then a second run on that folder resets it. One test, because a run of the story takes minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';
import { ModelportClient, TrackingClient, RegistryClient, DatasetsClient, ServingClient, MonitoringClient } from '../../src/client/index.js';
import { PipelinesClient } from '../../src/client/pipelines.js';
import { FeaturesClient } from '../../src/client/features.js';
import { loansFile } from '../../src/quickstart/demo.js';

test('the quickstart story leaves datasets, features, a study, versions 1–3, rollouts, alerts, a pipeline run and reports; a second run resets its folder', { timeout: 1_800_000 }, async () => {
  const data = join(tempDir('quickstart'), 'data');
  // Minutes, not seconds: the story trains and serves, and the machine may be busy.
  const run = await runCli(['quickstart', '--data', data, '--no-serve'], {}, 840_000);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  for (let stage = 1; stage <= 9; stage++) assert.match(run.stdout, new RegExp(`\\[${stage}/9\\] `));
  assert.match(run.stdout, /loans_corrupted\.csv: REJECTED with 4 anomalies/);
  assert.match(run.stdout, /quickstart finished in/);
  assert.match(run.stdout, new RegExp(`data folder: ${data} \\(new\\)`));
  assert.match(run.stdout, new RegExp(`to browse it: npx modelport server --data ${data}`));
  assert.doesNotMatch(run.stdout, /API docs: http/, 'no URL of the server it stopped');

  // Every deployment loaded before the first request: the checks below read what each variant serves.
  const server = await startServer(loadConfig({ data, port: 0, logLevel: 'silent' }, {}), { logger: false, loadBeforeListen: true });
  const client = new ModelportClient(server.url);
  try {
    const datasets = new DatasetsClient(client, { url: server.url });
    const loans = await datasets.get('loans');
    assert.equal(loans.versions.length, 1);
    assert.equal(loans.versions[0].rowCount, 20_000);
    const report = await datasets.validate('loans', loansFile('loans_corrupted.csv'));
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.anomalies.map((a) => `${a.kind}:${a.column}`).sort(),
      ['out_of_domain:home_ownership', 'out_of_range:amount', 'too_many_missing:income', 'type_mismatch:credit_score'],
    );
    const training = await datasets.get('loans-training');
    assert.deepEqual(training.versions.map((v) => v.rowCount).sort((a, b) => a - b), [10_000, 20_000]);

    const features = await new FeaturesClient(client).list();
    assert.deepEqual(features.definition?.feature_views?.map((v: { name: string }) => v.name), ['customer_stats']);

    const tracking = new TrackingClient(client);
    const experiment = await tracking.getExperimentByName('loan-default');
    const { runs } = await tracking.searchRuns({ experiment_ids: [experiment.experiment_id], max_results: 100 });
    const trials = runs.filter((r) => r.data.tags.some((t) => t.key === 'mlflow.parentRunId'));
    assert.equal(trials.length, 8, 'every TPE trial is a nested run');
    const complete = trials.filter((r) => r.info.status === 'FINISHED');
    assert.ok(complete.length >= 3);
    const curve = await tracking.getMetricHistory(complete[0].info.run_id, 'validation-auc');
    assert.ok(curve.length > 10, 'each trial logs its curve round by round');

    const registry = new RegistryClient(client);
    const v1 = await registry.getVersion('loan-default', '1');
    const v2 = await registry.getVersion('loan-default', '2');
    const v3 = await registry.getVersion('loan-default', '3');
    assert.equal(v1.flavor, 'xgboost');
    assert.equal(v2.flavor, 'xgboost');
    assert.equal(v3.flavor, 'js');
    assert.equal((await registry.getVersion('loan-default', 'champion')).version, 2, 'the promoted canary moved the champion alias');
    const lineage = await registry.lineage('loan-default', 1);
    const kinds = new Set(lineage.nodes.map((n) => n.kind));
    assert.ok(kinds.has('run') && kinds.has('dataset'), `lineage reaches the run and the dataset (${[...kinds]})`);

    const serving = new ServingClient(client);
    const deployment = await serving.get('loan-default');
    assert.deepEqual(deployment.variants.map((v) => v.serving_version), [2], 'version 2 serves alone after the rolled-back canary');
    const revisions = await serving.revisions('loan-default', 50);
    assert.ok(revisions.some((r) => /canary at 50%/.test(JSON.stringify(r))), 'the revision history records the canary steps');
    const [broken, promoted, ...older] = await serving.rollouts('loan-default');
    assert.equal(older.length, 0, 'two rollouts: the promoted canary, then the rolled-back one');
    assert.equal(promoted.state, 'promoted');
    assert.equal(promoted.canary.version, 2);
    assert.equal(promoted.move_alias, 'champion');
    assert.match(promoted.events.map((e) => e.what).join('\n'), /^started by pipeline retrain-loan-default .*at 50%$/m);
    assert.match(promoted.events.at(-1)!.what, /promoted; alias champion now names version 2/);
    assert.equal(broken.state, 'rolled_back');
    assert.equal(broken.canary.version, 3);
    assert.match(broken.reason ?? '', /^gate failed at 50%: error rate/);
    assert.ok(promoted.created_ms < broken.created_ms);
    const ab = await serving.ab('loan-default', { from: promoted.created_ms, to: promoted.updated_ms });
    assert.deepEqual(ab.arms.map((a) => a.variant).sort(), ['canary', 'primary']);
    assert.ok(ab.arms.every((a) => a.n > 0), 'both arms have outcomes');
    const comparison = ab.comparisons.find((c) => c.variant === 'canary')!;
    assert.ok(comparison.ci[0] <= comparison.diff && comparison.diff <= comparison.ci[1], 'the A/B difference lies in its confidence interval');

    const monitoring = new MonitoringClient(client);
    const firing = await monitoring.alerts({ deployment: 'loan-default', state: 'firing' });
    const kindsFiring = new Set(firing.map((a) => a.kind));
    assert.ok(kindsFiring.has('drift') && kindsFiring.has('performance'), [...kindsFiring].join(','));
    const drift = firing.find((a) => a.kind === 'drift')!;
    const html = await monitoring.report(drift.checkId!);
    assert.match(html, /<svg/);
    const reportPath = join(data, 'reports', 'drift-report.html');
    assert.ok(existsSync(reportPath));
    assert.equal(readFileSync(reportPath, 'utf8'), html);

    const pipelines = new PipelinesClient(client);
    const [retrain] = await pipelines.listRuns({ pipeline: 'retrain-loan-default' });
    assert.match(retrain.trigger, /^alert:/);
    assert.equal(retrain.status, 'succeeded');
    assert.deepEqual(retrain.steps.map((s) => [s.name, s.status]), ['load', 'split', 'train', 'register', 'evaluate', 'gate', 'rollout'].map((s) => [s, 'succeeded']));
    assert.equal(retrain.steps.find((s) => s.name === 'gate')!.metrics.gate_passed, 1);
    assert.equal(v2.runId ?? (v2 as { run_id?: string }).run_id, retrain.steps.find((s) => s.name === 'register')!.trackingRunId);
  } finally {
    await server.close();
  }
  // The second run is stopped once its first stage is done on the emptied folder: the rest of
  // its story is the run above again, on the same fresh state.
  const second = spawnCli(['quickstart', '--data', data, '--no-serve']);
  try {
    await waitForLine(second, /\(reset: it held an earlier quickstart\)\n[\s\S]*\[2\/9\] /, 600_000);
    assert.ok(!existsSync(join(data, 'reports', 'drift-report.html')), "the reset removed the first run's files");
  } finally {
    second.kill('SIGKILL');
  }

  const foreign = tempDir();
  writeFileSync(join(foreign, 'precious.txt'), 'keep me');
  const refused = await runCli(['quickstart', '--data', foreign, '--no-serve']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /holds data the quickstart did not make; pass --reset/);
});
