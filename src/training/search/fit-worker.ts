/**
 * A worker thread that fits one model at a time for a study's parallel trials: it reports every
 * round to the study's thread and stops when the study sets the trial's prune flag.
 */
import { parentPort } from 'node:worker_threads';
import { fit, type ResolvedParams } from '../fit.js';
import type { TrainingData } from '../types.js';

export interface FitJob {
  resolved: ResolvedParams;
  train: TrainingData;
  valid?: TrainingData;
  /** Set to 1 by the study's thread to stop the trial (pruned). */
  stop: Int32Array;
}

export type FitMessage = { kind: 'round'; report: import('../types.js').RoundReport } | { kind: 'done'; fitted: import('../fit.js').Fitted } | { kind: 'error'; message: string; code?: string };

parentPort?.on('message', async (job: FitJob) => {
  try {
    const fitted = await fit(job.resolved, job.train, {
      valid: job.valid,
      // Parallel trials already keep the cores busy: a helper thread per trial would only contend.
      threads: 1,
      onRound: (report) => {
        parentPort!.postMessage({ kind: 'round', report } satisfies FitMessage);
        return Atomics.load(job.stop, 0) === 1;
      },
    });
    parentPort!.postMessage({ kind: 'done', fitted } satisfies FitMessage);
  } catch (err) {
    parentPort!.postMessage({ kind: 'error', message: (err as Error).message, code: (err as { code?: string }).code } satisfies FitMessage);
  }
});
