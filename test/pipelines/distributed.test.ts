/**
 * The distributed executor against the real Redis: two `modelport worker` processes, one
 * SIGKILLed in the middle of a step. BullMQ's stalled-job check hands the step to the other
 * worker, the run completes, and every step's outputs equal a local run's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Platform } from '../../src/platform.js';
import type { PipelineSpec } from '../../src/pipelines/index.js';
import { testPlatform } from '../helpers/platform.js';
import { REDIS_URL, redisSkip, tempDir } from '../helpers/services.js';
import { spawnCli, waitForLine } from '../helpers/cli.js';

const skip = await redisSkip();
const queueName = `mp-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const queue = `${REDIS_URL}?name=${queueName}`;
let platform: Platform;
let data: string;
const workers: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  data = tempDir('mpdata');
  platform = await testPlatform({ data });
});

after(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  if (skip) return;
  await platform.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`modelport:${queueName}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function pipeline(dir: string): PipelineSpec {
  // `work` blocks on its first execution anywhere (the marker file), so a worker can be killed in it.
  return {
    name: 'spread',
    dir,
    params: { n: 40 },
    steps: [
      { name: 'numbers', run: 'seq 1 $MODELPORT_PARAM_N > $MODELPORT_OUTPUT_DIR/n.txt', outputs: ['n.txt'], params: ['n'] },
      { name: 'evens', inputs: ['numbers/n.txt'], run: "awk '$1 % 2 == 0' $MODELPORT_INPUT_NUMBERS/n.txt > $MODELPORT_OUTPUT_DIR/e.txt", outputs: ['e.txt'], params: [] },
      {
        name: 'work',
        inputs: ['numbers/n.txt'],
        params: [],
        outputs: ['sum.json'],
        run: `if [ -n "$BLOCK" ] && [ ! -f started ]; then echo "$MODELPORT_RAN_ON" > started; echo $$ > work.pid; sleep 60; fi; awk '{s+=$1} END {print "{\\"sum\\": " s "}"}' $MODELPORT_INPUT_NUMBERS/n.txt > $MODELPORT_OUTPUT_DIR/sum.json`,
        env: {},
      },
      { name: 'join', inputs: ['evens/e.txt', 'work/sum.json'], params: [], run: 'cat $MODELPORT_INPUT_EVENS/e.txt $MODELPORT_INPUT_WORK/sum.json > $MODELPORT_OUTPUT_DIR/all.txt' },
    ],
  };
}

test('two workers, one SIGKILLed mid-step: the run completes with the same outputs as a local run', { skip }, async () => {
  const dir = tempDir('pl');
  const local = await platform.services.pipelines.wait((await platform.services.pipelines.startRun({ spec: pipeline(dir) })).id, 50);
  assert.equal(local.status, 'succeeded', JSON.stringify(local.steps));

  for (let i = 0; i < 2; i++) {
    const w = spawnCli(['--data', data, 'worker', '--queue', queue, '--concurrency', '2', '--resources', 'cpu=2', '--stall-timeout', '2s'], { BLOCK: '1' });
    workers.push(w);
  }
  const ready = await Promise.all(workers.map((w) => waitForLine(w, /worker (\S+) ready on queue (\S+)/)));
  assert.deepEqual(ready.map((m) => m[2]), [queueName, queueName]);

  const started = await platform.services.pipelines.startRun({ spec: pipeline(dir), queue });
  while (!existsSync(join(dir, 'work.pid'))) await new Promise((r) => setTimeout(r, 50));
  const victim = readFileSync(join(dir, 'started'), 'utf8').trim();
  const index = ready.findIndex((m) => m[1] === victim);
  assert.notEqual(index, -1, `the step ran on ${victim}, one of ${ready.map((m) => m[1])}`);
  workers[index].kill('SIGKILL');
  process.kill(-Number(readFileSync(join(dir, 'work.pid'), 'utf8')), 'SIGKILL');

  const run = await platform.services.pipelines.wait(started.id, 100);
  assert.equal(run.status, 'succeeded', JSON.stringify(run.steps));
  assert.equal(run.queue, queue);
  const survivor = ready[1 - index][1];
  const work = run.steps.find((s) => s.name === 'work')!;
  assert.equal(work.ranOn, survivor);
  assert.equal(work.attempts, 1, 'a stalled job is recovered by BullMQ, not retried by the driver');
  for (const s of run.steps) assert.notEqual(s.ranOn?.split(':')[1], String(process.pid), `step ${s.name} ran on a worker`);
  assert.deepEqual(run.steps.map((s) => [s.name, s.outputsSha]), local.steps.map((s) => [s.name, s.outputsSha]));
  const all = await platform.services.pipelines.stepOutputs(run.id, 'join');
  assert.equal(all.files[0].path, 'all.txt');
});

test('a bad queue URI is refused before anything runs', { skip }, async () => {
  await assert.rejects(platform.services.pipelines.startRun({ spec: pipeline(tempDir('pl')), queue: 'amqp://x' }), /queue: "amqp:\/\/x" must be local or redis:\/\/HOST:PORT/);
});
