import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { ManualClock } from '../../src/core/clock.js';
import { parseStoreUri } from '../../src/config.js';
import { openMetadataStore, migrate } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { explainMigrations, rewrapExplanations, SampledExplanationLog } from '../../src/explain/index.js';
import type { Explanation } from '../../src/explain/index.js';
import type { ExplainTables } from '../../src/explain/migrations.js';
import type { Predictor } from '../../src/models/index.js';
import { Keyring } from '../../src/security/keyring.js';
import { payloadCipher } from '../../src/security/sealed-payload.js';
import { tempDir } from '../helpers/services.js';

const explanation: Explanation = {
  method: 'kernel',
  output: 'score',
  featureNames: ['salary_of_alice', 'age'],
  attributions: { rows: 1, groups: 1, features: 2, values: Float64Array.from([0.25, -1.5]), base: Float64Array.from([3]) },
  limeWeights: undefined,
};

function sampledLog(db: Kysely<ExplainTables>, keyring?: Keyring): SampledExplanationLog {
  return new SampledExplanationLog({
    db,
    clock: new ManualClock(1_000),
    predictorOf: () => ({}) as Predictor,
    explain: async () => explanation,
    cipher: keyring && payloadCipher(keyring, 'a logged explanation'),
  });
}

async function logged(log: SampledExplanationLog, requestId: string): Promise<void> {
  await log.setRate('d', 1);
  log.record({ requestId, deployment: 'd', model: 'm', version: 1, inputs: { kind: 'columns', columns: {} } as never });
  await log.flush();
  assert.equal(log.stats().written > 0, true, `${requestId} was written`);
}

test('logged explanations are sealed at rest, read back equal, old plain rows still read, and rewrap under a new key', async () => {
  const metadata = await openMetadataStore(parseStoreUri(`sqlite://${join(tempDir('exp-seal'), 'meta.db')}`));
  await migrate(metadata, { ...coreMigrations, ...explainMigrations });
  const db = metadata.db as Kysely<ExplainTables>;
  const keyFile = join(tempDir('exp-keys'), 'master.keys');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  try {
    const plainLog = sampledLog(db);
    await logged(plainLog, 'before-encryption');
    await plainLog.close();

    const sealing = sampledLog(db, new Keyring({ file: keyFile }));
    await logged(sealing, 'sealed');
    const raw = await db.selectFrom('exp_logged').select('body').where('request_id', '=', 'sealed').executeTakeFirstOrThrow();
    assert.match(raw.body, /^MPS1:[A-Za-z0-9+/=]+$/);
    assert.equal(raw.body.includes('salary_of_alice'), false);
    assert.equal(Buffer.from(raw.body.slice(5), 'base64').includes('salary_of_alice'), false);
    for (const id of ['sealed', 'before-encryption']) {
      const got = (await sealing.get(id))!;
      assert.deepEqual(got.explanation.featureNames, explanation.featureNames, id);
      assert.deepEqual(Array.from(got.explanation.attributions.values), [0.25, -1.5], id);
      assert.deepEqual(Array.from(got.explanation.attributions.base), [3], id);
    }
    await sealing.close();
    await assert.rejects(sampledLog(db).get('sealed'), { code: 'FailedPrecondition', message: /a logged explanation is encrypted at rest; configure the master key/ });

    Keyring.addKeyTo(keyFile);
    const rotated = new Keyring({ file: keyFile });
    assert.equal(await rewrapExplanations(db, rotated), 1, 'only the sealed row has a data key');
    assert.equal(await rewrapExplanations(db, rotated), 0, 'already under the current key');
    // Only the new key left: the rewrapped body still opens.
    writeFileSync(keyFile, `${readFileSync(keyFile, 'utf8').trim().split('\n').at(-1)}\n`);
    const got = (await sampledLog(db, new Keyring({ file: keyFile })).get('sealed'))!;
    assert.deepEqual(Array.from(got.explanation.attributions.values), [0.25, -1.5]);
  } finally {
    await metadata.close();
  }
});
