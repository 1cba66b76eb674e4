/**
 * The web UI's pages for the later stages of a model's life, in headless Chromium against a
 * server this test fills through the REST APIs and the SDK: a deployment with two variants and
 * its A/B analysis, a canary rollout with its gates and a rollback from the revision history, a
 * pipeline run's graph with a cache hit and its logs, the feature store with its freshness, and a
 * version's global importance with its report. Each page loads with no console errors and no
 * failed requests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DatasetsClient, ExplainClient, FeaturesClient, ModelportClient, PipelinesClient, RegistryClient, SecurityClient } from '../../src/client/index.js';
import { loadFeatureFile } from '../../src/features/index.js';
import { mulberry32 } from '../../src/core/random.js';
import type { RunningServer } from '../../src/server/serve.js';
import { tempDir } from '../helpers/services.js';
import { simulatedModel } from '../serving/rollouts/helpers.js';
import { openBrowser, pageVisits, screenshotDir, uiContext, uiServer, watchProblems, type PageProblems } from '../helpers/browser.js';

const LOANS = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));

/** A regression model to explain: score = 0.1·x + region. */
function scorerModel(): string {
  const dir = tempDir('scorer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'model.mjs'),
    `export const signature = { inputs: [{ name: 'x', dtype: 'float64', shape: [] }, { name: 'region', dtype: 'float64', shape: [] }], outputs: [{ name: 'score', dtype: 'float64', shape: [] }] };
export async function predict(batch) {
  const x = batch.column('x').data;
  const region = batch.column('region').data;
  return { score: { dtype: 'float64', shape: [], data: Float64Array.from(x, (v, i) => 0.1 * v + region[i]) } };
}
`,
  );
  return dir;
}

describe('web UI: deployments, rollouts, pipelines, features and explanations', { timeout: 600_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let client: ModelportClient;
  let dataDir: string;
  const shots = screenshotDir('ui-lifecycle');
  const facts: { abOutcomes: number; materialized: number; cachedRun: string } = { abOutcomes: 0, materialized: 0, cachedRun: '' };

  const api = async <T,>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };

  /** One-row predictions x = from..to-1; the variant that answered each, by request id. */
  async function traffic(deployment: string, from: number, to: number): Promise<{ id: string; variant: string }[]> {
    const one = async (x: number) => {
      const res = await fetch(`${server.url}/v2/models/${deployment}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1], data: [x] }, { name: 'region', datatype: 'FP64', shape: [1], data: [x % 3 === 0 ? 1 : 0] }] }),
      });
      assert.equal(res.status, 200, await res.text());
      return { id: res.headers.get('x-request-id')!, variant: res.headers.get('x-modelport-variant')! };
    };
    const out: { id: string; variant: string }[] = [];
    for (let x = from; x < to; x += 25) out.push(...(await Promise.all(Array.from({ length: Math.min(25, to - x) }, (_, i) => one(x + i)))));
    return out;
  }

  before(async () => {
    server = await uiServer();
    client = new ModelportClient(server.url);

    const registry = new RegistryClient(client);
    await registry.register('sim', simulatedModel(0, 1));
    await registry.register('sim', simulatedModel(0, 2));

    // Two variants split half and half; b's users convert four times as often as a's.
    await api('POST', '/api/v1/deployments', { name: 'ab-demo', variants: [{ name: 'a', model: 'sim', version: 1, weight: 50 }, { name: 'b', model: 'sim', version: 2, weight: 50 }] });
    const sent = await traffic('ab-demo', 1, 601);
    const rnd = mulberry32(7);
    const fed = await api<{ accepted: number }>('POST', '/api/v1/feedback', { items: sent.map((s) => ({ request_id: s.id, label: rnd() < (s.variant === 'b' ? 0.4 : 0.1) ? 1 : 0 })) });
    facts.abOutcomes = fed.accepted;

    // A canary of v2 at 10% that passes its gates but must stay an hour at each step. Its latency
    // gate is lenient: on a loaded machine the canary's p99 can exceed 1.5× the primary's by chance.
    await api('POST', '/api/v1/deployments', { name: 'canary-demo', model: 'sim', version: 1 });
    await api('POST', '/api/v1/deployments/canary-demo/rollout', { version: 2, steps: [10, 50, 100], min_requests: 10, min_step_seconds: 3600, gates: { max_p99_ratio: 100 } });
    await traffic('canary-demo', 1, 301);
    for (let i = 0; ; i++) {
      const { rollout } = await api<{ rollout: { last?: { gates: unknown[] } } | null }>('GET', '/api/v1/deployments/canary-demo/rollout');
      if ((rollout?.last?.gates.length ?? 0) > 0) break;
      assert.ok(i < 100, 'the rollout controller judges the gates');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const pipelines = new PipelinesClient(client);
    const definition = {
      name: 'ui-pipeline',
      steps: [
        { name: 'extract', run: 'echo extracting; seq 1 5 > $MODELPORT_OUTPUT_DIR/rows.txt', params: [], outputs: ['rows.txt'], cache: true },
        { name: 'train', inputs: ['extract/rows.txt'], run: 'echo training on $(wc -l < $MODELPORT_INPUT_EXTRACT/rows.txt) rows' },
        { name: 'report', needs: ['train'], run: 'echo reported' },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const run = await pipelines.wait((await pipelines.run(definition)).id, undefined, 50);
      assert.equal(run.status, 'succeeded', run.error);
      facts.cachedRun = run.id;
    }
    await pipelines.save(definition);
    await api('POST', '/api/v1/pipelines/ui-pipeline/schedules', { cron: '0 3 * * *', timezone: 'Europe/Paris' });

    const features = new FeaturesClient(client);
    await features.apply(await loadFeatureFile(join(LOANS, 'features.yaml')));
    const [m] = await features.materialize({ end: '2025-09-01T00:00:00Z' });
    facts.materialized = m.written;

    await registry.register('scorer', scorerModel());
    const dir = (dataDir = tempDir('ui-lifecycle'));
    const rows = Array.from({ length: 60 }, (_, i) => `${i + 1},${(i + 1) % 3 === 0 ? 1 : 0},${0.1 * (i + 1) + ((i + 1) % 3 === 0 ? 1 : 0)}`);
    writeFileSync(join(dir, 'scores.csv'), ['x,region,target', ...rows].join('\n') + '\n');
    await new DatasetsClient(client).register('scores', join(dir, 'scores.csv'));
    await new ExplainClient(client).computeImportance('scorer', 1, { dataset: 'scores', label: 'target', rows: 20, background_size: 10, repeats: 2, seed: 1 });

    ({ browser, context, page, problems } = await openBrowser());
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const { open, done } = pageVisits(() => server.url, () => page, () => problems, shots);

  const text = (role: 'table' | 'list', name: string) => page.getByRole(role, { name }).innerText();

  test('a deployment with two variants: live traffic per variant and the A/B analysis with its intervals', async () => {
    await open('/deployments/ab-demo', 'A/B analysis');
    assert.match(await text('table', 'variants'), /a\s+sim\s+v1\s+v1\s+50%\s+ready[\s\S]*b\s+sim\s+v2\s+v2\s+50%\s+ready/);

    let sending = true;
    const background = (async () => {
      for (let x = 1000; sending; x += 25) await traffic('ab-demo', x, x + 25);
    })();
    try {
      // Requests/s is the eighth column: both variants take traffic.
      await page.waitForFunction(
        "[...document.querySelectorAll('table[aria-label=variants] tbody tr')].every((tr) => Number(tr.children[7].textContent) > 0)",
        undefined,
        { timeout: 30_000 },
      );
    } finally {
      sending = false;
      await background;
    }

    await page.getByLabel('confidence level').selectOption('0.01');
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.getByTestId('ab-results').waitFor();
    const arms = await text('table', 'ab arms');
    const counts = [...arms.matchAll(/^[ab]\s+([\d,]+)/gm)].map((m) => Number(m[1].replace(/,/g, '')));
    assert.equal(counts.length, 2, arms);
    assert.equal(counts[0] + counts[1], facts.abOutcomes, 'every labelled prediction is an outcome');
    const comparison = await text('table', 'ab comparisons');
    assert.match(comparison, /b vs a\s+\+?[\d.]+%.*\s+\[[\d.]+%, [\d.]+%\]/, 'the difference of conversion rates with its interval');
    assert.match(comparison, /99% interval/);
    assert.match(comparison, /significant/);
    const plot = page.getByRole('img', { name: 'differences with confidence intervals' });
    assert.equal(await plot.locator('circle').count(), 1);
    assert.equal(await plot.locator('.significant').count(), 1, 'the interval clears zero');
    await done('deployment-ab');
  });

  test('a canary rollout: progress, every gate against its limit, and a rollback from the revision history', async () => {
    await open('/deployments/canary-demo', 'Canary rollout');
    await page.getByTestId('ab-none').getByText('No outcomes yet').waitFor();
    assert.match(await text('list', 'rollout steps'), /10%\s+50%\s+100%/);
    assert.equal(await page.getByRole('list', { name: 'rollout steps' }).locator('[aria-current=step]').innerText(), '10%');
    assert.match(await page.getByTestId('rollout-waiting').innerText(), /Canary at 10% since .*; waiting for \d+ of 3600 s of the step/);
    const gates = await text('table', 'rollout gates');
    assert.match(gates, /error_rate\s+0%\s+\(0\/\d+\)\s+0%\s+\(0\/\d+\)\s+\+0%\s+at most \+2%\s+passed/);
    assert.match(gates, /p99_latency\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+ ms\s+at most [\d.,]+ ms\s+passed/);
    assert.match(await text('list', 'rollout events'), /started by anonymous: canary sim version 2 at 10%/);
    const revisions = await text('table', 'revisions');
    assert.match(revisions, /^2 \(current\)\s.*rollout \S+: canary at 10%\s+(primary: sim v1 90%, canary: sim v2 10%|canary: sim v2 10%, primary: sim v1 90%)/m);
    assert.match(revisions, /^1\s.*primary: sim v1 100%\s+Roll back to 1$/m);
    await done('deployment-rollout');

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.card h2 .badge', { hasText: 'paused' }).waitFor();
    assert.match(await text('list', 'rollout events'), /paused by anonymous at 10%/);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.card h2 .badge', { hasText: 'running' }).waitFor();
    assert.equal((await api<{ rollout: { state: string } | null }>('GET', '/api/v1/deployments/canary-demo/rollout')).rollout?.state, 'running');

    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    await page.getByRole('table', { name: 'revisions' }).getByText('3 (current)').waitFor();
    assert.match(await text('table', 'revisions'), /^3 \(current\)\s.*rolled back to revision 1 from the web UI\s+primary: sim v1 100%/m);
    const deployment = await api<{ revision: number; variants: { name: string; weight: number }[] }>('GET', '/api/v1/deployments/canary-demo');
    assert.equal(deployment.revision, 3);
    assert.deepEqual(deployment.variants.map((v) => [v.name, v.weight]), [['primary', 100]]);
    // The controller sees the deployment changed under the rollout and ends it; the page follows.
    await page.locator('.card h2 .badge', { hasText: 'aborted' }).waitFor({ timeout: 30_000 });
    assert.match(await text('list', 'rollout events'), /changed outside the rollout \(revision 3\)/);
    assert.equal(await page.getByRole('button', { name: 'Promote' }).count(), 0, 'an ended rollout has no actions');
    await done('deployment-rolled-back');
  });

  test('pipelines: runs, the saved pipeline and its schedule; a run’s graph with a cache hit and a step’s log', async () => {
    await open('/pipelines', 'Recent runs');
    const runs = await text('table', 'pipeline runs');
    assert.equal((runs.match(/ui-pipeline\s+succeeded\s+3 \/ 3/g) ?? []).length, 2, runs);
    assert.match(await text('table', 'pipelines'), /ui-pipeline\s+extract → train → report/);
    assert.match(await text('table', 'schedules'), /ui-pipeline\s+0 3 \* \* \*\s+Europe\/Paris/);
    await done('pipelines');

    await page.getByRole('link', { name: facts.cachedRun.slice(0, 12) }).click();
    await page.getByRole('img', { name: 'pipeline graph' }).waitFor();
    const graph = page.getByRole('img', { name: 'pipeline graph' });
    assert.equal(await graph.locator('.edge').count(), 2, 'extract → train → report');
    await graph.getByRole('button', { name: 'step extract: cached' }).waitFor();
    await graph.getByRole('button', { name: 'step report: succeeded' }).waitFor();
    assert.match(await page.getByLabel('run').innerText(), /Cache hits\s+1 of 3 steps/);
    assert.match(await text('table', 'steps'), /extract\s+cached\s+hit/);
    await graph.getByRole('button', { name: 'step train: succeeded' }).click();
    await page.getByText('Logs of train').waitFor();
    await page.getByTestId('step-log').getByText('training on 5 rows').waitFor();
    await done('pipeline-run');
  });

  test('pipelines: a saved pipeline run from its page, and a running one cancelled', async () => {
    await open('/pipelines', 'Saved pipelines');
    await page.getByRole('button', { name: 'run ui-pipeline now' }).click();
    await page.waitForURL(/\/pipelines\/runs\/[^/]+$/);
    const started = decodeURIComponent(page.url().split('/').pop()!);
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await page.getByRole('img', { name: 'pipeline graph' }).getByRole('button', { name: 'step report: succeeded' }).waitFor();
    const stored = await new PipelinesClient(client).getRun(started);
    assert.equal(stored.pipeline, 'ui-pipeline');
    assert.equal(stored.trigger, 'api');
    assert.deepEqual(problems.list, []);

    const slow = await new PipelinesClient(client).run({ name: 'ui-slow', steps: [{ name: 'wait', run: 'sleep 60' }] });
    await open(`/pipelines/runs/${slow.id}`, 'ui-slow');
    await page.getByRole('img', { name: 'pipeline graph' }).getByRole('button', { name: 'step wait: running' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.page-head .badge', { hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
    assert.equal((await new PipelinesClient(client).getRun(slow.id)).status, 'cancelled');
    await done('pipeline-cancelled');
  });

  test('features: views with their freshness, entities, sources, services and registry versions', async () => {
    await open('/features', 'Feature views');
    const views = await text('table', 'feature views');
    assert.match(views, /customer_stats\s+customer\s+customer_source\s+avg_balance_30d: float64, num_late_payments_90d: int64, utilization: float64\s+60d/);
    assert.match(views, new RegExp(`${facts.materialized.toLocaleString('en-US')}\\s+risk-team`), 'the rows written by the materialization');
    assert.doesNotMatch(views, /never materialized/);
    assert.match(await text('table', 'entities'), /customer\s+customer_id\s+A borrower/);
    assert.match(await text('table', 'on-demand views'), /loan_ratios\s+customer_stats\s+amount: float64, income: float64/);
    assert.match(await text('table', 'feature services'), /loan_scoring\s+customer_stats:utilization/);
    assert.match(await text('table', 'feature registry versions'), /^1\s/m);
    await done('features');
  });

  test('a model version: global importance as bars and permutation scores, and the explanation report', async () => {
    await open('/models/scorer/versions/1', 'Global importance');
    const bars = page.getByRole('figure', { name: 'mean absolute SHAP' });
    await bars.waitFor();
    assert.deepEqual((await bars.locator('.hbar-label').allInnerTexts()).sort(), ['region', 'x']);
    const permutation = await text('table', 'permutation importance');
    assert.match(permutation, /rmse worse by/);
    assert.match(permutation, /± std\nx\s+[\d.]+\s+[\d.]+\n/, 'x moves the score the most: it ranks first');
    const popup = context.waitForEvent('page');
    await page.getByRole('link', { name: 'explanation report' }).click();
    const report = await popup;
    await report.waitForLoadState();
    assert.match(await report.content(), /scorer/);
    await report.close();
    await done('model-version-importance');
  });

  // Last: the first token turns auth on for the rest of this server's life.
  test('with auth on, the explanation report and a dataset download carry the signed-in token', async () => {
    const { token } = await new SecurityClient(client).createToken({ name: 'ui', role: 'viewer' });
    const report = `${server.url}/api/v1/explain/models/scorer/versions/1/report`;
    assert.equal((await fetch(report)).status, 401, 'a plain link would be refused');
    const signedIn = await uiContext(browser, { 'modelport.token': token });
    try {
      const tab = await signedIn.newPage();
      const seen = watchProblems(tab);
      await tab.goto(`${server.url}/models/scorer/versions/1`);
      await tab.getByRole('link', { name: 'explanation report' }).waitFor();
      const popup = signedIn.waitForEvent('page');
      await tab.getByRole('link', { name: 'explanation report' }).click();
      const opened = await popup;
      await opened.waitForLoadState();
      assert.match(opened.url(), /^blob:/);
      assert.match(await opened.content(), /scorer/);

      await tab.goto(`${server.url}/datasets/scores`);
      const download = tab.waitForEvent('download');
      await tab.getByRole('table', { name: 'dataset versions' }).getByRole('link', { name: 'download' }).click();
      const file = await download;
      assert.equal(file.suggestedFilename(), 'scores-v1.csv');
      assert.equal(readFileSync((await file.path())!, 'utf8'), readFileSync(join(dataDir, 'scores.csv'), 'utf8'));
      assert.deepEqual(seen.list, []);
    } finally {
      await signedIn.close();
    }
  });
});
