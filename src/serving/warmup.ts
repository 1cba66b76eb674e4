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

/** One-row compute below which 'auto' keeps a model on the event loop (a worker round trip costs about this much). */
export const AUTO_LOOP_MICROS = 50;

/**
 * CPU microseconds of this thread per one-row call, after warm-up: what a call would take from
 * the event loop. Read as CPU time, not wall time, because a busy machine stretches the wall
 * time of every call (a server starting on a loaded machine measured the logistic regression's
 * median call at several times its cost and sent it to a thread). The kernel adds a running
 * thread's time to its count only at scheduler ticks, so each of up to `spans` stretches of calls
 * runs until the count has grown by `spanMs` (see `cpuMicrosPerCall`). Falls back to the median
 * of wall times where the thread's CPU time cannot be read.
 */
export async function singleRowCpuMicros(predict: (b: Batch) => Promise<Batch>, signature: Signature, spans = 5, spanMs = 20): Promise<number | undefined> {
  const batch = warmupBatch(signature);
  if (!batch) return undefined;
  for (let i = 0; i < 20; i++) await predict(batch);
  if (threadCpuNanos() === undefined) return singleRowMicros(predict, signature);
  const started = performance.now();
  // A thread the machine starves stops after a few seconds with what it has.
  const starved = () => performance.now() - started >= 5000;
  return cpuMicrosPerCall(async () => {
    const before = threadCpuNanos()!;
    let calls = 0;
    let nanos = 0;
    // The count is read between runs of calls (a read costs more than a cheap call).
    do {
      const stretch = performance.now();
      do {
        await predict(batch);
        calls++;
      } while (performance.now() - stretch < 2);
      nanos = threadCpuNanos()! - before;
    } while (nanos < spanMs * 1e6 && !starved());
    return { nanos, calls };
  }, spans, starved);
}

/**
 * CPU microseconds per call over the stretches `span` runs: their total CPU over their total
 * calls, so the tick granularity errs by at most one tick over all of them (taking the cheapest
 * stretch instead favoured those a tick short, and sent models a little over the threshold to
 * the event loop). A first stretch far from AUTO_LOOP_MICROS (under 0.3× or over 3×) decides
 * alone: a tick's error cannot carry it across, and a model load spends no more CPU on it.
 */
export async function cpuMicrosPerCall(span: () => Promise<{ nanos: number; calls: number }>, spans: number, stop: () => boolean = () => false): Promise<number> {
  let nanos = 0;
  let calls = 0;
  for (let i = 0; i < spans && (i === 0 || !stop()); i++) {
    const stretch = await span();
    nanos += stretch.nanos;
    calls += stretch.calls;
    const micros = nanos / 1000 / calls;
    if (i === 0 && (micros < 0.3 * AUTO_LOOP_MICROS || micros > 3 * AUTO_LOOP_MICROS)) break;
  }
  return nanos / 1000 / calls;
}
