#!/usr/bin/env node
// The package's command: runs the compiled CLI (npm ci builds it through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/run.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('modelport: not built yet; run `npm ci` (or `npm run build`) in the package folder\n');
  process.exit(2);
}
await import(entry.href);
