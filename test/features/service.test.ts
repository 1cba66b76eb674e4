/** The applied definition's cache against the cluster bus: announcements carry their origin, and one heard mid-read is not lost. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterMessage } from '../../src/cluster/bus.js';
import { loadFeatureFile, type FeatureRepoSpec } from '../../src/features/index.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

describe('features: the applied definition and the cluster bus', () => {
  let platform: Platform;
  let spec: FeatureRepoSpec;
  let first: FeatureRepoSpec;

  before(async () => {
    platform = await testPlatform();
    const dir = tempDir('features-service');
    cpSync(fileURLToPath(new URL('../fixtures/features/', import.meta.url)), dir, { recursive: true });
    spec = await loadFeatureFile(join(dir, 'features.yaml'));
    first = { ...spec, feature_views: spec.feature_views!.filter((v) => v.name === 'cust'), feature_services: [] };
  });
  after(() => platform.close());

  test('an apply is announced with this replica as its origin', async () => {
    const heard: ClusterMessage[] = [];
    const off = platform.cluster.bus.subscribe((m) => heard.push(m));
    try {
      await platform.services.features.apply(first);
    } finally {
      off();
    }
    assert.deepEqual(heard, [{ type: 'features', origin: platform.cluster.replicaId }]);
  });

  test('an announcement heard while the registry is being read leaves the cache stale, so the next online read re-reads it', async () => {
    const features = platform.services.features;
    await features.apply(first);
    const read = () => features.getOnlineFeatures({ features: ['pair:score'], entities: { customer_id: [1], merchant_id: [1] } });
    const reading = features.repo();
    // Another replica's apply, announced while this one's registry query is under way.
    await platform.cluster.bus.publish({ type: 'features', origin: 'another-replica' });
    await reading;
    const json = JSON.stringify(spec);
    const version = (await features.latest())!.version + 1;
    await platform.metadata.db
      .insertInto('mp_feature_registry' as never)
      .values({ version, digest: `test-${version}`, spec_json: json, creator: 'another-replica', created_ms: 0 } as never)
      .execute();
    const answer = await read();
    assert.deepEqual(answer.results.at(-1)!.statuses, ['NOT_FOUND'], 'resolved against the definition announced mid-read');
  });
});
