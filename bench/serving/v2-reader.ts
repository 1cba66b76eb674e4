/**
 * The V2 request reader against JSON.parse of the same body, in one process, on tsc's output
 * (tsx's transform wraps every closure and would measure itself). Bodies: one row and 1,000
 * rows of 30 FP32 features, written as short decimals and as the 17-significant-digit floats
 * numpy's JSON writes, plus the same with a NaN token (which keeps the reader on its own number
 * walk). The two take turns in 30 timed batches; times are the fastest batch (the machine is
 * shared; the minimum is the least disturbed), ratios the median of back-to-back pairs.
 *
 *   node --import tsx bench/serving/v2-reader.ts     writes bench/results/v2-reader.md
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../load.js';
import { machine, median, table, writeResults } from '../report.js';

const loadBefore = os.loadavg()[0].toFixed(1);
execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
const { readV2Request } = (await import(pathToFileURL(join(ROOT, 'dist', 'serving', 'codecs', 'v2-wire.js')).href)) as typeof import('../../src/serving/codecs/v2-wire.js');

let seed = 7;
const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);

function body(rows: number, digits: 'short' | 'long', nan: boolean): Buffer {
  const data: string[] = [];
  for (let i = 0; i < rows * 30; i++) {
    const v = random() * 100;
    data.push(digits === 'short' ? v.toFixed(2) : v.toPrecision(17));
  }
  if (nan) data[0] = 'NaN';
  return Buffer.from(`{"inputs":[{"name":"x","shape":[${rows},30],"datatype":"FP32","data":[${data.join(',')}]}]}`);
}

/** µs per call of each function, timed in alternating batches (both meet the same load); fastest of 30. */
function paired(fns: (() => unknown)[], perBatch: number): { best: number[]; ratio: number } {
  const best = fns.map(() => Infinity);
  const ratios: number[] = [];
  for (let r = 0; r < 30; r++) {
    const times = fns.map((fn, i) => {
      const t = process.hrtime.bigint();
      for (let k = 0; k < perBatch; k++) fn();
      const us = Number(process.hrtime.bigint() - t) / perBatch / 1000;
      best[i] = Math.min(best[i], us);
      return us;
    });
    ratios.push(times[0] / times[1]);
  }
  return { best, ratio: median(ratios) };
}

const rows: string[][] = [];
for (const n of [1, 1000]) {
  for (const digits of ['short', 'long'] as const) {
    for (const nan of [false, true]) {
      const b = body(n, digits, nan);
      // JSON.parse cannot read NaN tokens: its reference figure is the body without them.
      const plain = body(n, digits, false);
      const { best, ratio } = paired([() => readV2Request(b), () => JSON.parse(plain.toString())], n === 1 ? 2000 : 3);
      rows.push([`${n} × 30 FP32, ${digits === 'short' ? '2 decimals' : '17 digits'}${nan ? ', one NaN token' : ''}`, best[0].toFixed(1), best[1].toFixed(1), `${ratio.toFixed(2)}×`]);
    }
  }
}

const markdown = `# V2 request reader

${machine()}; 1-minute load average when the run started: ${loadBefore}

CPU time to read one V2 infer request body into its typed array (modelport's reader, src/serving/codecs/v2-wire.ts) against \`JSON.parse\` of the same body, which builds a generic tree and no typed array, in µs per body, the fastest of 30 batches; the ratio is the median of the ratios of batches run back to back. A data list of plain numbers (no NaN/Infinity/null tokens) is read by \`JSON.parse\`; one with such tokens takes the reader's own number walk.

${table(['body', 'reader µs', 'JSON.parse µs', 'reader / JSON.parse'], rows)}
`;
console.log(`\n${markdown}`);
writeResults('v2-reader', markdown);
