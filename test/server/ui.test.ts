/** Serving the built web UI: pages answer index.html, hashed assets are cached and gzipped, everything else stays a JSON 404. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

let platform: Platform;
let app: FastifyInstance;
const SCRIPT = `export const rows = ${JSON.stringify(Array.from({ length: 500 }, (_, i) => `row ${i}`))};\n`;

before(async () => {
  const dir = tempDir('ui-dist');
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><head></head><div id="root"></div><script type="module" src="/assets/index-Ab12.js"></script>');
  writeFileSync(join(dir, 'pages.json'), JSON.stringify({ '/experiments/:id': ['/assets/experiments-Cd34.js', '/assets/table-Ef56.js'] }));
  writeFileSync(join(dir, 'assets', 'index-Ab12.js'), SCRIPT);
  writeFileSync(join(dir, 'secret.txt'), 'outside the assets folder');
  platform = await testPlatform();
  app = await buildApp(platform, { logger: false, uiDir: dir });
  await app.ready();
});

after(async () => {
  await app.close();
  await platform.close();
});

test('every page path answers index.html, never cached, so deep links and reloads work', async () => {
  for (const url of ['/', '/experiments', '/experiments/12', '/runs/abc', '/compare?runs=a,b', '/models/loan%20default/versions/3', '/datasets/loans', '/deployments/x', '/monitoring', '/monitors/m1']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.match(String(res.headers['content-type']), /^text\/html/, url);
    assert.equal(res.headers['cache-control'], 'no-cache', url);
    assert.match(res.body, /<div id="root">/, url);
  }
});

test("a page's index.html names the chunks of its page as modulepreload links, so they load beside the entry", async () => {
  const experiment = (await app.inject({ url: '/experiments/12' })).body;
  assert.match(experiment, /<link rel="modulepreload" crossorigin href="\/assets\/experiments-Cd34\.js"><link rel="modulepreload" crossorigin href="\/assets\/table-Ef56\.js"><\/head>/);
  assert.doesNotMatch((await app.inject({ url: '/monitoring' })).body, /modulepreload/, 'a page the build listed no chunks for gets none');
});

test('hashed assets are cached for a year and sent gzipped to clients that accept it', async () => {
  const plain = await app.inject({ url: '/assets/index-Ab12.js' });
  assert.equal(plain.statusCode, 200);
  assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body, SCRIPT);

  const zipped = await app.inject({ url: '/assets/index-Ab12.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'accept-encoding');
  assert.ok(zipped.rawPayload.length < SCRIPT.length / 3, `compressed to ${zipped.rawPayload.length} of ${SCRIPT.length} bytes`);
  assert.equal(gunzipSync(zipped.rawPayload).toString(), SCRIPT);
});

test('anything that is not a page or an asset is the JSON 404 it was before', async () => {
  for (const [method, url] of [
    ['GET', '/api/v1/nothing'],
    ['GET', '/assets/missing.js'],
    ['GET', '/assets/..%2Fsecret.txt'],
    ['GET', '/assets/../secret.txt'],
    ['GET', '/no-such-page'],
    ['POST', '/experiments'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    const body = res.json() as { error: { code: string } };
    assert.equal(body.error.code, 'NOT_FOUND', `${method} ${url}`);
    assert.doesNotMatch(res.body, /outside the assets folder/);
  }
});

test('a server whose UI is not built says how to build it', async () => {
  const bare = await buildApp(platform, { logger: false, uiDir: tempDir('no-ui') });
  try {
    const res = await bare.inject({ url: '/experiments' });
    assert.equal(res.statusCode, 404);
    assert.match((res.json() as { error: { message: string } }).error.message, /web UI is not built .*npm run build/);
    assert.equal((await bare.inject({ url: '/health' })).statusCode, 200);
  } finally {
    await bare.close();
  }
});
