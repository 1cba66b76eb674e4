/**
 * Live traffic for the story: rows of a loans file sent one request per row through the Open
 * Inference Protocol, several in flight at once, each with the loan id as its request id so that
 * labels can be posted as feedback later.
 */
import type { ModelportClient } from '../client/client.js';
import type { TableColumn } from '../data/read-table.js';
import { encodeLoans, type LoansEncoding } from './loans-encoding.js';

export interface TrafficResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  startedAt: number;
  endedAt: number;
  /** Request id → predicted probability of default. */
  predictions: Map<string, number>;
}

export async function sendTraffic(
  client: ModelportClient,
  deployment: string,
  columns: readonly TableColumn[],
  encoding: LoansEncoding,
  options: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<TrafficResult> {
  const features = encodeLoans(columns, encoding);
  const ids = columns.find((c) => c.name === 'loan_id');
  if (!ids || ids.type !== 'string') throw new Error('the loans file has no loan_id column');
  const rows = ids.values.length;
  const latencies = new Float64Array(rows);
  const predictions = new Map<string, number>();
  let next = 0;
  const startedAt = Date.now();
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < rows; i = next++) {
      const requestId = String(ids.values[i]);
      const body = {
        id: requestId,
        inputs: encoding.featureNames.map((name) => ({ name, shape: [1], datatype: 'FP32', data: [features[name][i]] })),
      };
      const started = performance.now();
      const res = await client.request<{ outputs: { name: string; data: number[] }[] }>({
        method: 'POST',
        path: `/v2/models/${encodeURIComponent(deployment)}/infer`,
        body,
        headers: { 'x-request-id': requestId },
      });
      latencies[i] = performance.now() - started;
      const out = res.outputs.find((o) => o.name === 'prediction') ?? res.outputs[0];
      predictions.set(requestId, Number(out.data[0]));
      options.onProgress?.(i + 1, rows);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(rows - 1, Math.ceil(p * rows) - 1)];
  return { requests: rows, seconds, perSecond: rows / seconds, p50Ms: at(0.5), p99Ms: at(0.99), startedAt, endedAt: Date.now(), predictions };
}
