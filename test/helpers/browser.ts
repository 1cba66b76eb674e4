/**
 * The web UI in a real browser: a fresh Vite build of ui/ into a temp folder (so tests never
 * read a stale dist/ui) and headless Chromium through playwright-core, with every console
 * error, page error, failed request and 4xx/5xx answer recorded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from './platform.js';
import { tempDir } from './services.js';

export const CHROMIUM = process.env.MODELPORT_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the UI into a new temp folder and returns it. */
export async function buildUi(): Promise<string> {
  const outDir = tempDir('ui');
  await build({ configFile: join(ROOT, 'ui', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** A test server that serves a fresh build of the UI. */
export async function uiServer(): Promise<RunningServer> {
  return testServer({}, undefined, { uiDir: await buildUi() });
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; install the Debian package chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** A fresh 1280×900 browser context; `storage` goes into localStorage before the app's code runs. */
export async function uiContext(browser: Browser, storage: Record<string, string> = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const entries = Object.entries(storage).map(([key, value]) => `localStorage.setItem(${JSON.stringify(key)}, ${JSON.stringify(value)});`);
  if (entries.length > 0) await context.addInitScript({ content: entries.join('\n') });
  return context;
}

/** Chromium with one page whose problems are recorded. */
export async function openBrowser(storage: Record<string, string> = {}): Promise<{ browser: Browser; context: BrowserContext; page: Page; problems: PageProblems }> {
  const browser = await launchChromium();
  const context = await uiContext(browser, storage);
  const page = await context.newPage();
  return { browser, context, page, problems: watchProblems(page) };
}

/** Everything that went wrong on a page since it was opened (or since `clear()`). */
export interface PageProblems {
  list: string[];
  clear(): void;
}

export function watchProblems(page: Page): PageProblems {
  const list: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') list.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => list.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A request the page itself dropped on leaving is not a failure of the server.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    list.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) list.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  return { list, clear: () => list.splice(0) };
}

/** Where screenshots go (git-ignored test output). */
export function screenshotDir(name: string): string {
  const dir = join(ROOT, 'test-output', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Page visits that check themselves: `open` goes to a path and waits for a text and an idle
 * network; `done` takes a full-page screenshot and fails on any problem recorded since `open`.
 */
export function pageVisits(baseUrl: () => string, page: () => Page, problems: () => PageProblems, shots: string) {
  return {
    async open(path: string, ready: string): Promise<void> {
      problems().clear();
      await page().goto(`${baseUrl()}${path}`);
      await page().getByText(ready, { exact: false }).first().waitFor({ timeout: 30_000 });
      await page().waitForLoadState('networkidle');
    },
    async done(name: string): Promise<void> {
      await page().evaluate('window.scrollTo(0, 0)');
      await page().screenshot({ path: join(shots, `${name}.png`), fullPage: true });
      assert.deepEqual(problems().list, [], `problems on ${name}`);
    },
  };
}
