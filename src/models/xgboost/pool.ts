/**
 * Worker threads that evaluate one forest in parallel. The forest, the input matrix and the
 * output margins all live in SharedArrayBuffers, so a job message carries only offsets.
 * Workers are started on first use and do not keep the process alive while idle.
 */
import { Worker } from 'node:worker_threads';
import { failedPrecondition, unavailable } from '../../core/errors.js';
import type { Forest } from './forest.js';
import type { WorkerJob } from './worker.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/**
 * Run from TypeScript sources (tests, benchmarks under tsx), a worker does not inherit tsx's
 * loader before its entry module is resolved, so it registers tsx first, then imports the entry.
 */
function spawn(workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: () => void; reject: (err: Error) => void }>;
}

export class TreePool {
  private slots: Slot[] | undefined;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly forest: Forest,
    readonly size: number,
  ) {}

  private start(): Slot[] {
    if (this.closed) throw failedPrecondition('predictor is closed');
    if (this.slots) return this.slots;
    this.slots = Array.from({ length: this.size }, () => {
      const worker = spawn(this.forest);
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (msg: { id: number; error?: string }) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        if (slot.pending.size === 0) worker.unref();
        if (msg.error) p.reject(failedPrecondition(`tree evaluation failed: ${msg.error}`));
        else p.resolve();
      });
      worker.on('error', (err) => {
        for (const p of slot.pending.values()) p.reject(unavailable(`tree worker crashed: ${err.message}`));
        slot.pending.clear();
      });
      worker.unref();
      return slot;
    });
    return this.slots;
  }

  /**
   * Adds margins for all `rows` of `x` (shared, row-major, `stride` columns) into `out`
   * (shared, base margins already filled), split evenly across the workers.
   */
  run(x: Float32Array, stride: number, rows: number, out: Float32Array): Promise<void> {
    const slots = this.start();
    const chunk = Math.ceil(rows / slots.length);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < slots.length && i * chunk < rows; i++) {
      const slot = slots[i];
      const job: WorkerJob = { id: this.nextId++, x, stride, begin: i * chunk, end: Math.min(rows, (i + 1) * chunk), out };
      jobs.push(
        new Promise<void>((resolve, reject) => {
          slot.pending.set(job.id, { resolve, reject });
          slot.worker.ref();
          slot.worker.postMessage(job);
        }),
      );
    }
    return Promise.all(jobs).then(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots ?? [];
    this.slots = undefined;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
