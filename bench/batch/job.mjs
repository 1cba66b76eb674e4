/**
 * One side of bench/batch in a process of its own, so its peak RSS is its own: a modelport
 * batch job on the XGBoost fixture (platform, registry and deployment in a temp folder). It runs
 * the tsc-compiled dist/ without tsx, as `modelport predict` does: tsx's loader thread alone
 * adds ~70 MiB to a process.
 *
 *   node bench/batch/job.mjs INPUT OUTPUT CHUNK_ROWS
 *
 * Prints {"seconds": the job's wall time, "cpu_seconds": its CPU (all threads), "max_rss_kib": peak resident set}.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const DIST = join(import.meta.dirname, '..', '..', 'dist');
const { loadConfig } = await import(join(DIST, 'config.js'));
const { createPlatform } = await import(join(DIST, 'platform.js'));
const { runBatchJob } = await import(join(DIST, 'serving', 'jobs', 'run.js'));
const { deploymentScorer } = await import(join(DIST, 'serving', 'jobs', 'scorer.js'));

const [input, output, chunk] = process.argv.slice(2);
const MODEL = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'models', 'xgb_breast_cancer', 'model.json');
const platform = await createPlatform(loadConfig({ data: mkdtempSync(join(os.tmpdir(), 'mpbench-batch-')), logLevel: 'silent' }, {}));
try {
  const { sha256 } = await platform.services.registry.putBlob(readFileSync(MODEL));
  await platform.services.registry.createVersion({ name: 'cancer', files: [{ path: 'model.json', sha256 }], createModel: true });
  await platform.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
  const scorer = await deploymentScorer(platform.services.serving, 'cancer');
  const cpu = process.cpuUsage();
  const started = performance.now();
  // As `modelport predict` runs it: the job has the process to itself.
  await runBatchJob({ deployment: 'cancer', input, output, keep: ['id'], chunkRows: Number(chunk) }, scorer, { ownsProcess: true });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  // VmHWM belongs to this process image; maxRSS keeps the forking parent's high-water mark across exec.
  const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  process.stdout.write(`${JSON.stringify({ seconds, cpu_seconds: (used.user + used.system) / 1e6, max_rss_kib: peak })}\n`);
} finally {
  await platform.close();
}
