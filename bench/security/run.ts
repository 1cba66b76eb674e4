/**
 * What security costs, in one run:
 *   (a) serving throughput with auth on (a bearer token checked on every request, the fast V2
 *       path) against auth off, one-row V2 inference on the fixture logistic regression, 32
 *       connections from wrk; both servers run at once and take turns in rounds (bench/load.ts),
 *       target: within 5%;
 *   (b) blob store upload and download throughput with encryption at rest on (AES-256-GCM,
 *       per-object data keys) against off, on the file adapter, in turns; target: at least 70%.
 *
 *   node --import tsx bench/security/run.ts      writes bench/results/security.md
 *   BENCH_ROUNDS, BENCH_SECONDS (serving) and BENCH_MB, BENCH_OBJECTS (blobs) scale it down;
 *   BENCH_PARTS=serving or BENCH_PARTS=blobs runs one part.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT, failures, medianRate, paired, rounds, started, stop } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';
import { loadConfig } from '../../src/config.js';
import { createPlatform } from '../../src/platform.js';
import type { BlobStore } from '../../src/storage/blobs.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const MB = Number(process.env.BENCH_MB ?? 64);
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 5);
const tmp = () => mkdtempSync(join(os.tmpdir(), 'modelport-bench-security-'));

const row = readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'onnx_logreg_breast_cancer', 'input.csv'), 'utf8').trim().split('\n')[1].split(',').map(Number);
const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });

async function serving(): Promise<string> {
  const token = `mp_${randomBytes(32).toString('base64url')}`;
  const off = await started(process.execPath, ['--import', 'tsx', 'bench/security/server.ts', tmp()], /listening (\S+)/);
  const on = await started(process.execPath, ['--import', 'tsx', 'bench/security/server.ts', tmp()], /listening (\S+)/, { MODELPORT_ADMIN_TOKEN: token });
  try {
    const target = (what: string, s: typeof off, authorization?: string) => ({ what, url: `${s.match[1]}/v2/models/cancer/infer`, body, pid: s.child.pid!, connections: 32, authorization });
    const targets = [target('auth off (loopback, no token)', off), target('auth on (bearer token checked per request)', on, `Bearer ${token}`)];
    for (const t of targets) {
      const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(t.authorization ? { authorization: t.authorization } : {}) }, body });
      if (res.status !== 200) throw new Error(`${t.what}: ${res.status} ${await res.text()}`);
    }
    const runs = await rounds(targets, { rounds: ROUNDS, seconds: SECONDS, label: 'serving' });
    const ratio = paired(runs[1], runs[0]);
    return [
      `### Serving: auth on against off (${ROUNDS} rounds of ${SECONDS} s, 32 connections, one-row V2 infer)`,
      '',
      table(
        ['server', 'requests/s (median)', 'server CPU µs/request (median)', 'failed requests'],
        runs.map((r) => [r.config.what, medianRate(r).toFixed(0), median(r.cpu).toFixed(1), String(failures(r))]),
      ),
      '',
      `Auth on / auth off, median of the rounds' ratios: **${(ratio * 100).toFixed(1)}%** (target ≥ 95%).`,
    ].join('\n');
  } finally {
    await stop(off.child);
    await stop(on.child);
  }
}

/** Seconds to put then read back `OBJECTS` distinct objects of `MB` MiB. */
async function blobRound(blobs: BlobStore, payloads: Buffer[]): Promise<{ put: number; get: number }> {
  const t0 = performance.now();
  const ids = [];
  for (const p of payloads) ids.push((await blobs.put(p)).sha256);
  const t1 = performance.now();
  for (const id of ids) for await (const _chunk of await blobs.get(id));
  const t2 = performance.now();
  for (const id of ids) await blobs.delete(id);
  return { put: (t1 - t0) / 1000, get: (t2 - t1) / 1000 };
}

async function encryption(): Promise<string> {
  const keyFile = join(tmp(), 'master.keys');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const plain = await createPlatform(loadConfig({ data: tmp(), logLevel: 'silent' }, {}));
  const encrypted = await createPlatform(loadConfig({ data: tmp(), logLevel: 'silent', masterKeyFile: keyFile }, {}));
  const results = { off: { put: [] as number[], get: [] as number[] }, on: { put: [] as number[], get: [] as number[] } };
  try {
    const total = MB * OBJECTS;
    for (let round = 0; round < ROUNDS; round++) {
      const payloads = Array.from({ length: OBJECTS }, () => randomBytes(MB * 1024 * 1024));
      const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const which of order) {
        const r = await blobRound(which === 'on' ? encrypted.blobs : plain.blobs, payloads);
        results[which].put.push(total / r.put);
        results[which].get.push(total / r.get);
      }
      console.log(`blobs: round ${round + 1} of ${ROUNDS}: put ${results.off.put.at(-1)!.toFixed(0)} / ${results.on.put.at(-1)!.toFixed(0)} MiB/s, get ${results.off.get.at(-1)!.toFixed(0)} / ${results.on.get.at(-1)!.toFixed(0)} MiB/s (off / on)`);
    }
  } finally {
    await plain.close();
    await encrypted.close();
  }
  const ratio = (k: 'put' | 'get') => median(results.on[k].map((v, i) => v / results.off[k][i]));
  return [
    `### Blob store: encryption at rest on against off (${ROUNDS} rounds of ${OBJECTS} objects of ${MB} MiB, file adapter)`,
    '',
    table(
      ['encryption', 'upload MiB/s (median)', 'download MiB/s (median)'],
      (['off', 'on'] as const).map((k) => [k, median(results[k].put).toFixed(0), median(results[k].get).toFixed(0)]),
    ),
    '',
    `On / off, median of the rounds' ratios: upload **${(ratio('put') * 100).toFixed(1)}%**, download **${(ratio('get') * 100).toFixed(1)}%** (target ≥ 70%).`,
  ].join('\n');
}

const parts = (process.env.BENCH_PARTS ?? 'serving,blobs').split(',');
const sections = [parts.includes('serving') ? await serving() : '', parts.includes('blobs') ? await encryption() : ''].filter(Boolean);
writeResults('security', [`## Security (bench/security)`, '', machine(), '', ...sections.flatMap((s) => [s, ''])].join('\n'));
