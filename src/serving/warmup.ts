/** Warm-up inputs: what a freshly loaded model is called with before it takes traffic. */
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

/** One-row compute below which 'auto' keeps a model on the event loop (a worker round trip costs about this much). */
export const AUTO_LOOP_MICROS = 50;

/**
 * Microseconds of a one-row call as the model runs when nothing interrupts it: the least, per
 * call, over `groups` groups of calls of at least `groupMs` each, after a warm-up of
 * `warmCalls` calls or `warmMs`, whichever comes first (a cheap model's JavaScript is optimized
 * within about a thousand calls; a costly one's cold calls add too little to change the choice).
 * Whatever else the machine does only ever adds time to a group (preemption, another guest on
 * the host, the collector), so the least is the model's own cost, where a median or a mean
 * moves with the load. Neither the thread's CPU time (/proc/thread-self/schedstat) nor a short
 * warm-up did: under load the CPU time counted time the host took away (233 µs a call for the
 * logistic regression's 20), and a fresh thread's first few hundred calls still ran unoptimized
 * JavaScript, so 'auto' sent that model to a thread at random.
 */
export async function cheapestCallMicros(
  predict: (b: Batch) => Promise<Batch>,
  signature: Signature,
  options: { groups?: number; groupMs?: number; warmCalls?: number; warmMs?: number; now?: () => number } = {},
): Promise<number | undefined> {
  const { groups = 30, groupMs = 1, warmCalls = 2000, warmMs = 200, now = () => performance.now() } = options;
  const batch = warmupBatch(signature);
  if (!batch) return undefined;
  const started = now();
  for (let i = 0; i < warmCalls && now() - started < warmMs; i++) await predict(batch);
  let least = Infinity;
  for (let g = 0; g < groups; g++) {
    const t = now();
    let calls = 0;
    let elapsed = 0;
    do {
      await predict(batch);
      calls++;
      elapsed = now() - t;
    } while (elapsed < groupMs);
    least = Math.min(least, (elapsed * 1000) / calls);
    // A thread the machine starves stops after a few seconds with what it has.
    if (now() - started >= 5000) break;
  }
  return least;
}
