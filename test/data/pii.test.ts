/**
 * Columns a dataset's schema marks as PII show no values in profiles, diffs or validation reports;
 * inside the service (validation's baseline, schema inference) a version's stored profile is whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { parseStoreUri } from '../../src/config.js';
import { DatasetsService, datasetMigrations } from '../../src/data/index.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { migrate, openMetadataStore } from '../../src/storage/metadata.js';
import { tempDir } from '../helpers/services.js';

test('a PII column keeps its counts but no values in profiles, re-inferred schemas keep the marking, and anomalies on it carry no examples', async () => {
  const dir = tempDir('ds-pii');
  const store = await openMetadataStore(parseStoreUri(`sqlite:${join(dir, 'm.db')}`, dir));
  await migrate(store, { ...coreMigrations, ...datasetMigrations });
  const blobs = await openFileBlobStore(join(dir, 'blobs'));
  const ds = new DatasetsService({ metadata: store, blobs, clock: new ManualClock(1_795_000_000_000), workDir: join(dir, 'work') });
  try {
    const v1 = join(dir, 'v1.csv');
    writeFileSync(v1, 'email,amount\nann@example.com,10\nbob@example.com,20\nann@example.com,30\n');
    await ds.register('customers', v1);
    const before = (await ds.get({ name: 'customers' })).profile!.columns.find((c) => c.name === 'email')!;
    assert.equal(JSON.stringify(before).includes('ann@example.com'), true, 'unmarked, values are profiled');

    const schema = await ds.getSchema('customers');
    await ds.setSchema('customers', { columns: schema.columns.map((c) => (c.name === 'email' ? { ...c, domain: undefined, pii: 'hash', pattern: '[a-z]+@example\\.com' } : c)) });
    // Versions profiled before the marking are shown without its values too.
    const shown = await ds.get({ name: 'customers', version: 1 });
    const email = shown.profile!.columns.find((c) => c.name === 'email')!;
    assert.deepEqual([email.count, email.distinct, email.missing], [3, 2, 0]);
    assert.equal(JSON.stringify(email).includes('@example.com'), false);
    assert.ok(JSON.stringify(shown.profile!.columns.find((c) => c.name === 'amount')).includes('"max":30'), 'other columns keep their statistics');

    const v2 = join(dir, 'v2.csv');
    writeFileSync(v2, 'email,amount\ncyd@example.com,5\nDAN@EXAMPLE.ORG,7\n');
    const report = await ds.validate('customers', v2);
    const anomaly = report.anomalies.find((a) => a.column === 'email')!;
    assert.equal(anomaly.kind, 'pattern_mismatch');
    assert.equal(anomaly.examples, undefined);
    assert.match(anomaly.message, /column "email": pattern mismatch in 1 rows; values withheld \(PII column\)/);
    assert.equal(JSON.stringify(report).includes('DAN@'), false);
    // Version 1 was profiled before the marking: its email statistics are the drift baseline.
    const drift = report.anomalies.find((a) => a.column === 'email' && a.kind === 'drift_l_infinity');
    assert.ok(drift, `email drift against version 1 is checked: ${JSON.stringify(report.anomalies)}`);
    assert.equal(JSON.stringify(drift).includes('example'), false, 'the drift anomaly withholds the value it names');

    const fromV1 = await ds.inferSchema({ name: 'customers', version: 1 });
    const inferredEmail = fromV1.columns.find((c) => c.name === 'email')!;
    assert.equal(inferredEmail.pii, 'hash');
    assert.equal(inferredEmail.domain, undefined, 'a PII column gets no domain: it would list values');
    assert.equal(JSON.stringify(fromV1).includes('example'), false);

    await ds.register('customers', v2);
    const stored = await store.db.selectFrom('mp_dataset_version' as never).select(['version', 'profile_json'] as never).where('version' as never, '=', 2 as never).executeTakeFirstOrThrow();
    assert.equal((stored as { profile_json: string }).profile_json.includes('example'), false, 'a new version is stored without the values');
    const diff = await ds.diff({ name: 'customers', version: 1 }, { name: 'customers', version: 2 });
    assert.equal(JSON.stringify(diff).includes('example'), false);

    const reinferred = await ds.inferSchema({ name: 'customers' }, { save: true });
    assert.equal(reinferred.columns.find((c) => c.name === 'email')!.pii, 'hash');
  } finally {
    await blobs.close();
    await store.close();
  }
});
