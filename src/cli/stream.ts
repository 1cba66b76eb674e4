/**
 * `modelport stream NAME --from redis://HOST:PORT/STREAM --to redis://HOST:PORT/STREAM`: scores
 * a Redis stream's events through deployment NAME as a member of a consumer group, until
 * SIGINT or SIGTERM. Several processes with different --consumer names share the work.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { once } from 'node:events';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { systemClock } from '../core/clock.js';
import { invalidArgument, unavailable } from '../core/errors.js';
import { parseStreamUri, StreamConsumer } from '../serving/stream/consumer.js';
import { withScorer } from './predict.js';

interface StreamFlags {
  from: string;
  to: string;
  group?: string;
  consumer: string;
  deadLetter?: string;
  batchSize: string;
  claimIdleMs: string;
  metricsPort?: string;
}

const wholeNumber = (flag: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw invalidArgument(`${flag}: "${v}" is not a whole number >= ${min}`);
  return n;
};

async function connect(url: string, flag: string) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (times) => (times > 20 ? null : Math.min(times * 100, 2000)) });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw unavailable(`${flag}: cannot connect to ${url}: ${(err as Error).message}`);
  }
  return redis;
}

export function registerStreamCommand(program: Command): void {
  program
    .command('stream')
    .description('score the events of a Redis stream through a deployment (consumer group, at-least-once)')
    .argument('<deployment>', 'deployment name')
    .requiredOption('--from <uri>', 'input stream: redis://HOST:PORT/STREAM')
    .requiredOption('--to <uri>', 'output stream: redis://HOST:PORT/STREAM')
    .option('--group <name>', 'consumer group (default: modelport:DEPLOYMENT)')
    .option('--consumer <name>', "this consumer's name in the group (a restart under the same name resumes its pending events)", hostname())
    .option('--dead-letter <stream>', 'stream for malformed events, on the input Redis (default: INPUT:dead)')
    .option('--batch-size <events>', 'events per micro-batch', '256')
    .option('--claim-idle-ms <ms>', "claim other consumers' events left unacknowledged this long", '30000')
    .option('--metrics-port <port>', 'serve Prometheus /metrics (lag, throughput, dead letters) on 127.0.0.1:PORT')
    .action(async (deployment: string, flags: StreamFlags, cmd: Command) => {
      const from = parseStreamUri(flags.from, '--from');
      const to = parseStreamUri(flags.to, '--to');
      const batchSize = wholeNumber('--batch-size', flags.batchSize, 1);
      const claimIdleMs = wholeNumber('--claim-idle-ms', flags.claimIdleMs, 0);
      const input = await connect(from.url, '--from');
      const output = await connect(to.url, '--to');
      const registry = new Registry();
      const metrics = flags.metricsPort === undefined ? undefined : createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      });
      try {
        await withScorer(cmd, deployment, async (scorer) => {
          const consumer = new StreamConsumer(input, output, scorer, { deployment, from, to, group: flags.group, consumer: flags.consumer, deadLetter: flags.deadLetter, batchSize, claimIdleMs }, systemClock, registry);
          await consumer.prepare();
          if (metrics) {
            metrics.listen(wholeNumber('--metrics-port', flags.metricsPort!, 0), '127.0.0.1');
            await once(metrics, 'listening');
            process.stdout.write(`metrics on http://127.0.0.1:${(metrics.address() as { port: number }).port}/metrics\n`);
          }
          const stop = () => consumer.stop();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          process.stdout.write(`consuming ${from.stream} as ${flags.consumer}, writing ${to.stream}\n`);
          await consumer.run();
          process.stdout.write(`stopped: ${consumer.stats.scored} events scored, ${consumer.stats.deadLettered} dead-lettered\n`);
        });
      } finally {
        metrics?.close();
        input.disconnect();
        output.disconnect();
      }
    });
}
