/**
 * Task queue port: the driver of a pipeline submits a step's task and awaits its result; where
 * the task runs is the adapter's business. `local` runs it in this process; the BullMQ adapter
 * (queue-bullmq.ts, loaded only when a redis:// URI asks for it) hands it to worker processes.
 * Tasks and results are plain JSON.
 */
export interface TaskQueue<T, R> {
  readonly kind: 'local' | 'redis';
  /**
   * Runs `task` once under `id` and resolves with its result. Submitting an id that is already
   * queued or running waits for that one instead of starting another (a resumed driver
   * re-attaches to its steps). Aborting `signal` cancels the task wherever it runs.
   */
  submit(id: string, task: T, signal: AbortSignal, options?: SubmitOptions): Promise<R>;
  close(): Promise<void>;
}

export interface SubmitOptions {
  /** Only workers that declare a GPU take the task. */
  gpu?: boolean;
}

export type TaskHandler<T, R> = (task: T, signal: AbortSignal) => Promise<R>;

/** Runs every task in this process, at once (the driver limits how many it submits). */
export function localQueue<T, R>(handler: TaskHandler<T, R>): TaskQueue<T, R> {
  const running = new Map<string, Promise<R>>();
  return {
    kind: 'local',
    submit(id, task, signal) {
      const existing = running.get(id);
      if (existing) return existing;
      const p = handler(task, signal).finally(() => running.delete(id));
      running.set(id, p);
      return p;
    },
    async close() {
      await Promise.allSettled(running.values());
    },
  };
}
