/**
 * A second thread for the histograms and partitions of one fit. A node's features are split in
 * two: the fitting thread sums the first half into the node's histogram while the helper sums the
 * second half into its own buffer, which is then copied in. Each bin is still summed over the
 * rows in the same order, so the trees are exactly those of one thread. A node's partition is
 * split by rows: the helper copies the second half to its places (see TreeGrower's partition).
 * The node-ordered rows live in shared memory; a job is a few integers and an Atomics notify, so
 * the fitting thread never goes back to the event loop in the middle of a tree. Small data gets no
 * helper (starting a thread costs more than it saves), and small nodes are built by the fitting
 * thread alone.
 */
import { cpuCount } from '../../core/cpus.js';
import { once } from 'node:events';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { sharedArray } from '../../core/shared-array.js';
import { spawnModuleWorker } from '../../core/workers.js';
import type { NodeRows } from './histogram.js';
import type { GbdtParams } from './params.js';

/**
 * Slots of the control array: job number (-1 ends the thread), row range, feature count (0 for
 * a partition), finished job, failure flag, whether the thread runs, the node copy read; a
 * partition's bin words a row, feature, bin, edge, whether rightBins holds its categories, where
 * the node begins, the left count of the fitting thread's half and the job it belongs to, and the
 * left count of the helper's half and its job.
 */
export const JOB = 0;
export const BEGIN = 1;
export const END = 2;
export const COUNT = 3;
export const DONE = 4;
export const FAILED = 5;
export const ALIVE = 6;
export const WORDS = 7;
export const FEATURE = 8;
export const BIN = 9;
export const EDGE = 10;
export const CATEGORICAL = 11;
export const NODE_BEGIN = 12;
export const COPY = 13;
export const OWN_LEFT = 14;
export const OWN_LEFT_JOB = 15;
export const HELPER_LEFT = 16;
export const HELPER_LEFT_JOB = 17;
/** COUNT of a gradient job (a histogram job has features, a partition 0). */
export const GRADIENTS = -1;
/** COUNT of a job adding leaf values to the margins. */
export const LEAVES = -2;
/** Leaves a job adding leaf values can take: their copy, row range and value, four slots each. */
export const LEAF_CAPACITY = 1024;

/** One output group's gradient inputs and outputs, row by row, in shared memory. */
export interface GradientArrays {
  params: GbdtParams;
  margins: Float64Array;
  labels: Float64Array;
  weights: Float64Array;
  grad: Float64Array;
  hess: Float64Array;
}

export interface HistWorkerData {
  control: Int32Array;
  /** The fitting thread's rows in node order (TreeGrower's node and stride). */
  node: NodeRows[];
  stride: number;
  side: Float64Array;
  /** A categorical partition's direction per bin. */
  rightBins: Uint8Array;
  /** A leaf job's leaves (see LEAF_CAPACITY). */
  leaves: Float64Array;
  features: Int32Array;
  offsets: Uint32Array;
  /** Where the thread sends a failed job's error. */
  errors: MessagePort;
  /** Present when the helper computes part of each round's gradients (one output group). */
  gradients?: GradientArrays;
}

/** Cells (rows × features) a fit needs before a helper thread pays for its start. */
const MIN_FIT_CELLS = 1 << 22;
/** Cells a node needs before its histogram is split between the threads. */
const MIN_NODE_CELLS = 1 << 16;
/** Rows a node needs before its partition is split between the threads. */
const MIN_PARTITION_ROWS = 1 << 15;

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './hist-worker.ts' : './hist-worker.js', import.meta.url);

/** How long collect blocks before it looks again whether the thread still runs. */
const WAIT_MS = 1000;

/**
 * Rounds of Atomics.load (about 7 ns each here, so some 20 µs) a thread spins for the other's
 * answer before it sleeps: a futex wake took about 40 µs on this kind of VM against well under one
 * for a spinning thread, and a node's job often ends within that. Longer spins kept V8's
 * background compiler and collector from the second core.
 */
const SPINS = 3_000;

/** Spins up to SPINS rounds while control[index] holds `value`; answers what it holds then. */
export function spin(control: Int32Array, index: number, value: number): number {
  let now = Atomics.load(control, index);
  for (let i = 0; now === value && i < SPINS; i++) now = Atomics.load(control, index);
  return now;
}

/** Threads a fit uses by default: two on a machine with two cores or more once the data is large. */
export const defaultThreads = (rows: number, numFeature: number): number => (cpuCount() >= 2 && rows * numFeature >= MIN_FIT_CELLS ? 2 : 1);

export class HistThreads {
  /** Jobs posted to helper threads in this process, by kind (so tests can tell the threads really shared each kind of work). */
  static readonly posted = { histograms: 0, partitions: 0, gradients: 0, leaves: 0 };
  private job = 0;
  private readonly features: Int32Array;
  /** An error the thread emitted (it ran out of memory, say), kept so it is reported rather than thrown at the process. */
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly data: HistWorkerData,
    private readonly errors: MessagePort,
  ) {
    this.features = data.features;
    worker.on('error', (err) => (this.failure ??= err));
  }

  /** A helper thread loading its modules, for start; spawned early, it loads while the fit bins its data. */
  static spawn(): Worker {
    const worker = spawnModuleWorker(WORKER_URL);
    // A fit that ends without close (it threw in between) must not keep the process alive.
    worker.unref();
    return worker;
  }

  /**
   * Starts the helper (`worker`, from spawn, which this terminates if the start fails) over the
   * node-ordered rows of the fit, whose arrays must be shared.
   */
  static async start(node: NodeRows[], stride: number, offsets: Uint32Array, worker = HistThreads.spawn(), gradients?: GradientArrays): Promise<HistThreads> {
    const numFeature = offsets.length - 1;
    const { port1, port2 } = new MessageChannel();
    const data: HistWorkerData = {
      control: sharedArray(Int32Array, 18),
      node,
      stride,
      // Every bin and the missing slot (the index after the last bin).
      side: sharedArray(Float64Array, (offsets[numFeature] + 1) * 2),
      rightBins: sharedArray(Uint8Array, offsets[numFeature] + 1),
      leaves: sharedArray(Float64Array, LEAF_CAPACITY * 4),
      features: sharedArray(Int32Array, numFeature),
      offsets,
      errors: port2,
      ...(gradients ? { gradients } : {}),
    };
    data.control[ALIVE] = 1;
    const settled = new AbortController();
    try {
      worker.postMessage(data, [port2]);
      // A thread that fails to start (its module does not load) exits instead of answering.
      await Promise.race([
        once(worker, 'message', { signal: settled.signal }),
        once(worker, 'exit', { signal: settled.signal }).then(([code]) => {
          throw new Error(`the histogram thread of the fit exited with code ${code as number} before it started`);
        }),
      ]);
    } catch (err) {
      port1.close();
      await worker.terminate();
      throw err;
    } finally {
      settled.abort();
    }
    return new HistThreads(worker, data, port1);
  }

  /** Whether a node of this many rows and features is worth splitting between the threads. */
  worth(rows: number, features: number): boolean {
    return rows * features >= MIN_NODE_CELLS && features >= 2;
  }

  /** Whether a node of this many rows is worth partitioning in two halves. */
  worthPartition(rows: number): boolean {
    return rows >= MIN_PARTITION_ROWS;
  }

  /** Starts the helper on rows [begin, end) of node copy `copy` for `features` (the second half of a node's). */
  post(copy: number, begin: number, end: number, features: Int32Array): void {
    this.features.set(features);
    this.postJob(copy, begin, end, features.length);
  }

  /**
   * Starts the helper partitioning rows [half, end), the second half of the node from `begin`,
   * of node copy `copy` into the other, as partitionRows with these arguments. It counts the
   * rows of its half going left while the fitting thread counts those of the first half; then
   * each learns the other's count through exchangeCounts, which places every row.
   */
  postPartition(copy: number, words: number, begin: number, half: number, end: number, feature: number, bin: number, edge: number, rightBins: Uint8Array | undefined): void {
    const { control } = this.data;
    if (rightBins) this.data.rightBins.set(rightBins);
    control[WORDS] = words;
    control[NODE_BEGIN] = begin;
    control[FEATURE] = feature;
    control[BIN] = bin;
    control[EDGE] = edge;
    control[CATEGORICAL] = rightBins ? 1 : 0;
    this.postJob(copy, half, end, 0);
  }

  /** Gives the helper the left count of the first half of the posted partition and answers that of its half. */
  exchangeCounts(left: number): number {
    const { control } = this.data;
    control[OWN_LEFT] = left;
    Atomics.store(control, OWN_LEFT_JOB, this.job);
    Atomics.notify(control, OWN_LEFT_JOB);
    for (;;) {
      const seen = spin(control, HELPER_LEFT_JOB, Atomics.load(control, HELPER_LEFT_JOB));
      if (seen === this.job) return control[HELPER_LEFT];
      // A helper that failed before counting has finished the job.
      if (Atomics.load(control, DONE) === this.job) {
        this.wait();
        throw this.failed('failed');
      }
      if (Atomics.load(control, ALIVE) === 0) throw this.failed('stopped');
      Atomics.wait(control, HELPER_LEFT_JOB, seen, WAIT_MS);
    }
  }

  /** Starts the helper computing the gradients of rows [begin, end) into the arrays given to start. */
  postGradients(begin: number, end: number): void {
    this.postJob(0, begin, end, GRADIENTS);
  }

  /**
   * Starts the helper adding each leaf's value to margins[r] of its rows r, `leaves` holding a
   * leaf's node copy, row range and value a leaf (at most LEAF_CAPACITY leaves), if `margins` are
   * the margins given to start; answers whether it did.
   */
  postLeaves(margins: Float64Array, leaves: number[]): boolean {
    if (margins !== this.data.gradients?.margins || leaves.length > LEAF_CAPACITY * 4) return false;
    this.data.leaves.set(leaves);
    this.postJob(0, 0, leaves.length >> 2, LEAVES);
    return true;
  }

  private postJob(copy: number, begin: number, end: number, count: number): void {
    const { control } = this.data;
    control[COPY] = copy;
    control[BEGIN] = begin;
    control[END] = end;
    control[COUNT] = count;
    HistThreads.posted[count > 0 ? 'histograms' : count === 0 ? 'partitions' : count === GRADIENTS ? 'gradients' : 'leaves']++;
    Atomics.store(control, JOB, ++this.job);
    Atomics.notify(control, JOB);
  }

  /** Waits for the posted job (a partition's rows are then in place). */
  wait(): void {
    const { control } = this.data;
    for (;;) {
      let done = Atomics.load(control, DONE);
      if (done !== this.job) done = spin(control, DONE, done);
      if (done === this.job) break;
      if (Atomics.load(control, ALIVE) === 0) throw this.failed('stopped');
      Atomics.wait(control, DONE, done, WAIT_MS);
    }
    if (control[FAILED] === 1) throw this.failed('failed');
  }

  /** Waits for the posted job and copies its features' bins into `hist`. */
  collect(hist: Float64Array, features: Int32Array): void {
    const { side, offsets } = this.data;
    this.wait();
    for (let j = 0; j < features.length; j++) {
      const from = offsets[features[j]] << 1;
      hist.set(side.subarray(from, offsets[features[j] + 1] << 1), from);
    }
  }

  private failed(how: string): Error {
    const reason = (receiveMessageOnPort(this.errors)?.message as string | undefined) ?? this.failure?.message;
    return new Error(`the histogram thread of the fit ${how}${reason ? `: ${reason}` : ''}`);
  }

  async close(): Promise<void> {
    Atomics.store(this.data.control, JOB, -1);
    Atomics.notify(this.data.control, JOB);
    this.errors.close();
    await this.worker.terminate();
  }
}
