/**
 * What traffic splitting and shadowing cost on the request path: V2 infer, one row, of the ONNX
 * logistic-regression fixture deployed as one variant, as two variants 50/50 (every request
 * hashed onto the split; no user id, so by request id) and as one variant with a 100% shadow of
 * the same model (each request computed twice, the copy after the answer). The three live in
 * one server and take turns in rounds of short runs (the order turning each round), as
 * bench/serving does, so the machine's drift meets them alike. Peak = requests/s with 32
 * connections; p99 at 4 connections (a moderate load); server CPU per request over the peak
 * runs. Targets (issue 22): the split costs at most 10% of the peak; the shadow at most its own
 * model's CPU, i.e. a shadowed request costs at most twice the CPU of a single-variant one.
 *
 *   node --import tsx bench/rollouts/run.ts        writes bench/results/rollouts.md
 *
 * BENCH_ROUNDS (default 5) and BENCH_SECONDS (default 3) size it. Needs wrk.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT, failures, medianRate, paired, rounds, started, stop, type LoadTarget, type Runs } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });

const DEPLOYMENTS = [
  ['single', 'one variant (the baseline)'],
  ['split', 'two variants, 50/50 by key'],
  ['shadowed', 'one variant + a 100% shadow of the same model'],
] as const;

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const loadBefore = os.loadavg()[0].toFixed(1);
  const server = await started(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'rollouts', 'server.ts'), mkdtempSync(join(os.tmpdir(), 'modelport-bench-rollouts-'))], /listening (\S+)/);
  try {
    const targets = (connections: number) =>
      DEPLOYMENTS.map(([name, what]): LoadTarget => ({ what, url: `${server.match[1]}/v2/models/${name}/infer`, body, pid: server.child.pid!, connections }));
    // A fresh server's JIT needs a run before the first measurement.
    await rounds(targets(32), { rounds: 1, seconds: 2, label: 'warm-up' });
    const peak = await rounds(targets(32), { rounds: ROUNDS, seconds: SECONDS, label: 'peak (32 conn.)' });
    const moderate = await rounds(targets(4), { rounds: ROUNDS, seconds: SECONDS, label: 'p99 (4 conn.)' });
    const metrics = await (await fetch(`${server.match[1]}/metrics`)).text();
    const shadowed = Number(/modelport_shadow_requests_total\{deployment="shadowed",variant="shadow",outcome="ok"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const base = peak[0];
    const cpu = (r: Runs) => median(r.cpu);
    const rows = peak.map((r, i) => [
      r.config.what,
      Math.round(medianRate(r)).toLocaleString('en-US'),
      i === 0 ? '1.00×' : `${paired(r, base).toFixed(2)}×`,
      median(moderate[i].runs.map((x) => x.latency.p99)).toFixed(2),
      cpu(r).toFixed(0),
      i === 0 ? '1.00×' : `${(cpu(r) / cpu(base)).toFixed(2)}×`,
      String(failures(r) + failures(moderate[i])),
    ]);
    const markdown = `## Rollouts: the cost of a traffic split and of a shadow

${machine()}; load average ${loadBefore} before the run. ${ROUNDS} rounds × ${SECONDS} s per configuration, medians; V2 infer, one row, ONNX logistic-regression fixture, wrk on loopback, prediction log off.

${table(['deployment', 'peak req/s (32 conn.)', 'vs one variant (paired)', 'p99 ms (4 conn.)', 'server CPU µs/request', 'CPU vs one variant', 'failures'], rows)}

Targets: the 50/50 split keeps ≥ 0.90× the one-variant peak; the shadow costs at most its own model's CPU (≤ 2.00× the one-variant CPU per request). The shadow answered ${shadowed.toLocaleString('en-US')} copies.
`;
    console.log(markdown);
    writeResults('rollouts', markdown);
  } finally {
    await stop(server.child);
  }
}

await main();
