/**
 * Fits models in worker threads, one fit per worker: a study's parallel trials use every core,
 * and a fit in a server's process (a pipeline's train step) leaves its event loop free. Round
 * reports come back as messages; the answer to a round (prune or not) reaches the worker
 * through a shared flag it reads after each round.
 */
import type { Worker } from 'node:worker_threads';
import { ModelportError, unavailable, type ErrorCode } from '../../core/errors.js';
import { spawnModuleWorker } from '../../core/workers.js';
import type { Fitter } from '../session.js';
import type { FitJob, FitMessage } from './fit-worker.js';

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './fit-worker.ts' : './fit-worker.js', import.meta.url);

export class WorkerFitter {
  private idle: Worker[] = [];
  private all: Worker[] = [];

  /** `threads`: what each fit may use (see trainGbdt); unset, as many as pay for its data. */
  constructor(private readonly threads?: number) {}

  private take(): Worker {
    const w = this.idle.pop();
    if (w) return w;
    const worker = spawnModuleWorker(WORKER_URL);
    this.all.push(worker);
    return worker;
  }

  readonly fit: Fitter = (resolved, train, options = {}) =>
    new Promise((resolve, reject) => {
      const worker = this.take();
      const stop = new Int32Array(new SharedArrayBuffer(4));
      let chain = Promise.resolve();
      const detach = () => {
        worker.off('message', onMessage);
        worker.off('error', lost);
        worker.off('exit', onExit);
      };
      const finish = () => {
        detach();
        this.idle.push(worker);
      };
      const lost = (err: Error) => {
        detach();
        this.all = this.all.filter((w) => w !== worker);
        reject(err);
      };
      // close() in the middle of a fit (a cancelled pipeline step) stops it: its promise must end too.
      const onExit = (code: number) => lost(unavailable(`the fit's thread stopped (exit code ${code}) before the fit ended`));
      const onMessage = (msg: FitMessage) => {
        if (msg.kind === 'round') {
          // Rounds are handled in order; a prune decision sets the flag the worker reads.
          chain = chain.then(async () => {
            if ((await options.onRound?.(msg.report)) === true) Atomics.store(stop, 0, 1);
          });
          return;
        }
        chain.then(() => {
          finish();
          if (msg.kind === 'done') resolve(msg.fitted);
          else reject(new ModelportError((msg.code as ErrorCode) ?? 'Internal', msg.message));
        }, reject);
      };
      worker.on('message', onMessage);
      worker.on('error', lost);
      worker.on('exit', onExit);
      worker.postMessage({ resolved, train, valid: options.valid, stop, ...(this.threads === undefined ? {} : { threads: this.threads }) } satisfies FitJob);
    });

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all = [];
    this.idle = [];
  }
}
