/**
 * A search over a plain function (no training): the same samplers a study uses, for test
 * functions and for measuring the samplers against Optuna's.
 */
import { mulberry32 } from '../../core/random.js';
import type { Direction, Sampler, TrialRecord } from './samplers.js';
import type { ParamValue, SearchSpace } from './space.js';

export async function optimizeFunction(
  objective: (params: Record<string, ParamValue>) => number | Promise<number>,
  space: SearchSpace,
  options: { sampler: Sampler; trials: number; direction?: Direction; seed?: number; onSample?: (ms: number) => void },
): Promise<TrialRecord[]> {
  const direction = options.direction ?? 'minimize';
  const rand = mulberry32(options.seed ?? 0);
  const trials: TrialRecord[] = [];
  for (let n = 0; n < options.trials; n++) {
    const t0 = performance.now();
    const params = options.sampler.sample(space, trials, direction, rand);
    options.onSample?.(performance.now() - t0);
    if (!params) break;
    trials.push({ number: n, state: 'COMPLETE', params, value: await objective(params), intermediate: new Map() });
  }
  return trials;
}

/** The best value after each trial. */
export function bestSoFar(trials: readonly TrialRecord[], direction: Direction = 'minimize'): number[] {
  let best = direction === 'minimize' ? Infinity : -Infinity;
  return trials.map((t) => (best = direction === 'minimize' ? Math.min(best, t.value ?? Infinity) : Math.max(best, t.value ?? -Infinity)));
}
