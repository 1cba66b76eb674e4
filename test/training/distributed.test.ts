import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ModelportClient } from '../../src/client/client.js';
import { ClientTrainingTracker, runStudy } from '../../src/client/training.js';
import type { RunningServer } from '../../src/server/serve.js';
import { startBullWorkers, type BullWorkers } from '../../src/storage/queue-bullmq.js';
import { resolveParams } from '../../src/training/fit.js';
import { QueueFitter, runTrialTask, trialHandler, TRIAL_PROTOCOL, type TrialResult, type TrialTask } from '../../src/training/search/queue-fitter.js';
import { parseSpace } from '../../src/training/search/space.js';
import { REDIS_URL, redisSkip } from '../helpers/services.js';
import { testServer } from '../helpers/platform.js';
import { breastCancer, FIXTURES, LOANS } from './helpers.js';

const TRAIN = `${FIXTURES}breast_cancer_train.csv`;
const TEST = `${FIXTURES}breast_cancer_test.csv`;
const skip = await redisSkip();
const queueName = `test-trials-${randomUUID().slice(0, 8)}`;
const uri = `${REDIS_URL}?name=${queueName}`;
const killedQueue = `${queueName}-killed`;

let server: RunningServer;
let client: ModelportClient;
const workers: BullWorkers[] = [];
const handlers: ReturnType<typeof trialHandler>[] = [];
/** Trials each in-process worker ran. */
const ran = [0, 0];

before(async () => {
  if (skip) return;
  server = await testServer();
  client = new ModelportClient(server.url);
  for (const i of [0, 1]) {
    const handler = trialHandler(REDIS_URL, `worker-${i}`);
    handlers.push(handler);
    workers.push(
      await startBullWorkers<TrialTask, TrialResult>(
        uri,
        async (task) => {
          ran[i]++;
          return handler.run(task);
        },
        { concurrency: 1, gpu: false },
      ),
    );
  }
});

after(async () => {
  if (skip) return;
  for (const w of workers) await w.close();
  for (const h of handlers) h.close();
  await client.close();
  await server.close();
  const redis = new Redis(REDIS_URL);
  const keys = [...(await redis.keys(`modelport:${queueName}*`)), ...(await redis.keys(`modelport:${killedQueue}*`))];
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test('a study with --queue runs its trials on two workers, prunes on their rounds, and matches the local study', { skip }, async () => {
  const space = parseSpace({ eta: { type: 'float', low: 0.001, high: 0.5, log: true }, max_depth: { type: 'int', low: 1, high: 4 } });
  const base = { file: TRAIN, target: 'target', valid: TEST, params: { n_estimators: 30 }, space, trials: 10, parallel: 2, sampler: 'random', pruner: 'median', seed: 5 };
  const tracker = new ClientTrainingTracker(client, { url: server.url });
  const remote = await runStudy({ ...base, queue: uri, experiment: 'dist-tune', study: 'dist', register: 'dist-best' }, tracker);

  assert.equal(ran[0] + ran[1], 10);
  assert.ok(ran[0] > 0 && ran[1] > 0, `both workers take trials (${ran.join(', ')})`);
  assert.ok(remote.trials.every((t) => t.state === 'COMPLETE' || t.state === 'PRUNED'));
  const pruned = remote.trials.filter((t) => t.state === 'PRUNED');
  assert.ok(pruned.length > 0, 'the median pruner stops some trials');
  // The worker waits for the study's answer to every round, so a pruned trial stops right after the
  // round its pruner answered: its last intermediate value is the one the pruner judged.
  for (const t of pruned) assert.ok(t.intermediate.size < 30, `trial ${t.number} ran ${t.intermediate.size} rounds`);

  // Every trial's curve, round by round, is in its tracking run.
  const children = await tracker.childRuns(remote.parentRunId!);
  assert.equal(children.length, 10);
  for (const child of children) {
    const trial = remote.trials.find((t) => t.number === Number(child.tags.modelport_trial))!;
    assert.equal((await tracker.history(child.runId, 'validation-auc')).length, trial.intermediate.size);
  }

  // The same seed locally samples the same parameters; a trial both studies complete has the same value.
  const local = await runStudy({ ...base, parallel: 1 });
  assert.deepEqual(
    remote.trials.map((t) => t.params),
    local.trials.map((t) => t.params),
  );
  // Which trials are pruned can differ (two at once see fewer finished trials than one after another).
  let compared = 0;
  for (const t of remote.trials) {
    const l = local.trials.find((x) => x.number === t.number)!;
    if (t.state === 'COMPLETE' && l.state === 'COMPLETE') {
      assert.ok(Math.abs(t.value! - l.value!) < 1e-12, `trial ${t.number}: ${t.value} against ${l.value}`);
      compared++;
    }
  }
  assert.ok(compared > 0);

  // The best trial's model came back from its worker and was registered.
  const completes = remote.trials.filter((t) => t.state === 'COMPLETE');
  assert.equal(remote.best!.value, Math.max(...completes.map((t) => t.value!)));
  assert.equal(remote.bestFitted!.kind, 'gbdt');
  assert.ok(remote.modelVersion! >= 1);
});

test('a study with a queue URI that is not redis:// is refused before any training', { skip }, async () => {
  const space = parseSpace({ eta: { type: 'float', low: 0.01, high: 0.5 } });
  await assert.rejects(runStudy({ file: TRAIN, target: 'target', space, trials: 1, queue: 'amqp://x' }), /--queue: "amqp:\/\/x" must be redis:\/\/HOST:PORT/);
});

test('a study on a queue no worker listens on is refused instead of waiting', { skip }, async () => {
  const space = parseSpace({ eta: { type: 'float', low: 0.01, high: 0.5 } });
  const idle = `redis://127.0.0.1:6379?name=dist-idle-${process.pid}-${Date.now()}`;
  await assert.rejects(runStudy({ file: TRAIN, target: 'target', space, trials: 1, queue: idle }), /no modelport worker listens on dist-idle-/);
});

test('a trial whose worker is killed mid-trial runs again on another worker and its curve holds each round once', { skip }, async () => {
  const killedUri = `${REDIS_URL}?name=${killedQueue}`;
  const rounds = 80;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./trial-worker-process.ts', import.meta.url)), killedUri, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  // Kill the worker once the study has logged some of its rounds (the curve goes out every 25).
  const watcher = new Redis(REDIS_URL);
  let seen = 0;
  await watcher.psubscribe(`modelport:${killedQueue}:trial:*:rounds`);
  watcher.on('pmessage', () => {
    if (++seen === 30) child.kill('SIGKILL');
  });
  let survivor: BullWorkers | undefined;
  const handler = trialHandler(REDIS_URL, 'survivor');
  // The survivor's lock is longer than the killed worker's: it must outlast a loaded machine's
  // pauses in this process, or the survivor's own trial is taken for stalled (and, the second time, failed).
  const exited = once(child, 'exit').then(async () => {
    survivor = await startBullWorkers<TrialTask, TrialResult>(killedUri, (task) => handler.run(task), { concurrency: 1, gpu: false, lockMs: 4000 });
  });
  try {
    const tracker = new ClientTrainingTracker(client, { url: server.url });
    const space = parseSpace({ eta: { type: 'float', low: 0.05, high: 0.3 } });
    const request = { file: LOANS, target: 'defaulted', drop: ['loan_id', 'customer_id', 'event_timestamp'], params: { n_estimators: rounds, max_depth: 3 }, space, trials: 1, sampler: 'random', pruner: 'none', seed: 3 };
    const remote = await runStudy({ ...request, queue: killedUri, experiment: 'dist-killed', study: 'killed' }, tracker);
    await exited;
    assert.ok(seen > rounds && seen < 2 * rounds, `the killed attempt stopped mid-trial and the trial ran again from round 0 (${seen} rounds heard)`);
    assert.equal(remote.trials[0].state, 'COMPLETE');
    const [run] = await tracker.childRuns(remote.parentRunId!);
    const history = await tracker.history(run.runId, 'validation-auc');
    assert.deepEqual(history.map((h) => h.step), Array.from({ length: rounds }, (_, i) => i), 'one value per round');
    const local = await runStudy(request);
    assert.deepEqual(history.map((h) => h.value), local.bestFitted!.curve.validation.auc);
    assert.equal(remote.trials[0].value, local.trials[0].value);
  } finally {
    child.kill('SIGKILL');
    watcher.disconnect();
    await survivor?.close();
    handler.close();
  }
});

test('a study whose round handler throws gets that error, its worker stops the trial and no reply list is left', { skip }, async () => {
  const { train, test: valid } = await breastCancer();
  const fitter = await QueueFitter.open(uri);
  const watcher = new Redis(REDIS_URL);
  const redis = new Redis(REDIS_URL);
  let heard = 0;
  await watcher.psubscribe(`modelport:${queueName}:trial:*:rounds`);
  watcher.on('pmessage', () => heard++);
  try {
    let rounds = 0;
    const onRound = () => {
      if (++rounds === 3) throw new Error('tracker down');
    };
    await assert.rejects(fitter.fit(resolveParams('gbdt', { n_estimators: 200 }), train, { valid, onRound }), /tracker down/);
    assert.equal(rounds, 3);
    assert.equal(heard, 3, 'the worker stopped at the round whose handler failed');
    assert.deepEqual(await redis.keys(`modelport:${queueName}:trial:*:stop*`), []);
  } finally {
    watcher.disconnect();
    redis.disconnect();
    await fitter.close();
  }
});

test('a worker refuses a trial task of another protocol version instead of fitting it', { skip }, async () => {
  const redis = new Redis(REDIS_URL);
  try {
    const task = { kind: 'trial', protocol: TRIAL_PROTOCOL - 1, dataKey: `modelport:${queueName}:none`, resolved: resolveParams('gbdt', {}), rounds: 'r', stop: 's' } satisfies TrialTask;
    await assert.rejects(runTrialTask(task, redis, 'here'), /trial task of protocol 1, this worker speaks 2/);
  } finally {
    redis.disconnect();
  }
});
