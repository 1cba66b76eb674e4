/** A trial worker in its own process, for a test to kill mid-trial: `trial-worker-process.ts URI LOCK_MS`. */
import { startBullWorkers } from '../../src/storage/queue-bullmq.js';
import { trialHandler, type TrialResult, type TrialTask } from '../../src/training/search/queue-fitter.js';

const [uri, lockMs] = process.argv.slice(2);
const handler = trialHandler(uri.split('?')[0], `process-${process.pid}`);
await startBullWorkers<TrialTask, TrialResult>(uri, (task) => handler.run(task), { concurrency: 1, gpu: false, lockMs: Number(lockMs) });
process.stdout.write('ready\n');
