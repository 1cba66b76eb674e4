import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBus, PostgresBus, RedisBus, type ClusterBus, type ClusterMessage } from '../../src/cluster/bus.js';
import { POSTGRES_URL, REDIS_URL, freshRedisPrefix, postgresSkip, redisSkip } from '../helpers/services.js';
import { randomBytes } from 'node:crypto';

const [pgSkip, rSkip] = await Promise.all([postgresSkip(), redisSkip()]);

function next(bus: ClusterBus, want: (m: ClusterMessage) => boolean): Promise<ClusterMessage> {
  return new Promise((resolve) => {
    const off = bus.subscribe((m) => {
      if (want(m)) {
        off();
        resolve(m);
      }
    });
  });
}

async function crossTalk(a: ClusterBus, b: ClusterBus, other: ClusterBus): Promise<void> {
  const heardByB = next(b, (m) => m.type === 'deployment');
  const heardByA = next(a, (m) => m.type === 'deployment');
  const strays: ClusterMessage[] = [];
  other.subscribe((m) => strays.push(m));
  await a.publish({ type: 'deployment', name: 'fraud' });
  assert.deepEqual(await heardByB, { type: 'deployment', name: 'fraud' });
  assert.deepEqual(await heardByA, { type: 'deployment', name: 'fraud' }, 'the sender hears itself too');
  // A second installation (another prefix or schema) hears nothing of this one: a round trip on it proves its delivery path is live.
  const own = next(other, (m) => m.type === 'alias');
  await other.publish({ type: 'alias', model: 'm', alias: 'prod' });
  await own;
  assert.deepEqual(strays, [{ type: 'alias', model: 'm', alias: 'prod' }]);
}

describe('cluster bus', () => {
  test('local: delivers in-process', async () => {
    const bus = new LocalBus();
    const heard = next(bus, () => true);
    await bus.publish({ type: 'alias', model: 'm', alias: 'a' });
    assert.deepEqual(await heard, { type: 'alias', model: 'm', alias: 'a' });
    await bus.close();
  });

  test('Redis pub/sub: replicas of one prefix hear each other, another prefix does not', { skip: rSkip }, async () => {
    const prefix = freshRedisPrefix();
    const buses = await Promise.all([RedisBus.open(REDIS_URL, prefix), RedisBus.open(REDIS_URL, prefix), RedisBus.open(REDIS_URL, freshRedisPrefix())]);
    try {
      await crossTalk(buses[0], buses[1], buses[2]);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  });

  describe('PostgreSQL LISTEN/NOTIFY', { skip: pgSkip }, () => {
    const buses: ClusterBus[] = [];
    after(() => Promise.all(buses.map((b) => b.close())));
    test('replicas of one schema hear each other, another schema does not', async () => {
      const schema = `t_bus_${randomBytes(4).toString('hex')}`;
      buses.push(await PostgresBus.open(POSTGRES_URL, schema), await PostgresBus.open(POSTGRES_URL, schema), await PostgresBus.open(POSTGRES_URL, `${schema}_x`));
      await crossTalk(buses[0], buses[1], buses[2]);
    });
  });
});
