/**
 * `modelport worker --queue redis://…`: a process that runs pipeline steps from a BullMQ queue.
 * It opens the same stores as the driver (--store, --artifacts) because step inputs and outputs
 * travel through the artifact store, never through this machine's disk.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { createPlatform } from '../platform.js';
import { parseDuration, parseResources, type Resources } from '../pipelines/definition.js';
import type { StepResult, StepTask } from '../pipelines/task.js';
import type { TrialResult, TrialTask } from '../training/search/queue-fitter.js';
import { configFrom } from './context.js';

interface WorkerFlags {
  concurrency: string;
  resources?: string;
  stallTimeout: string;
}

/** Waits for `units` of the worker's CPUs; a step asking for more than the worker has takes all of them. */
class CpuSlots {
  private free: number;
  private readonly waiting: { units: number; go: () => void }[] = [];

  constructor(private readonly total: number) {
    this.free = total;
  }

  async take(units: number): Promise<number> {
    const n = Math.min(units, this.total);
    if (this.waiting.length === 0 && this.free >= n) {
      this.free -= n;
      return n;
    }
    await new Promise<void>((go) => this.waiting.push({ units: n, go }));
    return n;
  }

  give(units: number): void {
    this.free += units;
    while (this.waiting.length > 0 && this.free >= this.waiting[0].units) {
      const next = this.waiting.shift()!;
      this.free -= next.units;
      next.go();
    }
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run pipeline steps and tune trials from the BullMQ queue named by --queue redis://HOST:PORT?name=QUEUE (the driver uses the same --queue)')
    .option('--concurrency <n>', 'steps at once', '1')
    .option('--resources <list>', 'what this worker offers, e.g. cpu=2,gpu=0,memory=8Gi (default: cpu=concurrency)')
    .option('--stall-timeout <duration>', "how long a dead worker's step waits before another worker runs it", '30s')
    .action(async (flags: WorkerFlags, cmd: Command) => {
      const concurrency = Number(flags.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw invalidArgument(`--concurrency: "${flags.concurrency}" is not a whole number from 1 to 1000`);
      const resources: Resources = parseResources(flags.resources ?? '', '--resources', { cpu: concurrency, gpu: 0, memory: Number.MAX_SAFE_INTEGER });
      const lockMs = parseDuration(flags.stallTimeout, '--stall-timeout');
      const { startBullWorkers, parseBullUri } = await import('../storage/queue-bullmq.js');
      const { isTrialTask, trialHandler } = await import('../training/search/queue-fitter.js');
      const config = configFrom(cmd);
      if (config.queue.kind !== 'redis') throw invalidArgument('--queue: a worker needs the queue to take steps from, e.g. --queue redis://127.0.0.1:6379');
      const uri = config.queue.url;
      const { name, url } = parseBullUri(uri);
      const platform = await createPlatform({ ...config, logLevel: 'silent' });
      const slots = new CpuSlots(Math.max(1, resources.cpu));
      const pipelines = platform.services.pipelines;
      const trials = trialHandler(url, `${pipelines.hostname}:${process.pid}`);
      const workers = await startBullWorkers<StepTask | TrialTask, StepResult | TrialResult>(
        uri,
        async (task, signal) => {
          // A study's trial (tune --queue) fits on one CPU, as a local trial does.
          if (isTrialTask(task)) {
            await slots.take(1);
            try {
              return await trials.run(task);
            } finally {
              slots.give(1);
            }
          }
          const units = await slots.take(Math.max(1, Math.ceil(task.step.resources.cpu)));
          try {
            return await pipelines.runLocally(task, signal);
          } finally {
            slots.give(units);
          }
        },
        { concurrency, gpu: resources.gpu > 0, lockMs },
      );
      process.stdout.write(`worker ${pipelines.hostname}:${process.pid} ready on queue ${name} (concurrency ${concurrency}, cpu=${resources.cpu}, gpu=${resources.gpu})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      process.stdout.write('worker: finishing the steps it holds\n');
      await workers.close();
      trials.close();
      await platform.close();
    });
}
