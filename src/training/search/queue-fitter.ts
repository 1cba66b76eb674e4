/**
 * Fits a study's trials on `modelport worker` processes through the BullMQ queue (`tune --queue
 * redis://…`). The prepared training data goes once into Redis, which every worker of the queue
 * already reaches, under its content hash; each trial is a job naming that key and its
 * parameters. The worker publishes every round on the trial's channel and waits for the study's
 * answer to it (prune or go on) on the trial's reply list before the next round, so a trial is
 * pruned at the same round as it would be locally. The fitted model comes back in the job's result.
 *
 * A worker killed mid-trial loses its job, and another worker runs the trial again from round 0.
 * Each run of a trial is an attempt with its own reply list (so no answer meant for the dead one
 * is read), and the rounds the study already handled are answered as before without reaching it
 * again: the fit is deterministic, so the curve and the pruner see every round exactly once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { Redis } from 'ioredis';
import { ModelportError } from '../../core/errors.js';
import { redact } from '../../config.js';
import { fit, type Fitted, type ResolvedParams } from '../fit.js';
import type { Fitter } from '../session.js';
import type { RoundReport, TrainingData } from '../types.js';
import type { BullTaskQueue } from '../../storage/queue-bullmq.js';

const PREFIX = 'modelport';
/** Trial data outlives a study that dies without cleaning up by a day at most. */
const DATA_TTL_SECONDS = 86_400;
/** A worker that hears nothing from the study for this long takes it for dead and stops the trial. */
const ANSWER_TIMEOUT_SECONDS = 300;
/**
 * Version of the trial protocol (task, round messages, reply lists). A worker or study that does
 * not speak the other's version refuses its messages: otherwise the worker waits on lists the
 * study never writes, takes the silence for a prune, and every trial ends pruned.
 */
export const TRIAL_PROTOCOL = 2;

export interface TrialTask {
  kind: 'trial';
  protocol: number;
  /** Redis key of the v8-serialised {train, valid}. */
  dataKey: string;
  resolved: ResolvedParams;
  /** Channel the worker publishes each round's report on. */
  rounds: string;
  /** Prefix of the lists the study pushes its answer to each round on, one per attempt: "1" prunes the trial. */
  stop: string;
}

/** What a worker publishes after each round: its attempt (one per run of the trial) and the round. */
interface RoundMessage {
  protocol: number;
  attempt: string;
  report: RoundReport;
}

export interface TrialResult {
  /** The v8-serialised Fitted, base64. */
  fitted: string;
  ranOn: string;
}

export const isTrialTask = (task: unknown): task is TrialTask => (task as { kind?: unknown }).kind === 'trial';

const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

export class QueueFitter {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly dataKeys = new WeakMap<TrainingData, Promise<string>>();
  private readonly written = new Set<string>();
  private readonly listeners = new Map<string, (message: RoundMessage) => void>();

  private constructor(
    private readonly queue: BullTaskQueue<TrialTask, TrialResult>,
    private readonly name: string,
    url: string,
  ) {
    this.redis = connect(url);
    this.subscriber = connect(url);
    this.subscriber.on('message', (channel: string, message: string) => this.listeners.get(channel)?.(JSON.parse(message) as RoundMessage));
  }

  static async open(uri: string): Promise<QueueFitter> {
    const { openBullQueue, parseBullUri } = await import('../../storage/queue-bullmq.js');
    const { url, name } = parseBullUri(uri);
    const queue = await openBullQueue<TrialTask, TrialResult>(uri);
    // Trials queued with nobody to take them would wait for ever.
    if ((await queue.workers()) === 0) {
      await queue.close();
      throw new ModelportError('FailedPrecondition', `queue: no modelport worker listens on ${name}; start one with \`modelport worker --queue ${redact(uri)}\` or leave --queue out to run the trials here`);
    }
    return new QueueFitter(queue, name, url);
  }

  private store(train: TrainingData, valid: TrainingData | undefined): Promise<string> {
    let key = this.dataKeys.get(train);
    if (!key) {
      key = (async () => {
        const bytes = serialize({ train, valid });
        const k = `${PREFIX}:${this.name}:trial-data:${createHash('sha256').update(bytes).digest('hex')}`;
        await this.redis.set(k, bytes, 'EX', DATA_TTL_SECONDS);
        this.written.add(k);
        return k;
      })();
      this.dataKeys.set(train, key);
    }
    return key;
  }

  readonly fit: Fitter = async (resolved, train, options = {}) => {
    const dataKey = await this.store(train, options.valid);
    const id = randomUUID();
    const task: TrialTask = { kind: 'trial', protocol: TRIAL_PROTOCOL, dataKey, resolved, rounds: `${PREFIX}:${this.name}:trial:${id}:rounds`, stop: `${PREFIX}:${this.name}:trial:${id}:stop` };
    // Rounds are answered in order, each once the study (curve, pruner) has handled it; a
    // restarted attempt's repeated rounds get the answers already given.
    // The chain never rejects (nothing awaits it before the job ends): the first failure, of the
    // study's round handler or of Redis, is kept and thrown once the job is over, and from then on
    // every round is answered "stop" so the worker ends the trial instead of fitting on.
    let chain = Promise.resolve();
    let failure: { error: unknown } | undefined;
    const answered: boolean[] = [];
    const replyLists = new Set<string>();
    this.listeners.set(task.rounds, ({ protocol, attempt, report }) => {
      const list = `${task.stop}:${attempt}`;
      replyLists.add(list);
      chain = chain
        .then(async () => {
          let prune = true;
          if (protocol !== TRIAL_PROTOCOL) failure ??= { error: new ModelportError('FailedPrecondition', `queue: a worker speaks trial protocol ${String(protocol)}, this study ${TRIAL_PROTOCOL}; run the same modelport version on both`) };
          else if (!failure) {
            try {
              prune = report.round < answered.length ? answered[report.round] : (answered[report.round] = (await options.onRound?.(report)) === true);
            } catch (error) {
              failure = { error };
            }
          }
          await this.redis.multi().rpush(list, prune ? '1' : '0').expire(list, DATA_TTL_SECONDS).exec();
        })
        .catch((error: unknown) => {
          failure ??= { error };
        });
    });
    await this.subscriber.subscribe(task.rounds);
    try {
      const result = await this.queue.submit(`trial.${id}`, task, new AbortController().signal);
      await chain;
      if (failure) throw failure.error;
      return deserialize(Buffer.from(result.fitted, 'base64')) as Fitted;
    } catch (err) {
      const first = failure ? failure.error : err;
      throw first instanceof ModelportError ? first : new ModelportError('Internal', `trial on the queue: ${(first as Error).message}`);
    } finally {
      this.listeners.delete(task.rounds);
      await this.subscriber.unsubscribe(task.rounds);
      // An answer still on its way would re-create a list deleted before it.
      await chain;
      if (replyLists.size > 0) await this.redis.del(...replyLists);
    }
  };

  async close(): Promise<void> {
    if (this.written.size > 0) await this.redis.del(...this.written).catch(() => undefined);
    await this.queue.close();
    this.subscriber.disconnect();
    this.redis.disconnect();
  }
}

/** Runs one trial on a worker: reads the data from Redis, fits, reports every round and stops when pruned. */
export async function runTrialTask(task: TrialTask, redis: Redis, ranOn: string): Promise<TrialResult> {
  if (task.protocol !== TRIAL_PROTOCOL) throw new Error(`trial task of protocol ${String(task.protocol)}, this worker speaks ${TRIAL_PROTOCOL}: run the same modelport version on the study and its workers`);
  const bytes = await redis.getBuffer(task.dataKey);
  if (!bytes) throw new Error(`trial data ${task.dataKey} is gone from Redis (the study ended or it expired)`);
  const { train, valid } = deserialize(bytes) as { train: TrainingData; valid?: TrainingData };
  // Waiting for the answer blocks a connection, so each trial has its own.
  const answers = redis.duplicate();
  const attempt = randomUUID();
  try {
    // Trials on a worker run side by side (--concurrency) and each already holds a CPU slot, as a
    // local parallel trial fits on one thread: a histogram thread each would oversubscribe the CPUs.
    const fitted = await fit(task.resolved, train, {
      valid,
      threads: 1,
      onRound: async (report) => {
        await redis.publish(task.rounds, JSON.stringify({ protocol: TRIAL_PROTOCOL, attempt, report } satisfies RoundMessage));
        const answer = await answers.blpop(`${task.stop}:${attempt}`, ANSWER_TIMEOUT_SECONDS);
        return answer === null || answer[1] === '1';
      },
    });
    return { fitted: serialize(fitted).toString('base64'), ranOn };
  } finally {
    answers.disconnect();
  }
}

/** A worker's handler of trial tasks, with its own Redis connection for data, rounds and stop keys. */
export function trialHandler(redisUrl: string, ranOn: string): { run: (task: TrialTask) => Promise<TrialResult>; close: () => void } {
  let redis: Redis | undefined;
  return {
    run: async (task) => runTrialTask(task, (redis ??= connect(redisUrl)), ranOn),
    close: () => redis?.disconnect(),
  };
}
