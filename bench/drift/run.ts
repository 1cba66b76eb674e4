/**
 * Drift of 20 numerical columns, 1,000,000 reference rows against 1,000,000 current rows: KS
 * (statistic and asymptotic p-value), Wasserstein (raw and normed), PSI and Jensen–Shannon per
 * column, by modelport and by SciPy/NumPy on the same data in the same run. Also times the full
 * `analyzeDrift` (every statistic of the JSON report) for reference.
 *
 *   node --import tsx bench/drift/run.ts [--rows N] [--columns K] [--repeats R]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeDrift, type DriftTable } from '../../src/monitoring/drift/index.js';
import {
  EMPTY_BIN_SHARE,
  compareSortedSamples,
  histogramSorted,
  jensenShannon,
  ks2SampSorted,
  meanVariance,
  proportions,
  psi,
  sturgesEdges,
  MIN_NORM_STD,
} from '../../src/stats/index.js';
import { mulberry32 as rng } from '../../src/core/random.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const COLUMNS = arg('columns', 20);
const REPEATS = arg('repeats', 3);
const PYTHON = '/usr/bin/python3';


/** Column shapes seen in tabular data: normal, skewed, bounded, integer with many ties; half shifted. */
function makeColumn(i: number, side: 'ref' | 'cur'): Float64Array {
  const r = rng(1000 * i + (side === 'ref' ? 1 : 2));
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const shift = side === 'cur' && i % 2 === 1 ? 0.05 * (1 + (i % 5)) : 0;
  const out = new Float64Array(ROWS);
  for (let k = 0; k < ROWS; k++) {
    switch (i % 4) {
      case 0:
        out[k] = 50 + 10 * (normal() + shift);
        break;
      case 1:
        out[k] = Math.exp(10 + 0.5 * normal() + shift);
        break;
      case 2:
        out[k] = r() * (1 + shift);
        break;
      default:
        out[k] = Math.round(8 + 4 * (normal() + shift));
    }
  }
  return out;
}

interface Stats {
  ks: number;
  p: number;
  w: number;
  wn: number;
  psi: number;
  js: number;
}

/** The same four statistics SciPy computes below, from unsorted columns (sorting included). */
function columnStats(ref: Float64Array, cur: Float64Array): Stats {
  const a = new Float64Array(ref).sort();
  const b = new Float64Array(cur).sort();
  const cmp = compareSortedSamples(a, b);
  const ks = ks2SampSorted(a, b, 'auto', cmp);
  const std = Math.sqrt(meanVariance(a).variance);
  const edges = sturgesEdges(Math.min(a[0], b[0]), Math.max(a[a.length - 1], b[b.length - 1]), a.length + b.length);
  const rp = proportions(histogramSorted(a, edges), a.length, EMPTY_BIN_SHARE);
  const cp = proportions(histogramSorted(b, edges), b.length, EMPTY_BIN_SHARE);
  return { ks: ks.statistic, p: ks.pvalue, w: cmp.wasserstein, wn: cmp.wasserstein / Math.max(std, MIN_NORM_STD), psi: psi(rp, cp), js: jensenShannon(rp, cp) };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

function time<T>(fn: () => T): { seconds: number; result: T } {
  let result!: T;
  const seconds: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { seconds: median(seconds), result };
}

/** Largest relative difference, with an absolute floor so p-values that are both ~0 agree. */
function maxRelDiff(ours: Stats[], theirs: Stats[], key: keyof Stats, floor = 1e-300): number {
  let worst = 0;
  ours.forEach((o, i) => {
    const t = theirs[i][key];
    const d = Math.abs(o[key] - t) / Math.max(Math.abs(t), floor);
    if (d > worst) worst = d;
  });
  return worst;
}

function main(): void {
  console.log(`generating ${COLUMNS} columns × ${ROWS.toLocaleString('en-US')} rows per side…`);
  const refs = Array.from({ length: COLUMNS }, (_, i) => makeColumn(i, 'ref'));
  const curs = Array.from({ length: COLUMNS }, (_, i) => makeColumn(i, 'cur'));
  const dir = mkdtempSync(join(os.tmpdir(), 'modelport-bench-drift-'));
  try {
    refs.forEach((c, i) => writeFileSync(join(dir, `ref_${i}.f64`), new Uint8Array(c.buffer)));
    curs.forEach((c, i) => writeFileSync(join(dir, `cur_${i}.f64`), new Uint8Array(c.buffer)));

    console.log('modelport: KS, Wasserstein, PSI, Jensen–Shannon per column…');
    const ours = time(() => refs.map((r, i) => columnStats(r, curs[i])));

    console.log('modelport: full analyzeDrift (every statistic of the report)…');
    const table = (cols: Float64Array[], source: string): DriftTable => ({
      source,
      rowCount: ROWS,
      columns: cols.map((values, i) => ({ name: `c${i}`, type: 'number' as const, values })),
    });
    const full = time(() => analyzeDrift(table(refs, 'reference'), table(curs, 'current')));

    console.log('SciPy: ks_2samp, wasserstein_distance, histogram + PSI, jensenshannon per column…');
    const py = spawnSync(PYTHON, [fileURLToPath(new URL('./scipy_drift.py', import.meta.url)), dir, String(COLUMNS), String(REPEATS)], {
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    if (py.status !== 0) throw new Error(`SciPy run failed (${PYTHON}; install python3-scipy): ${py.stderr}`);
    const scipy = JSON.parse(py.stdout) as { scipy: string; numpy: string; seconds: number; results: Stats[] };

    const rows = [
      ['KS + Wasserstein + PSI + JS per column', ours.seconds, scipy.seconds],
      ['full analyzeDrift (all report statistics)', full.seconds, scipy.seconds],
    ] as const;
    const fmt = (s: number) => s.toFixed(2);
    const table1 = [
      `| work (${COLUMNS} numerical columns, ${ROWS.toLocaleString('en-US')} vs ${ROWS.toLocaleString('en-US')} rows) | modelport (s) | SciPy ${scipy.scipy} / NumPy ${scipy.numpy} (s) | SciPy time ÷ modelport time |`,
      '| --- | ---: | ---: | ---: |',
      ...rows.map(([name, m, s]) => `| ${name} | ${fmt(m)} | ${fmt(s)} | ${(s / m).toFixed(2)}× |`),
    ].join('\n');
    const agreement = [
      '| statistic | largest relative difference from SciPy over the columns |',
      '| --- | ---: |',
      ...(['ks', 'p', 'w', 'wn', 'psi', 'js'] as const).map(
        (k) => `| ${{ ks: 'KS D', p: 'KS p-value (asymptotic)', w: 'Wasserstein', wn: 'Wasserstein normed', psi: 'PSI', js: 'Jensen–Shannon' }[k]} | ${maxRelDiff(ours.result, scipy.results, k).toExponential(1)} |`,
      ),
    ].join('\n');
    console.log(`\n${table1}\n\n${agreement}\n`);

    const cpus = os.cpus();
    const machine = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(
      'bench/results/drift.md',
      `## Drift statistics: modelport vs SciPy\n\n${machine}; ${new Date().toISOString().slice(0, 10)}. Median of ${REPEATS} runs, single thread each, data in memory (SciPy's file read not timed).\nEach column: sort, two-sample KS with its p-value, Wasserstein (and normed by the reference std), Sturges-binned PSI and Jensen–Shannon.\n\n${table1}\n\nSame results:\n\n${agreement}\n`,
    );
    console.log('wrote bench/results/drift.md');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
