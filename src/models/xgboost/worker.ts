/**
 * A worker thread of the shared tree pool: keeps the forests it has been handed (shared
 * memory, not copies) and evaluates row ranges of shared input matrices into shared outputs.
 */
import { parentPort } from 'node:worker_threads';
import { accumulateMargins, type Forest } from './forest.js';

export type WorkerMessage =
  | { kind: 'counters'; counters: Int32Array }
  | { kind: 'forest'; forestId: number; forest: Forest }
  | { kind: 'drop'; forestId: number }
  /** Rows of a call: pieces of `piece` rows from counters[counter] on, until `rows`; the other workers of the call take from the same counter. */
  | { kind: 'job'; id: number; forestId: number; x: Float32Array; stride: number; rows: number; piece: number; counter: number; out: Float32Array };

const forests = new Map<number, Forest>();
let counters: Int32Array = new Int32Array(0);

parentPort?.on('message', (msg: WorkerMessage) => {
  if (msg.kind === 'counters') counters = msg.counters;
  else if (msg.kind === 'forest') forests.set(msg.forestId, msg.forest);
  else if (msg.kind === 'drop') forests.delete(msg.forestId);
  else {
    try {
      const forest = forests.get(msg.forestId);
      if (!forest) throw new Error(`forest ${msg.forestId} was never sent to this worker`);
      const k = forest.numGroups;
      for (let begin = Atomics.add(counters, msg.counter, msg.piece); begin < msg.rows; begin = Atomics.add(counters, msg.counter, msg.piece)) {
        const end = Math.min(msg.rows, begin + msg.piece);
        accumulateMargins(forest, msg.x, msg.stride, begin, end, msg.out.subarray(begin * k, end * k));
      }
      parentPort!.postMessage({ id: msg.id });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  }
});
