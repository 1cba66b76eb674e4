/**
 * The second thread of a fit: builds its share of the features of a node's histogram from the
 * shared node-ordered bins and gradients, in the same row order as the fitting thread, so every
 * bin holds the same sum as a one-thread build, or partitions the second half of a node's rows.
 * Jobs and their ends pass through `control` (see HistThreads); between jobs the thread spins a
 * little (see spin), then blocks.
 */
import { parentPort } from 'node:worker_threads';
import { spin, type HistWorkerData } from './hist-threads.js';
import { addRowsToHist, countLeft, partitionRows } from './histogram.js';
import { computeGradients } from './objectives.js';
import { JOB, BEGIN, END, COUNT, DONE, FAILED, ALIVE, WORDS, FEATURE, BIN, EDGE, CATEGORICAL, NODE_BEGIN, COPY, OWN_LEFT, OWN_LEFT_JOB, HELPER_LEFT, HELPER_LEFT_JOB, GRADIENTS, LEAVES } from './hist-threads.js';

const { control, node, stride, side, rightBins, leaves, features, offsets, errors, gradients } = await new Promise<HistWorkerData>((resolve) => parentPort!.once('message', resolve));
// The fitting thread blocks (synchronously) on this thread's jobs: however the thread ends, even
// by an exception outside a job, it must be woken to see it, not hang.
process.on('exit', () => {
  Atomics.store(control, ALIVE, 0);
  Atomics.notify(control, DONE);
});
parentPort!.postMessage('ready');
/** One job: the features' bins zeroed, then every row's gradient added to its bins. */
function build(copy: number, begin: number, end: number, nf: number): void {
  for (let j = 0; j < nf; j++) side.fill(0, offsets[features[j]] << 1, offsets[features[j] + 1] << 1);
  addRowsToHist(side, node[copy].bins, stride, node[copy].gh, begin, end, features, nf);
}

/**
 * The second half [half, end) of a node's partition: its left count goes to the fitting thread,
 * whose count of the first half places this half's rows (see HistThreads.postPartition).
 */
function partition(job: number, copy: number, half: number, end: number): void {
  const categories = control[CATEGORICAL] === 1 ? rightBins : undefined;
  const feature = control[FEATURE];
  const bin = control[BIN];
  const edge = control[EDGE];
  const left = countLeft(node[copy], stride, half, end, feature, bin, edge, categories);
  control[HELPER_LEFT] = left;
  Atomics.store(control, HELPER_LEFT_JOB, job);
  Atomics.notify(control, HELPER_LEFT_JOB);
  for (;;) {
    const seen = spin(control, OWN_LEFT_JOB, Atomics.load(control, OWN_LEFT_JOB));
    if (seen === job) break;
    // A fit that ended (it threw) before its count came never sends it.
    if (Atomics.load(control, JOB) < 0) throw new Error('the fit ended in the middle of a partition');
    Atomics.wait(control, OWN_LEFT_JOB, seen, 1000);
  }
  // The first half's rows going left come first, then this half's; the right rows follow all the left ones in the same order.
  // The root's copy over the training bins (2) partitions into copy 1, as copy 0 does.
  const leftAt = control[NODE_BEGIN] + control[OWN_LEFT];
  partitionRows(node[copy], node[(copy & 1) ^ 1], stride, control[WORDS], half, end, leftAt, half + left, feature, bin, edge, categories);
}

function gradientsOf(begin: number, end: number): void {
  if (!gradients) throw new Error('a gradient job reached a thread started without gradient arrays');
  const { params, margins, labels, weights, grad, hess } = gradients;
  computeGradients(params.objective, params, margins.subarray(begin, end), labels.subarray(begin, end), weights.subarray(begin, end), 1, grad.subarray(begin, end), hess.subarray(begin, end));
}

/** Leaves [from, to) of `leaves` (see HistThreads.postLeaves): each leaf's value added to the margins of its rows. */
function addLeaves(from: number, to: number): void {
  if (!gradients) throw new Error('a leaf job reached a thread started without margins');
  const { margins } = gradients;
  for (let l = from; l < to; l++) {
    const rows = node[leaves[l * 4]].rows;
    const value = leaves[l * 4 + 3];
    for (let i = leaves[l * 4 + 1], end = leaves[l * 4 + 2]; i < end; i++) margins[rows[i]] = Math.fround(margins[rows[i]] + value);
  }
}

let seen = 0;
for (;;) {
  if (spin(control, JOB, seen) === seen) Atomics.wait(control, JOB, seen);
  seen = Atomics.load(control, JOB);
  if (seen < 0) break;
  try {
    if (control[COUNT] === GRADIENTS) gradientsOf(control[BEGIN], control[END]);
    else if (control[COUNT] === LEAVES) addLeaves(control[BEGIN], control[END]);
    else if (control[COUNT] === 0) partition(seen, control[COPY], control[BEGIN], control[END]);
    else build(control[COPY], control[BEGIN], control[END], control[COUNT]);
  } catch (err) {
    // Read synchronously (receiveMessageOnPort) by the blocked fitting thread, which throws it.
    errors.postMessage((err as Error)?.stack ?? String(err));
    control[FAILED] = 1;
  } finally {
    Atomics.store(control, DONE, seen);
    Atomics.notify(control, DONE);
  }
}
