#!/usr/bin/env node
// Runs every test file under test/ with Node's own runner; TypeScript is loaded through tsx.
// Node 20's --test does not expand globs itself, so the files are listed here.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { build } from 'esbuild';

function collect(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path, suffix));
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test', '.test.ts')
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// The CLI tests spawn `modelport` hundreds of times; through tsx each spawn paid over twice the CPU of
// plain JavaScript. src/ is transpiled file by file (what tsx does, once) into a folder one level below
// the root, so the CLI's paths relative to its own files (assets/, dist/ui/) resolve as from src/.
const CLI_BUILD = '.cli-build';
rmSync(CLI_BUILD, { recursive: true, force: true });
await build({
  entryPoints: collect('src', '.ts').filter((f) => !f.endsWith('.d.ts')),
  outdir: CLI_BUILD,
  outbase: 'src',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
// A test that hangs fails after 10 minutes with its name, instead of holding the run until CI's limit.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, MODELPORT_TEST_CLI: resolve(CLI_BUILD, 'cli/run.js') } },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
