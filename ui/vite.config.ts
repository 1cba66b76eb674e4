/**
 * The web UI's build: React pages, one lazily loaded chunk per page, emitted into dist/ui where
 * the server (src/server/ui.ts) serves it. Hashed file names let the server cache them forever.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
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
