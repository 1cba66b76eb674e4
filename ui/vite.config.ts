/**
 * The web UI's build: React pages, one lazily loaded chunk per page, emitted into dist/ui where
 * the server (src/server/ui.ts) serves it. Hashed file names let the server cache them forever.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type Rollup } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Writes pages.json: for each page path of src/routes.ts, the chunks its page needs beyond the
 * entry's. The server names them as modulepreload links in that path's index.html, so a page's
 * code loads beside the entry instead of after it has run.
 */
function pagePreloads(): Plugin {
  return {
    name: 'modelport-page-preloads',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter((c): c is Rollup.OutputChunk => c.type === 'chunk');
      const closure = (names: string[], into = new Set<string>()): Set<string> => {
        for (const name of names) {
          if (into.has(name)) continue;
          into.add(name);
          closure((bundle[name] as Rollup.OutputChunk).imports, into);
        }
        return into;
      };
      const loaded = closure(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
      const routes = readFileSync(new URL('src/routes.ts', import.meta.url), 'utf8');
      const pages: Record<string, string[]> = {};
      for (const [, pattern, module] of routes.matchAll(/pattern: '([^']+)'.*import\('\.\/(pages\/[^']+)'\)/g)) {
        const chunk = chunks.find((c) => c.facadeModuleId?.endsWith(`/src/${module}.tsx`));
        if (!chunk) this.error(`no chunk for ${module} (route ${pattern})`);
        pages[pattern] = [...closure([chunk.fileName])].filter((f) => !loaded.has(f)).map((f) => `/${f}`);
      }
      this.emitFile({ type: 'asset', fileName: 'pages.json', source: `${JSON.stringify(pages, null, 1)}\n` });
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), pagePreloads()],
  build: {
    outDir: process.env.MODELPORT_UI_OUT ?? fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/ajax-api', '/get-artifact', '/metrics', '/v2'].map((p) => [p, process.env.MODELPORT_URL ?? 'http://127.0.0.1:5000']),
    ),
  },
});
