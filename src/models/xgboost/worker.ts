/**
 * Worker thread of a TreePool: holds one forest (shared memory) and evaluates row ranges of
 * shared input matrices into shared output buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { accumulateMargins, type Forest } from './forest.js';

export interface WorkerJob {
  id: number;
  x: Float32Array;
  stride: number;
  begin: number;
  end: number;
  out: Float32Array;
}

const forest = workerData as Forest;

parentPort!.on('message', (job: WorkerJob) => {
  try {
    const k = forest.numGroups;
    accumulateMargins(forest, job.x, job.stride, job.begin, job.end, job.out.subarray(job.begin * k, job.end * k));
    parentPort!.postMessage({ id: job.id });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
