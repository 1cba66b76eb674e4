/**
 * One timed GBDT fit in its own process (so its peak memory is its own): reads a float32 matrix
 * and labels written by run.ts, trains with the given parameters, prints JSON with the fit time (wall and CPU),
 * the peak resident memory and the held-out ROC AUC.
 *   node --import tsx bench/training/fit-once.ts DIR '{"max_depth":6,...}'
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rocAuc } from '../../src/stats/metrics.js';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { predictGbdt } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import type { TrainingData } from '../../src/training/types.js';

/** VmHWM belongs to this process image; maxRSS keeps the forking parent's high-water mark across exec. */
const peakKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

const [dir, paramsJson] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { trainRows: number; testRows: number; features: number };
const f32 = (name: string) => {
  const b = readFileSync(join(dir, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
};
const names = Array.from({ length: meta.features }, (_, i) => `f${i}`);
const train: TrainingData = { rows: meta.trainRows, numFeature: meta.features, featureNames: names, x: f32('train_x.f32'), labels: Float64Array.from(f32('train_y.f32')) };
const testX = f32('test_x.f32');
const testY = f32('test_y.f32');
const t0 = performance.now();
const c0 = process.cpuUsage();
const model = await trainGbdt(train, gbdtParams(JSON.parse(paramsJson) as Record<string, unknown>), { evalTrain: false });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const p = predictGbdt(model, { rows: meta.testRows, numFeature: meta.features, featureNames: names, x: testX });
const auc = rocAuc(p, Array.from(testY, (y) => y === 1)) as number;
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakMiB: peakKiB() / 1024, auc })}\n`);
