/**
 * Pruners over intermediate values (one per boosting round), with Optuna's defaults:
 * MedianPruner (5 start-up trials, no warm-up, every step) and SuccessiveHalvingPruner (ASHA:
 * min_resource "auto", reduction factor 4, min_early_stopping_rate 0).
 */
import { invalidArgument } from '../../core/errors.js';
import type { Direction, TrialRecord } from './samplers.js';

export interface Pruner {
  readonly name: string;
  /** Whether `trial`, having just reported `step`, should stop. */
  shouldPrune(trial: TrialRecord, step: number, trials: readonly TrialRecord[], direction: Direction): boolean;
}

export const noPruner: Pruner = { name: 'none', shouldPrune: () => false };

function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (q / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo] + (pos - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

export function medianPruner(options: { nStartupTrials?: number; nWarmupSteps?: number; intervalSteps?: number; nMinTrials?: number } = {}): Pruner {
  const nStartup = options.nStartupTrials ?? 5;
  const warmup = options.nWarmupSteps ?? 0;
  const interval = options.intervalSteps ?? 1;
  const nMin = options.nMinTrials ?? 1;
  return {
    name: 'median',
    shouldPrune(trial, step, trials, direction) {
      const complete = trials.filter((t) => t.state === 'COMPLETE' && t.number !== trial.number);
      if (complete.length < nStartup || step < warmup || (step - warmup) % interval !== 0) return false;
      let best = direction === 'minimize' ? Infinity : -Infinity;
      for (const [s, v] of trial.intermediate) if (s <= step && Number.isFinite(v)) best = direction === 'minimize' ? Math.min(best, v) : Math.max(best, v);
      if (!Number.isFinite(best)) return false;
      const others = complete.map((t) => t.intermediate.get(step)).filter((v): v is number => v !== undefined && Number.isFinite(v));
      if (others.length < nMin) return false;
      const median = percentile(others, 50);
      return direction === 'minimize' ? best > median : best < median;
    },
  };
}

export function ashaPruner(options: { minResource?: number; reductionFactor?: number; minEarlyStoppingRate?: number } = {}): Pruner {
  const eta = options.reductionFactor ?? 4;
  const rate = options.minEarlyStoppingRate ?? 0;
  return {
    name: 'asha',
    shouldPrune(trial, step, trials, direction) {
      let minResource = options.minResource;
      if (minResource === undefined) {
        // Optuna's "auto": a hundredth of the longest completed trial, once one has completed.
        const complete = trials.filter((t) => t.state === 'COMPLETE');
        if (complete.length === 0) return false;
        const lastStep = Math.max(...complete.map((t) => Math.max(-1, ...t.intermediate.keys())));
        minResource = Math.max(Math.floor((lastStep + 1) / 100), 1);
      }
      // Rungs sit at steps (counted from 1) min_resource · η^(rate + r).
      let rung = 0;
      for (;;) {
        const at = minResource * eta ** (rate + rung);
        if (at > step + 1) return false;
        if (at === step + 1) break;
        rung++;
      }
      const value = trial.intermediate.get(step);
      if (value === undefined || !Number.isFinite(value)) return false;
      const competing = trials.map((t) => t.intermediate.get(step)).filter((v): v is number => v !== undefined && Number.isFinite(v));
      competing.sort((a, b) => (direction === 'minimize' ? a - b : b - a));
      const promotable = Math.max(0, Math.floor(competing.length / eta) - 1);
      const bar = competing[promotable];
      return direction === 'minimize' ? value > bar : value < bar;
    },
  };
}

export const PRUNERS = ['median', 'asha', 'none'] as const;

export function makePruner(name: string): Pruner {
  if (name === 'median') return medianPruner();
  if (name === 'asha') return ashaPruner();
  if (name === 'none') return noPruner;
  throw invalidArgument(`pruner "${name}" is not one of ${PRUNERS.join(', ')}`);
}
