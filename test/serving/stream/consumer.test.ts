import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { createPlatform } from '../../../src/platform.js';
import { runCli, spawnCli, waitForLine } from '../../helpers/cli.js';
import { testConfig } from '../../helpers/platform.js';
import { freshRedisPrefix, redisSkip, REDIS_URL, tempDir } from '../../helpers/services.js';
import { register, XGB } from '../helpers.js';
import { expectedProbabilities } from '../jobs/helpers.js';

const skip = await redisSkip();
const EVENTS = 10_000;

describe('stream scoring on Redis Streams', { skip }, () => {
  let redis: Redis;
  let data: string;
  const prefix = freshRedisPrefix();
  const IN = `${prefix}in`;
  const OUT = `${prefix}out`;
  const uri = (stream: string) => `${REDIS_URL}/${stream}`;

  before(async () => {
    redis = new Redis(REDIS_URL);
    data = tempDir('mpstream');
    const platform = await createPlatform(testConfig({ data }));
    await register(platform.services.registry, 'cancer', XGB, ['model.json']);
    await platform.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    await platform.close();
  });
  after(async () => {
    await redis.del(IN, OUT, `${IN}:dead`);
    redis.disconnect();
  });

  test('10,000 events, the consumer SIGKILLed twice: every event has exactly one prediction after de-duplication, equal to the model', async () => {
    const [header, ...lines] = readFileSync(join(XGB, 'input.csv'), 'utf8').trim().split('\n');
    const names = header.split(',');
    const rows = lines.map((l) => l.split(','));
    const expected = expectedProbabilities();
    const rowOf = new Map<string, number>();
    const malformed = new Map<string, RegExp>();
    const add = redis.pipeline();
    for (let i = 0; i < EVENTS; i++) {
      const row = rows[i % rows.length];
      if (i % 500 === 7) add.xadd(IN, '*', 'data', '{not json');
      else if (i % 500 === 9) add.xadd(IN, '*', ...names.slice(1).flatMap((n, j) => [n, row[j + 1]]));
      else if (i % 500 === 11) add.xadd(IN, '*', ...names.flatMap((n, j) => [n, j === 3 ? 'abc' : row[j]]));
      else if (i % 2 === 0) add.xadd(IN, '*', 'data', JSON.stringify(Object.fromEntries(names.map((n, j) => [n, Number(row[j])]))));
      else add.xadd(IN, '*', ...names.flatMap((n, j) => [n, row[j]]));
    }
    const ids = (await add.exec())!.map(([, id]) => id as string);
    ids.forEach((id, i) => {
      if (i % 500 === 7) malformed.set(id, /field "data" is not valid JSON/);
      else if (i % 500 === 9) malformed.set(id, /missing field "mean_radius"/);
      else if (i % 500 === 11) malformed.set(id, /field "mean_area": "abc" is not a number/);
      else rowOf.set(id, i % rows.length);
    });

    const args = ['stream', 'cancer', '--from', uri(IN), '--to', uri(OUT), '--batch-size', '100', '--consumer', 'c1', '--data', data];
    let metricsUrl = '';
    const start = async (extra: string[] = []) => {
      const child = spawnCli([...args, ...extra]);
      metricsUrl = (await waitForLine(child, /(?:metrics on (\S+)\n)?consuming /, 120_000))[1];
      return child;
    };
    const killWhen = async (child: ChildProcess, written: number) => {
      while ((await redis.xlen(OUT)) < written) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    };
    await killWhen(await start(), 2000);
    await killWhen(await start(), 5000);
    const last = await start(['--metrics-port', '0']);
    const groupInfo = async () => {
      const [g] = (await redis.xinfo('GROUPS', IN)) as unknown[][];
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      return info;
    };
    for (;;) {
      const g = await groupInfo();
      if (g.lag === 0 && g.pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The consumer reads the group's lag after each batch it acknowledges.
    let metrics = '';
    while (!/modelport_stream_lag\{deployment="cancer",stream="[^"]+"\} 0\n/.test(metrics)) metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, /modelport_stream_events_total\{deployment="cancer",stream="[^"]+"\} [1-9]\d*\n/);
    last.kill('SIGTERM');
    const code = await new Promise((r) => last.once('exit', r));
    assert.equal(code, 0);

    const predictions = new Map<string, number>();
    let entries = 0;
    let cursor = '-';
    for (;;) {
      const page = await redis.xrange(OUT, cursor, '+', 'COUNT', 2000);
      for (const [, fields] of page.slice(cursor === '-' ? 0 : 1)) {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        entries++;
        assert.deepEqual(Object.keys(f), ['event_id', 'margin', 'prediction']);
        const p = Number(f.prediction);
        if (predictions.has(f.event_id)) assert.equal(predictions.get(f.event_id), p, 'a re-delivered event gets the same prediction');
        predictions.set(f.event_id, p);
      }
      if (page.length < 2000) break;
      cursor = page[page.length - 1][0];
    }
    assert.ok(entries >= rowOf.size, `${entries} entries`);
    assert.equal(predictions.size, rowOf.size, 'every valid event has a prediction, and only those');
    for (const [id, r] of rowOf) {
      const p = predictions.get(id);
      assert.ok(p !== undefined && Math.abs(p - expected[r]) <= 1e-5, `event ${id}: ${p} vs ${expected[r]}`);
    }
    const dead = await redis.xrange(`${IN}:dead`, '-', '+');
    assert.equal(new Set(dead.map(([, f]) => f[1])).size, malformed.size);
    for (const [, f] of dead) assert.match(f[3], malformed.get(f[1])!);
  });

  test('a stream that does not exist and a URI without a stream are refused', async () => {
    const missing = await runCli(['stream', 'cancer', '--from', uri(`${prefix}absent`), '--to', uri(OUT), '--data', data]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /modelport: --from: stream ".*absent" does not exist/);
    const bare = await runCli(['stream', 'cancer', '--from', REDIS_URL, '--to', uri(OUT), '--data', data]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--from: ".*" names no stream/);
  });
});
