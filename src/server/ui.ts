/**
 * The web UI (built from ui/ by Vite into dist/ui): index.html at `/` and at every page's path,
 * so deep links and reloads work, and the hashed assets under /assets, cached for a year since
 * a changed file gets a new name. Paths that are not pages (unknown /api routes among them)
 * still reach the JSON not-found answer.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../core/errors.js';

/** Where `npm run build` puts the UI: <package>/dist/ui, from src/server or dist/server alike. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

/** The app's page paths (ui/src/routes.ts); a new page's path is added to both lists. */
export const UI_PAGES = [
  '/',
  '/experiments',
  '/experiments/:id',
  '/runs/:id',
  '/compare',
  '/models',
  '/models/:name',
  '/models/:name/versions/:version',
  '/datasets',
  '/datasets/:name',
  '/deployments',
  '/deployments/:name',
  '/monitoring',
  '/monitors/:id',
  '/pipelines',
  '/pipelines/runs/:id',
  '/features',
];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.js', '.css', '.svg', '.json']);

interface Asset {
  type: string;
  raw: Buffer;
  gzip?: Buffer;
}

export const uiRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, options) => {
  const dir = resolve(options.dir ?? DEFAULT_UI_DIR);
  const indexPath = join(dir, 'index.html');
  const built = existsSync(indexPath);
  const index = built ? readFileSync(indexPath, 'utf8') : undefined;
  // Each page's own chunks (pages.json, written by the build), named in its index.html so the
  // browser fetches them beside the entry script.
  const pagesPath = join(dir, 'pages.json');
  const preloads: Record<string, string[]> = built && existsSync(pagesPath) ? JSON.parse(readFileSync(pagesPath, 'utf8')) : {};
  const pageHtml = (url: string) => {
    const links = (preloads[url] ?? []).map((href) => `<link rel="modulepreload" crossorigin href="${href}">`).join('');
    return index && links ? index.replace('</head>', `${links}</head>`) : index;
  };
  const assetsDir = join(dir, 'assets');
  // Assets never change under their hashed names: each is read (and gzipped) once. Misses are
  // not remembered, so requests for made-up names cannot grow the cache.
  const cache = new Map<string, Asset>();

  function asset(name: string): Asset | undefined {
    const hit = cache.get(name);
    if (hit) return hit;
    const path = resolve(assetsDir, name);
    if (!path.startsWith(assetsDir + sep) || !existsSync(path) || !statSync(path).isFile()) return undefined;
    const ext = extname(path).toLowerCase();
    const raw = readFileSync(path);
    const found = { type: TYPES[ext] ?? 'application/octet-stream', raw, gzip: COMPRESSIBLE.has(ext) && raw.length > 1024 ? gzipSync(raw, { level: 9 }) : undefined };
    cache.set(name, found);
    return found;
  }

  for (const url of UI_PAGES) {
    const html = pageHtml(url);
    app.get(url, { config: { permission: 'public' }, schema: { hide: true } }, async (_request, reply) => {
      if (!html) throw notFound(`the web UI is not built in ${dir}; run \`npm run build\``);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(html);
    });
  }

  app.get('/assets/*', { config: { permission: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const found = built ? asset(name) : undefined;
    if (!found) throw notFound(`no UI asset ${name}`);
    const gzip = found.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    reply.type(found.type).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? found.gzip : found.raw);
  });
};
