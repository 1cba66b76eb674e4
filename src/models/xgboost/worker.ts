/**
 * A worker thread of the shared tree pool: keeps the forests it has been handed (shared
 * memory, not copies) and evaluates row ranges of shared input matrices into shared outputs.
 */
import { parentPort } from 'node:worker_threads';
import { accumulateMargins, type Forest } from './forest.js';

export type WorkerMessage =
  | { kind: 'forest'; forestId: number; forest: Forest }
  | { kind: 'drop'; forestId: number }
  | { kind: 'job'; id: number; forestId: number; x: Float32Array; stride: number; begin: number; end: number; out: Float32Array };

const forests = new Map<number, Forest>();

parentPort?.on('message', (msg: WorkerMessage) => {
  if (msg.kind === 'forest') forests.set(msg.forestId, msg.forest);
  else if (msg.kind === 'drop') forests.delete(msg.forestId);
  else {
    try {
      const forest = forests.get(msg.forestId);
      if (!forest) throw new Error(`forest ${msg.forestId} was never sent to this worker`);
      const k = forest.numGroups;
      accumulateMargins(forest, msg.x, msg.stride, msg.begin, msg.end, msg.out.subarray(msg.begin * k, msg.end * k));
      parentPort!.postMessage({ id: msg.id });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  }
});
