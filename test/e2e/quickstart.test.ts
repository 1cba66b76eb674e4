/**
 * The main job end to end: `modelport quickstart --no-serve` on a fresh folder, then a server on
 * the same folder, with the web UI. The state every stage of the story left is checked through the
 * REST API as a client would, then page by page in headless Chromium: every page loads without
 * console errors or failed requests, shows the data the stages left (names, counts, values), and
 * its main action works. Last, a second run on that folder resets it. One story for all of it,
 * because a run of the story takes minutes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { runCli, spawnCli, waitForLine, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { buildUi, openBrowser, pageVisits, screenshotDir, uiContext, watchProblems, type PageProblems } from '../helpers/browser.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { ModelportClient, TrackingClient, RegistryClient, DatasetsClient, ServingClient, MonitoringClient, JobsClient } from '../../src/client/index.js';
import { PipelinesClient } from '../../src/client/pipelines.js';
import { FeaturesClient } from '../../src/client/features.js';
import { loansFile } from '../../src/quickstart/demo.js';

describe('the quickstart', { timeout: 1_800_000 }, () => {
  const data = join(tempDir('quickstart'), 'data');
  let run: CliResult;
  let server: RunningServer | undefined;
  let client: ModelportClient;
  let bestRun: string;

  before(async () => {
    // Minutes, not seconds: the story trains and serves, and the machine may be busy.
    run = await runCli(['quickstart', '--data', data, '--no-serve'], {}, 840_000);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    bestRun = /^ +best run: ([0-9a-f]{32})$/m.exec(run.stdout)?.[1] ?? '';
    // Every deployment loaded before the first request: the checks below read what each variant serves.
    server = await startServer(loadConfig({ data, port: 0, logLevel: 'silent' }, {}), { logger: false, loadBeforeListen: true, uiDir: await buildUi() });
    client = new ModelportClient(server.url);
  });

  after(async () => {
    await server?.close();
  });

  test('the CLI tells the story stage by stage and how to browse what it left', () => {
    for (let stage = 1; stage <= 10; stage++) assert.match(run.stdout, new RegExp(`\\[${stage}/10\\] `));
    assert.match(run.stdout, /loans_corrupted\.csv: REJECTED with 4 anomalies/);
    assert.match(run.stdout, /quickstart finished in/);
    assert.match(run.stdout, new RegExp(`data folder: ${data} \\(new\\)`));
    assert.match(run.stdout, new RegExp(`to browse it: npx modelport server --data ${data}`));
    assert.doesNotMatch(run.stdout, /API docs: http/, 'no URL of the server it stopped');
    assert.match(bestRun, /^[0-9a-f]{32}$/, 'the summary names the best run');
  });

  test('the story leaves datasets, features, a study, versions 1–3, rollouts, alerts, a pipeline run and reports', async () => {
    const server = serverOf();
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
  });

  test('a batch job scored every loan with its ids kept, and the exported edge bundle agrees with it', async () => {
    const [job] = await new JobsClient(client).list({ deployment: 'loan-default' });
    assert.equal(job.state, 'succeeded');
    assert.equal(job.rows_done, 20_000);
    assert.deepEqual(job.keep, ['loan_id', 'customer_id']);
    assert.match(job.model ?? '', /^loan-default version 2 /, 'the champion after the rollouts scored it');
    const scored = readFileSync(join(data, 'reports', 'loan-applications-scored.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(scored.length, 20_001);
    assert.equal(scored[0], 'loan_id,customer_id,margin,prediction');
    assert.match(scored[1], /^L000001,\d+,-?\d/);
    const probability = scored.slice(1).map((line) => Number(line.split(',')[3]));
    assert.ok(probability.every((p) => p > 0 && p < 1), 'every prediction is a probability');
    for (const file of ['model.onnx', 'signature.json', 'model.mjs', 'README.md']) assert.ok(existsSync(join(data, 'reports', 'edge-bundle', file)), file);
    const agreement = /largest difference from the batch job's margin: (\S+)/.exec(run.stdout)?.[1];
    assert.ok(agreement !== undefined && Number(agreement) <= 1e-5, `the bundle's margins match the batch job's (${agreement})`);
  });

  describe('web UI', () => {
    let browser: Browser;
    let page: Page;
    let problems: PageProblems;
    const shots = screenshotDir('ui');

    before(async () => {
      // The approver: the registry refuses an approval from the user who asked for it.
      ({ browser, page, problems } = await openBrowser({ 'modelport.user': 'bob' }));
    });

    after(async () => {
      await browser?.close();
    });

    const { open, done } = pageVisits(() => serverOf().url, () => page, () => problems, shots);

    const rowsOf = (label: string) => page.getByRole('grid', { name: label }).getByRole('row');

    test('the experiments list and the runs table, sorted, filtered and driven by the keyboard', async () => {
      await open('/experiments', 'loan-default');
      await page.getByRole('link', { name: 'loan-default', exact: true }).click();
      await page.getByTestId('run-count').getByText('9 runs').waitFor();
      assert.equal(await rowsOf('runs').count(), 10, 'a header row, the study run and its eight trials');

      await page.getByTitle('sort by val_roc_auc', { exact: true }).click();
      await page.getByTitle('sort by val_roc_auc', { exact: true }).click();
      const firstRun = page.getByRole('grid', { name: 'runs' }).locator('[aria-rowindex="2"]');
      assert.match(await firstRun.innerText(), /trial-1/, 'sorted by validation AUC, best first');
      assert.match(await firstRun.innerText(), /0\.83/);

      await page.getByLabel('filter runs').fill("params.max_depth = '2'");
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByTestId('run-count').getByText('2 runs').waitFor();

      await page.getByLabel('filter runs').fill('metrics.nonsense >');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('alert').waitFor();
      assert.ok(problems.list.some((p) => p.startsWith('HTTP 400: POST')), 'a bad filter is the server’s 400, shown');
      assert.ok(problems.list.every((p) => /\b400\b/.test(p)), problems.list.join('\n'));
      problems.clear();

      await page.getByLabel('filter runs').fill('');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByTestId('run-count').getByText('9 runs').waitFor();
      await page.getByRole('button', { name: /Columns/ }).click();
      await page.getByRole('menu').getByLabel('Started').uncheck();
      assert.equal(await page.getByRole('columnheader', { name: 'Started' }).count(), 0, 'the column chooser hides a column');
      await page.getByRole('button', { name: /Columns/ }).click();

      await done('experiments');
      await page.getByRole('grid', { name: 'runs' }).focus();
      await page.keyboard.press('End');
      await page.keyboard.press('Home');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
      await page.getByRole('heading', { level: 1 }).waitFor();
    });

    test('a run: parameters, metric charts, lineage, MLmodel and artifact previews', async () => {
      const runId = bestRun;
      await open(`/runs/${runId}`, 'Metric charts');
      await page.getByRole('heading', { name: 'trial-1' }).waitFor();
      const params = await page.getByRole('table', { name: 'parameters' }).innerText();
      assert.match(params, /max_depth\s+3/);
      assert.match(params, /eta\s+0\.048/);
      await page.locator('.chart canvas').first().waitFor();
      const charts = await page.getByTestId('chart').count();
      assert.ok(charts >= 2, `a chart per training curve (${charts})`);
      const points = await page.getByTestId('chart').first().getAttribute('data-points');
      assert.ok(Number(points) > 20, `the curve has its rounds (${points})`);
      await page.getByRole('link', { name: 'loans-training' }).first().waitFor();
      await page.getByRole('link', { name: 'loan-default v1' }).waitFor();
      await page.getByRole('button', { name: /model\// }).click();
      await page.getByRole('button', { name: /encoding\.json/ }).click();
      const encoding = page.getByLabel('artifact preview').getByTestId('artifact-text').filter({ hasText: 'featureNames' });
      await encoding.waitFor();
      assert.match(await encoding.innerText(), /^\{\n {2}"target": "defaulted",\n/, 'JSON is shown pretty-printed');
      await done('run');
    });

    test('comparing two runs: a metric over steps and parallel coordinates', async () => {
      await open('/experiments/1', 'runs');
      const grid = page.getByRole('grid', { name: 'runs' });
      await grid.getByLabel(/select /).nth(0).check();
      await grid.getByLabel(/select /).nth(1).check();
      await page.getByRole('button', { name: 'Compare (2)' }).click();
      await page.waitForURL(/\/compare\?runs=/);
      await page.locator('.chart canvas').waitFor();
      const legend = await page.locator('.u-legend').innerText();
      assert.equal((legend.match(/trial-/g) ?? []).length, 2, 'both runs are drawn');
      assert.equal(await page.locator('.pc polyline').count(), 2, 'a line per run in the parallel coordinates');
      const values = await page.getByRole('table', { name: 'comparison' }).innerText();
      assert.match(values, /val_roc_auc/);
      await page.getByLabel('metric over steps').selectOption('validation-auc');
      await page.locator('.uplot .u-title', { hasText: 'validation-auc' }).waitFor();
      await done('compare');
    });

    test('a model version: metrics of its run, its lineage, and an approval approved', async () => {
      const requested = await fetch(`${serverOf().url}/api/v1/approvals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-modelport-user': 'alice' },
        body: JSON.stringify({ name: 'loan-default', version: 1, stage: 'Staging', comment: 'ready for staging' }),
      });
      assert.equal(requested.status, 201);

      await open('/models', 'loan-default');
      assert.match(await page.getByRole('table', { name: 'models' }).innerText(), /@champion → v2[\s\S]*1 pending/);
      await page.getByRole('link', { name: 'loan-default' }).first().click();
      await page.getByRole('grid', { name: 'versions' }).getByText('@champion').waitFor();
      await page.getByRole('link', { name: 'v1' }).first().click();
      await page.getByRole('table', { name: 'source run metrics' }).getByText('val_roc_auc').waitFor();
      assert.match(await page.getByRole('table', { name: 'source run metrics' }).innerText(), /val_roc_auc\s+0\.83/);
      const lineage = page.getByRole('img', { name: 'lineage graph' });
      // Version 1 no longer serves (the canary promoted version 2): its lineage ends at the version.
      for (const node of ['dataset', 'run', 'model version']) await lineage.getByText(node, { exact: true }).waitFor();
      await page.waitForLoadState('networkidle');

      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('table', { name: 'approval requests' }).getByText('APPROVED').waitFor();
      assert.match(await page.getByRole('table', { name: 'approval requests' }).innerText(), /by bob/);
      await page.locator('.page-head .badge', { hasText: 'Staging' }).waitFor();
      const version = (await (await fetch(`${serverOf().url}/api/v1/registry/models/loan-default/versions/1`)).json()) as { stage: string };
      assert.equal(version.stage, 'Staging', 'the approval was applied');
      await done('model-version');
    });

    test('a dataset: versions, schema, profile histograms, and a corrupted file rejected', async () => {
      await open('/datasets', 'loans');
      assert.match(await page.getByRole('table', { name: 'datasets' }).innerText(), /loans\s+v1\s+1\s+20,000\s+13/);
      await page.getByRole('link', { name: 'loans', exact: true }).click();
      await page.locator('.profile-column').first().waitFor();
      assert.equal(await page.locator('.profile-column').count(), 13, 'a profile card per column');
      assert.ok((await page.getByRole('img', { name: 'credit_score: histogram' }).locator('rect').count()) > 5);
      await page.getByRole('tab', { name: 'Schema' }).click();
      assert.match(await page.getByRole('table', { name: 'schema' }).innerText(), /home_ownership\s+string\s+yes\s+MORTGAGE, OWN, RENT/);
      await page.getByRole('tab', { name: 'Validate a file' }).click();
      await page.getByLabel('file to validate').setInputFiles(loansFile('loans_corrupted.csv'));
      const report = page.getByTestId('validation-report');
      await report.waitFor();
      assert.match(await report.innerText(), /rejected\s+4 anomalies/);
      for (const column of ['amount', 'income', 'credit_score', 'home_ownership']) assert.match(await report.innerText(), new RegExp(column));
      await done('dataset');
    });

    test('monitoring: monitors, the alerts timeline, the drift table and a feature’s histogram', async () => {
      await open('/monitoring', 'loan-default-drift');
      assert.equal(await page.getByRole('table', { name: 'monitors' }).getByRole('row').count(), 3, 'a header and two monitors');
      const timeline = await page.getByRole('list', { name: 'alerts timeline' }).innerText();
      for (const kind of ['drift', 'performance', 'concept drift']) assert.match(timeline, new RegExp(kind));
      await done('monitoring');

      await page.getByRole('link', { name: 'loan-default-drift' }).click();
      await page.getByText('Feature drift (4 of 18 drifted)').waitFor();
      const table = await page.getByRole('table', { name: 'feature drift' }).innerText();
      assert.match(table, /interest_rate\s+wasserstein\s+\d\.\d+\s+0\.1\s+drift/);
      await page.getByRole('button', { name: 'histogram of interest_rate' }).click();
      const histogram = page.getByTestId('drift-histogram').locator('svg');
      await histogram.waitFor();
      assert.equal(await histogram.getAttribute('aria-label'), 'interest_rate: reference and current distributions');
      assert.ok((await histogram.locator('rect').count()) > 10, 'reference and current bars');
      await done('monitor-drift');

      await open('/monitoring', 'loan-default-auc');
      await page.getByRole('link', { name: 'loan-default-auc' }).click();
      await page.getByText('roc_auc over time').waitFor();
      await page.locator('.chart canvas').waitFor();
      const windows = Number(await page.getByTestId('chart').getAttribute('data-points'));
      assert.ok(windows >= 5, `the metric over several windows of the traffic (${windows})`);
      await page.waitForLoadState('networkidle');
      await done('monitor-performance');
    });

    test('deployments: variants and live traffic refreshing from /metrics', async () => {
      await open('/deployments', 'loan-default');
      assert.match(await page.getByRole('table', { name: 'deployments' }).innerText(), /loan-default\s+ready\s+loan-default v2/);
      await page.getByRole('link', { name: 'loan-default', exact: true }).click();
      assert.match(await page.getByRole('table', { name: 'variants' }).innerText(), /primary\s+loan-default\s+v2\s+v2\s+100%\s+ready/);
      assert.match(await page.getByRole('table', { name: 'latency by variant' }).innerText(), /primary\s+v2/);

      const meta = (await (await fetch(`${serverOf().url}/v2/models/loan-default`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
      // The deployment looks its customer features up: requests carry customer_id instead.
      const served = new Set(['avg_balance_30d', 'num_late_payments_90d', 'utilization']);
      const inputs = meta.inputs.filter((i) => !served.has(i.name)).map((i) => ({ name: i.name, datatype: i.datatype, shape: [1], data: [0] }));
      const body = JSON.stringify({ inputs: [{ name: 'customer_id', datatype: 'INT64', shape: [1], data: [10022] }, ...inputs] });
      let sending = true;
      const traffic = (async () => {
        while (sending) {
          const res = await fetch(`${serverOf().url}/v2/models/loan-default/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          assert.equal(res.status, 200, await res.text());
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        const stat = page.locator('.stats .stat').first();
        await page.waitForFunction("Number(document.querySelector('.stats .stat .stat-value')?.textContent) > 1", undefined, { timeout: 30_000 });
        assert.match(await stat.innerText(), /Requests\/s/);
        await page.locator('.chart canvas').first().waitFor();
      } finally {
        sending = false;
        await traffic;
      }
      await done('deployment');
    });

    test('a 401 from the server opens the sign-in dialog; the identity given there is used', async () => {
      const requested = await fetch(`${serverOf().url}/api/v1/approvals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-modelport-user': 'alice' },
        body: JSON.stringify({ name: 'loan-default', version: 1, alias: 'challenger' }),
      });
      assert.equal(requested.status, 201);
      const context = await uiContext(browser);
      const anonymous = await context.newPage();
      const seen = watchProblems(anonymous);
      try {
        await anonymous.goto(`${serverOf().url}/models/loan-default`);
        await anonymous.getByRole('button', { name: 'Approve' }).click();
        const dialog = anonymous.getByRole('form', { name: 'sign in' });
        await dialog.waitFor();
        assert.ok(seen.list.some((p) => p.startsWith('HTTP 401: POST')), seen.list.join('\n'));
        assert.ok(seen.list.every((p) => /\b401\b/.test(p)), seen.list.join('\n'));
        seen.clear();
        await dialog.getByLabel('User name').fill('carol');
        await dialog.getByRole('button', { name: 'Save' }).click();
        await anonymous.getByRole('button', { name: 'carol' }).waitFor();
        await anonymous.getByRole('button', { name: 'Approve' }).click();
        await anonymous.getByRole('table', { name: 'approval requests' }).getByText('by carol').waitFor();
        const version = (await (await fetch(`${serverOf().url}/api/v1/registry/models/loan-default/versions/1`)).json()) as { aliases: string[] };
        assert.ok(version.aliases.includes('challenger'), 'the approved alias move was applied');
        assert.deepEqual(seen.list, []);
      } finally {
        await context.close();
      }
    });

    test('a token given at sign-in is sent as a bearer token', async () => {
      await open('/datasets', 'loans');
      await page.getByRole('button', { name: 'bob' }).click();
      await page.getByLabel('API token').fill('mp-test-token');
      const sent = page.waitForRequest((r) => r.url().includes('/api/v1/datasets') && r.headers().authorization === 'Bearer mp-test-token');
      await page.getByRole('button', { name: 'Save' }).click();
      await sent;
      await page.getByRole('link', { name: 'loans', exact: true }).waitFor();
      await page.getByRole('button', { name: 'switch theme' }).click();
      await page.screenshot({ path: join(shots, 'datasets-dark.png') });
      assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
      assert.deepEqual(problems.list, []);
    });
  });

  test('a second run resets its folder; a folder the quickstart did not make is refused', async () => {
    // The server holds the folder's stores open.
    await server!.close();
    server = undefined;
    // The second run is stopped once its first stage is done on the emptied folder: the rest of
    // its story is the run above again, on the same fresh state.
    const second = spawnCli(['quickstart', '--data', data, '--no-serve']);
    try {
      await waitForLine(second, /\(reset: it held an earlier quickstart\)\n[\s\S]*\[2\/10\] /, 600_000);
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

  function serverOf(): RunningServer {
    if (!server) throw new Error('the server on the quickstart folder is not running');
    return server;
  }
});
