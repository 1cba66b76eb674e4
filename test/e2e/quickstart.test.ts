/**
 * `modelport quickstart --no-serve` on a fresh folder, then a server on the same folder, checked
 * through the REST API as a client would: every stage left consistent state behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/serve.js';
import { ModelportClient, TrackingClient, RegistryClient, DatasetsClient, ServingClient, MonitoringClient } from '../../src/client/index.js';
import { loansFile } from '../../src/quickstart/demo.js';

test('the quickstart story leaves a consistent dataset, experiment, model, deployment, alerts and report', async () => {
  const data = join(tempDir('quickstart'), 'data');
  const run = await runCli(['quickstart', '--data', data, '--no-serve'], {}, 280_000);
  assert.equal(run.code, 0, run.stderr);
  for (let stage = 1; stage <= 5; stage++) assert.match(run.stdout, new RegExp(`\\[${stage}/5\\] `));
  assert.match(run.stdout, /loans_corrupted\.csv: REJECTED with 4 anomalies/);
  assert.match(run.stdout, /quickstart finished in/);

  const server = await startServer(loadConfig({ data, port: 0, logLevel: 'silent' }, {}), { logger: false });
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

    const tracking = new TrackingClient(client);
    const experiment = await tracking.getExperimentByName('loan-default');
    const { runs } = await tracking.searchRuns({ experiment_ids: [experiment.experiment_id], order_by: ['metrics.val_auc DESC'] });
    assert.equal(runs.length, 4);
    assert.ok(runs.every((r) => r.info.status === 'FINISHED'));
    const best = runs[0];
    assert.equal(best.info.run_name, 'xgb-d4-eta0.05');
    const auc = best.data.metrics.find((m) => m.key === 'val_auc');
    assert.ok(auc && Math.abs(auc.value - 0.8082) < 1e-4, `best run's validation AUC is the trained one (${auc?.value})`);
    const curve = await tracking.getMetricHistory(best.info.run_id, 'validation-auc');
    assert.ok(curve.length > 100, 'the training curve is logged round by round');
    assert.equal(best.inputs.dataset_inputs[0]?.dataset.name, 'loans');
    const artifacts = await tracking.listArtifacts(best.info.run_id, 'model');
    assert.deepEqual(artifacts.map((f) => f.path).sort(), ['model/MLmodel', 'model/input_example.json', 'model/model.json']);

    const registry = new RegistryClient(client);
    const champion = await registry.getVersion('loan-default', 'champion');
    assert.equal(champion.version, 1);
    assert.equal(champion.runId ?? (champion as { run_id?: string }).run_id, best.info.run_id);
    const lineage = await registry.lineage('loan-default', 1);
    const kinds = new Set(lineage.nodes.map((n) => n.kind));
    assert.ok(kinds.has('run') && kinds.has('dataset'), `lineage reaches the run and the dataset (${[...kinds]})`);

    const deployment = await new ServingClient(client).get('loan-default');
    assert.equal(deployment.variants[0].alias, 'champion');

    const monitoring = new MonitoringClient(client);
    const firing = await monitoring.alerts({ deployment: 'loan-default', state: 'firing' });
    assert.deepEqual(firing.map((a) => a.kind).sort(), ['concept_drift', 'drift', 'performance']);
    const drift = firing.find((a) => a.kind === 'drift')!;
    assert.ok(drift.checkId);
    const html = await monitoring.report(drift.checkId!);
    assert.match(html, /<svg/);
    const reportPath = join(data, 'reports', 'drift-report.html');
    assert.ok(existsSync(reportPath));
    assert.equal(readFileSync(reportPath, 'utf8'), html);
    const predictions = await monitoring.predictions({ deployment: 'loan-default', limit: 10 });
    assert.equal(predictions.length, 10);
  } finally {
    await server.close();
  }
});
