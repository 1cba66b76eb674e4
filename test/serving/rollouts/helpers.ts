/** Simulated model versions for rollout and A/B tests: a js classifier with a chosen error rate and accuracy. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Batch } from '../../../src/models/index.js';
import { timeOrderedId } from '../../../src/core/ids.js';
import type { ServingService } from '../../../src/serving/index.js';
import type { RegistryService } from '../../../src/registry/index.js';
import { tempDir } from '../../helpers/services.js';
import { register } from '../helpers.js';

/**
 * A model of inputs x and region (a segment field it ignores) answering `label` = x mod 2 (right, when feedback is x mod 2), wrong for x mod 10
 * below `wrongPer10`, throwing for x mod 100 below `failPer100`, and answering after `delayMs` (x > 0: warm-up sends 0).
 */
export function simulatedModel(failPer100: number, wrongPer10: number, delayMs = 0): string {
  const dir = tempDir('simmodel');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'model.mjs'),
    `export const signature = { inputs: [{ name: 'x', dtype: 'float64', shape: [] }, { name: 'region', dtype: 'float64', shape: [] }], outputs: [{ name: 'label', dtype: 'int64', shape: [] }] };
export async function predict(batch) {
  const x = batch.column('x').data;
  if (${delayMs} > 0 && x[0] > 0) await new Promise((r) => setTimeout(r, ${delayMs}));
  const out = new BigInt64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 0 && x[i] % 100 < ${failPer100}) throw new Error('simulated failure');
    const right = x[i] % 2;
    out[i] = BigInt(x[i] % 10 < ${wrongPer10} ? 1 - right : right);
  }
  return { label: { dtype: 'int64', shape: [], data: out } };
}
`,
  );
  return dir;
}

export async function registerSimulated(registry: RegistryService, name: string, failPer100: number, wrongPer10: number, delayMs = 0): Promise<number> {
  return register(registry, name, simulatedModel(failPer100, wrongPer10, delayMs), ['model.mjs']);
}

/** Sends x = from..to-1 as one-row requests (region: x mod 3 = 0), user `u<x>` each; returns request id, x and variant of each answered one. */
export async function traffic(serving: ServingService, deployment: string, from: number, to: number): Promise<{ id: string; x: number; variant: string }[]> {
  const out: { id: string; x: number; variant: string }[] = [];
  for (let x = from; x < to; x++) {
    const id = timeOrderedId();
    const target = await serving.target(deployment, undefined, `u${x}`);
    try {
      const { target: t } = await serving.predict(target, Batch.from({ x: { dtype: 'float64', shape: [], data: Float64Array.of(x) }, region: { dtype: 'float64', shape: [], data: Float64Array.of(x % 3 === 0 ? 1 : 0) } }), [], id);
      out.push({ id, x, variant: t.variant });
    } catch {
      // a simulated failure: counted by serving against the variant
    }
  }
  return out;
}
