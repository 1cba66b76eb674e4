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
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir } from './services.js';

export const CHROMIUM = process.env.MODELPORT_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the UI into a new temp folder and returns it. */
export async function buildUi(): Promise<string> {
  const outDir = tempDir('ui');
  await build({ configFile: join(ROOT, 'ui', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; install the Debian package chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
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
