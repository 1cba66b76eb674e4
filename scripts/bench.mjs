#!/usr/bin/env node
// Runs the benchmarks under bench/ (all, or those named on the command line) and rebuilds
// bench/RESULTS.md from the per-benchmark tables they write to bench/results/NAME.md.
// Each bench/NAME/run.ts is a standalone script: it measures modelport and its peer or limit
// in the same run, prints the table, and writes bench/results/NAME.md.
import { readdirSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import os from 'node:os';

const wanted = process.argv.slice(2);
const names = readdirSync('bench', { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join('bench', d.name, 'run.ts')))
  .map((d) => d.name)
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();
mkdirSync('bench/results', { recursive: true });
let failed = 0;
for (const name of names) {
  console.log(`\n== bench/${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', name, 'run.ts')], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
const sections = readdirSync('bench/results')
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => readFileSync(join('bench/results', f), 'utf8').trim());
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
writeFileSync(
  'bench/RESULTS.md',
  `# Benchmark results\n\nLatest run of \`npm run bench\`. Each section records its own machine and date.\nThis file is rebuilt from bench/results/*.md; last rebuilt on ${machine}.\n\n${sections.join('\n\n')}\n`,
);
process.exit(failed ? 1 : 0);
