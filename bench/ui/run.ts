/**
 * The web UI in headless Chromium: time to first render of the experiments page with 10,000
 * runs and of a run page with a 100,000-point metric curve (downsampled by the server with LTTB),
 * against the 1 s target; beside the chart, the limit a UI without downsampling starts from:
 * fetching the raw history. JavaScript shipped per page, gzipped, against the 300 KiB budget of
 * the initial bundle.
 *
 *   node --import tsx bench/ui/run.ts [--runs 10000] [--points 100000] [--repeat 5]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { testServer } from '../../test/helpers/platform.js';
import { buildUi, launchChromium, uiContext } from '../../test/helpers/browser.js';
import { machine, median, table, writeResults } from '../report.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const RUNS = arg('runs', 10_000);
const POINTS = arg('points', 100_000);
const REPEAT = arg('repeat', 5);
const TARGET_MS = 1000;
const BUDGET_KIB = 300;

const uiDir = await buildUi();
const server = await testServer({}, undefined, { uiDir });
const tracking = server.platform.services.tracking;

console.log(`filling: ${RUNS} runs, one of them with a ${POINTS}-point curve`);
const experimentId = await tracking.createExperiment({ name: 'bench-ui' });
const t0 = Date.now();
for (let i = 0; i < RUNS; i++) {
  const run = await tracking.createRun({ experiment_id: experimentId, run_name: `run-${i}` });
  await tracking.logBatch(run.info.run_id, {
    params: [
      { key: 'lr', value: String(10 ** -(1 + (i % 4))) },
      { key: 'depth', value: String(2 + (i % 7)) },
    ],
    metrics: ['auc', 'loss', 'accuracy'].map((key, k) => ({ key, value: Math.sin(i + k) / 2 + 0.5, step: 0, timestamp: t0 + i })),
  });
  if ((i + 1) % 2000 === 0) console.log(`  ${i + 1} runs`);
}
const curve = await tracking.createRun({ experiment_id: experimentId, run_name: 'long-curve' });
const curveId = curve.info.run_id;
for (let from = 0; from < POINTS; from += 1000) {
  const metrics = Array.from({ length: Math.min(1000, POINTS - from) }, (_, j) => {
    const step = from + j;
    return { key: 'loss', value: Math.exp(-step / (POINTS / 5)) + 0.05 * Math.sin(step / 50), step, timestamp: t0 + step };
  });
  await tracking.logBatch(curveId, { metrics });
}

const browser = await launchChromium();
const assets = new Set<string>();

/**
 * Milliseconds from navigation to the app's shell on screen, then to each condition, by the
 * page's own clock: a script checks every frame from before the app runs. Asking from here
 * would also count this process's event loop, which the server in it holds while it answers a
 * large search.
 */
async function firstRender(path: string, conditions: string[]): Promise<number[]> {
  const all = ["document.querySelector('.topbar') !== null", ...conditions];
  const context = await uiContext(browser);
  await context.addInitScript({
    content: `(() => {
      const checks = [${all.map((c) => `() => ${c}`).join(', ')}];
      const seen = (window.__firstSeen = checks.map(() => null));
      const frame = () => {
        checks.forEach((check, i) => { if (seen[i] === null && check()) seen[i] = performance.now(); });
        if (seen.includes(null)) requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    })();`,
  });
  const page: Page = await context.newPage();
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (url.pathname.startsWith('/assets/')) assets.add(`${path.split('/')[1]}\u0000${url.pathname}`);
  });
  await page.goto(`${server.url}${path}`);
  await page.waitForFunction('!window.__firstSeen.includes(null)', undefined, { timeout: 300_000 });
  const times = (await page.evaluate('window.__firstSeen')) as number[];
  await context.close();
  return times;
}

const loadAverage = () => os.loadavg().map((x) => x.toFixed(1)).join(' / ');
const loadBefore = loadAverage();
const experiments: number[] = [];
const allRuns: number[] = [];
const chart: number[] = [];
const shell: number[] = [];
const raw: number[] = [];
for (let i = 0; i < REPEAT; i++) {
  const [tableShell, rowsShown, loaded] = await firstRender(`/experiments/${experimentId}`, [
    "document.querySelectorAll('[role=grid] [role=row]').length > 10",
    `document.querySelector('[data-testid=run-count]')?.textContent === '${RUNS + 1} runs'`,
  ]);
  const [plotShell, drawn] = await firstRender(`/runs/${curveId}`, ["document.querySelector('[data-testid=chart] canvas') !== null"]);
  experiments.push(rowsShown);
  allRuns.push(loaded);
  chart.push(drawn);
  shell.push(tableShell, plotShell);
  const t = performance.now();
  const res = await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${curveId}&metric_key=loss`);
  const body = (await res.json()) as { metrics: unknown[] };
  if (body.metrics.length !== POINTS) throw new Error(`raw history has ${body.metrics.length} points, not ${POINTS}`);
  raw.push(performance.now() - t);
}
// The other sections' list pages, for the JavaScript each one ships (they render on an empty store too).
for (const path of ['/datasets', '/features', '/pipelines', '/models', '/deployments', '/monitoring']) await firstRender(path, ["document.querySelector('main h1') !== null"]);
const loadAfter = loadAverage();
await browser.close();
await server.close();

const gzipKiB = (file: string) => gzipSync(readFileSync(join(uiDir, file)), { level: 9 }).length / 1024;
const index = readFileSync(join(uiDir, 'index.html'), 'utf8');
const initial = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const initialKiB = initial.reduce((n, f) => n + gzipKiB(f), 0);
const perPage = new Map<string, number>();
for (const entry of assets) {
  const [page, file] = entry.split('\u0000');
  if (file.endsWith('.js')) perPage.set(page, (perPage.get(page) ?? 0) + gzipKiB(file));
}

const rows = [
  [`experiments page, ${RUNS + 1} runs: first rows on screen`, median(experiments).toFixed(0), `${(median(experiments) / TARGET_MS).toFixed(2)} of the 1 s target`],
  [`experiments page: all ${RUNS + 1} runs loaded (sortable, scrollable)`, median(allRuns).toFixed(0), ''],
  [`run page, ${POINTS}-point curve (LTTB to 2,000): first chart`, median(chart).toFixed(0), `${(median(chart) / TARGET_MS).toFixed(2)} of the 1 s target`],
  ['limit: the app shell (navigation bar) on screen, same loads', median(shell).toFixed(0), ''],
  [`limit without downsampling: fetch the raw ${POINTS}-point history`, median(raw).toFixed(0), `chart ${(median(chart) / median(raw)).toFixed(2)}× the raw fetch alone`],
];
const md = `## Web UI (bench/ui)

${machine()}. Load average (1 / 5 / 15 min) ${loadBefore} before the loads and ${loadAfter} after them. Headless Chromium at 1280×900, median of ${REPEAT} loads each, from navigation to the rows or the chart on screen, by the page's clock.

${table(['what', 'ms (median)', 'vs target or limit'], rows)}

JavaScript shipped, gzipped: initial bundle (index.html's script and style) ${initialKiB.toFixed(1)} KiB, ${(initialKiB / BUDGET_KIB).toFixed(2)} of the ${BUDGET_KIB} KiB budget.

${table(['page', 'JS gzip KiB (initial + page chunks)'], [...perPage].map(([page, kib]) => [`/${page}`, kib.toFixed(1)]))}
`;
console.log(md);
writeResults('ui', md);
