/**
 * A worker thread that fits one model at a time (a study's parallel trials, a pipeline's train
 * step): it reports every round to the thread that asked and stops when that one sets the
 * job's stop flag (a pruned trial).
 */
import { parentPort } from 'node:worker_threads';
import { fit, type ResolvedParams } from '../fit.js';
import type { TrainingData } from '../types.js';

export interface FitJob {
  resolved: ResolvedParams;
  train: TrainingData;
  valid?: TrainingData;
  /** Set to 1 by the asking thread to stop the fit (a pruned trial). */
  stop: Int32Array;
  /** Threads the fit may use (see trainGbdt); unset, as many as pay for the data. */
  threads?: number;
}

export type FitMessage = { kind: 'round'; report: import('../types.js').RoundReport } | { kind: 'done'; fitted: import('../fit.js').Fitted } | { kind: 'error'; message: string; code?: string };

parentPort?.on('message', async (job: FitJob) => {
  try {
    const fitted = await fit(job.resolved, job.train, {
      valid: job.valid,
      threads: job.threads,
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
