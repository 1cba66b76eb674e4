/**
 * The web UI in headless Chromium against a real server filled by the quickstart's stages: every
 * page loads without console errors or failed requests, shows the data the stages left (names,
 * counts, values), and its main action works.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ModelportClient } from '../../src/client/index.js';
import { stages, type StoryContext } from '../../src/quickstart/story.js';
import { loansFile } from '../../src/quickstart/demo.js';
import type { RunningServer } from '../../src/server/serve.js';
import { tempDir } from '../helpers/services.js';
import { openBrowser, pageVisits, screenshotDir, uiContext, uiServer, watchProblems, type PageProblems } from '../helpers/browser.js';

describe('web UI', { timeout: 600_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  const facts: Record<string, string | number> = {};
  const shots = screenshotDir('ui');

  before(async () => {
    server = await uiServer();
    const ctx: StoryContext = { server, client: new ModelportClient(server.url), say: () => {}, facts, outDir: tempDir('ui-reports'), state: {} };
    for (const stage of stages) await stage.run(ctx);
    // The approver: the registry refuses an approval from the user who asked for it.
    ({ browser, page, problems } = await openBrowser({ 'modelport.user': 'bob' }));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const { open, done } = pageVisits(() => server.url, () => page, () => problems, shots);

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
    const runId = String(facts['best run']);
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
    const requested = await fetch(`${server.url}/api/v1/approvals`, {
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
    const version = (await (await fetch(`${server.url}/api/v1/registry/models/loan-default/versions/1`)).json()) as { stage: string };
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

    const meta = (await (await fetch(`${server.url}/v2/models/loan-default`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
    // The deployment looks its customer features up: requests carry customer_id instead.
    const served = new Set(['avg_balance_30d', 'num_late_payments_90d', 'utilization']);
    const inputs = meta.inputs.filter((i) => !served.has(i.name)).map((i) => ({ name: i.name, datatype: i.datatype, shape: [1], data: [0] }));
    const body = JSON.stringify({ inputs: [{ name: 'customer_id', datatype: 'INT64', shape: [1], data: [10022] }, ...inputs] });
    let sending = true;
    const traffic = (async () => {
      while (sending) {
        const res = await fetch(`${server.url}/v2/models/loan-default/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
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
    const requested = await fetch(`${server.url}/api/v1/approvals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-modelport-user': 'alice' },
      body: JSON.stringify({ name: 'loan-default', version: 1, alias: 'challenger' }),
    });
    assert.equal(requested.status, 201);
    const context = await uiContext(browser);
    const anonymous = await context.newPage();
    const seen = watchProblems(anonymous);
    try {
      await anonymous.goto(`${server.url}/models/loan-default`);
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
      const version = (await (await fetch(`${server.url}/api/v1/registry/models/loan-default/versions/1`)).json()) as { aliases: string[] };
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
