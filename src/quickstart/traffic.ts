/**
 * Live traffic for the story: rows of a table sent one request per row through the Open
 * Inference Protocol, several in flight at once, each with its own request id so that outcomes
 * can be posted as feedback later. A request the server refuses counts as an error, and the
 * traffic goes on: a broken canary is part of the story.
 */
import type { ModelportClient } from '../client/client.js';

/** One input of every request: its V2 name and datatype and a value per row. */
export interface TrafficInput {
  name: string;
  datatype: 'FP32' | 'INT64' | 'BYTES';
  values: ArrayLike<number | string | null>;
}

export interface TrafficResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  startedAt: number;
  endedAt: number;
  /** Request id → predicted probability of default (answered requests only). */
  predictions: Map<string, number>;
}

export async function sendTraffic(
  client: ModelportClient,
  deployment: string,
  ids: readonly string[],
  inputs: readonly TrafficInput[],
  options: { concurrency?: number } = {},
): Promise<TrafficResult> {
  const rows = ids.length;
  const latencies = new Float64Array(rows);
  const predictions = new Map<string, number>();
  let errors = 0;
  let next = 0;
  const startedAt = Date.now();
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < rows; i = next++) {
      const body = { id: ids[i], inputs: inputs.map((x) => ({ name: x.name, shape: [1], datatype: x.datatype, data: [x.values[i]] })) };
      const started = performance.now();
      try {
        const res = await client.request<{ outputs: { name: string; data: number[] }[] }>({
          method: 'POST',
          path: `/v2/models/${encodeURIComponent(deployment)}/infer`,
          body,
          headers: { 'x-request-id': ids[i] },
        });
        const out = res.outputs.find((o) => o.name === 'prediction') ?? res.outputs[0];
        predictions.set(ids[i], Number(out.data[0]));
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(rows - 1, Math.ceil(p * rows) - 1)];
  return { requests: rows, errors, seconds, perSecond: rows / seconds, p50Ms: at(0.5), p99Ms: at(0.99), startedAt, endedAt: Date.now(), predictions };
}
