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

/**
 * Microseconds of one-row calls after warm-up, at `quantile` of the calls (the median by
 * default: what one request's math costs as a latency).
 */
export async function singleRowMicros(predict: (b: Batch) => Promise<Batch>, signature: Signature, calls = 50, quantile = 0.5): Promise<number | undefined> {
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
  return times[Math.floor(times.length * quantile)];
}
