/** Warm-up inputs: what a freshly loaded model is called with before it takes traffic. */
import { readFileSync } from 'node:fs';
import { allocate, Batch, type Column, type Signature } from '../models/index.js';

/** One row of zeros (empty strings) shaped like the signature's inputs, for a warm-up call. */
export function warmupBatch(signature: Signature): Batch | undefined {
  if (signature.inputs.length === 0) return undefined;
  const columns: [string, Column][] = signature.inputs.map((spec) => {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const size = shape.reduce((a, d) => a * d, 1);
    return [spec.name, { dtype: spec.dtype, shape, data: allocate(spec.dtype, size) }];
  });
  return Batch.from(columns, 1);
}

/** Median microseconds of one-row calls, after warm-up: how much math one request costs. */
export async function singleRowMicros(predict: (b: Batch) => Promise<Batch>, signature: Signature, calls = 50): Promise<number | undefined> {
  const batch = warmupBatch(signature);
  if (!batch) return undefined;
  for (let i = 0; i < 10; i++) await predict(batch);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await predict(batch);
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** CPU nanoseconds this thread has run (Linux); undefined where /proc does not say. */
function threadCpuNanos(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/**
 * CPU microseconds of this thread per one-row call, after warm-up: what a call would take from
 * the event loop. Read as CPU time, not wall time, because a busy machine stretches the wall
 * time of every call (a server starting on a loaded machine measured the logistic regression's
 * median call at several times its cost and sent it to a thread). Falls back to the median of
 * wall times where the thread's CPU time cannot be read.
 */
export async function singleRowCpuMicros(predict: (b: Batch) => Promise<Batch>, signature: Signature, calls = 200): Promise<number | undefined> {
  const batch = warmupBatch(signature);
  if (!batch) return undefined;
  for (let i = 0; i < 10; i++) await predict(batch);
  const before = threadCpuNanos();
  if (before === undefined) return singleRowMicros(predict, signature);
  for (let i = 0; i < calls; i++) await predict(batch);
  return (threadCpuNanos()! - before) / 1000 / calls;
}
