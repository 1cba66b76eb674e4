/** `modelport features ...` spawned as a user runs it, embedded and against a server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { testServer } from '../helpers/platform.js';

const LOANS = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));

test('embedded: apply, plan, historical, materialize; a bad definition is one line and exit 2', async () => {
  const dir = tempDir('features-cli');
  cpSync(join(LOANS, 'features.yaml'), join(dir, 'features.yaml'));
  cpSync(join(LOANS, 'customer_features.csv'), join(dir, 'customer_features.csv'));
  const data = ['--data', join(dir, 'data')];
  let r = await runCli([...data, 'features', 'apply', join(dir, 'features.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\+ feature_view customer_stats \(added\)\n.*5 to add, 0 to change, 0 to remove\.\nApplied as registry version 1\.\n$/s);

  writeFileSync(join(dir, 'features.yaml'), readFileSync(join(dir, 'features.yaml'), 'utf8').replace('ttl: 60d', 'ttl: 45d'));
  r = await runCli([...data, 'features', 'plan', join(dir, 'features.yaml')]);
  assert.equal(r.stdout, '~ feature_view customer_stats (changed)\n    ttl: "60d" → "45d"\n0 to add, 1 to change, 0 to remove.\n');

  const out = join(dir, 'train.parquet');
  r = await runCli([...data, 'features', 'historical', '--entities', join(LOANS, 'loans.csv'), '--features', 'customer_stats:utilization,loan_ratios', '--output', out, '--register', 'loans_train']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${out}: 20,000 rows, features from registry version 1\nRegistered as dataset loans_train@1\n`);

  r = await runCli([...data, 'features', 'materialize', '--end', '2025-09-01T00:00:00Z']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^customer_stats: 4,000 entities in the window, 4,000 written, newest event 2025-08-31T00:00:00.000Z\n$/);
  assert.match(r.stderr, /materialize customer_stats: 4000\/4000 done/);

  writeFileSync(join(dir, 'bad.yaml'), readFileSync(join(dir, 'features.yaml'), 'utf8').replace('- { name: utilization, dtype: float64 }', '- { name: utilization, dtype: float64 }\n      - { name: utilisation, dtype: float64 }'));
  r = await runCli([...data, 'features', 'plan', join(dir, 'bad.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^modelport: feature_views\[0\]\.features\[3\]: column "utilisation" is not in source customer_source \(.*customer_features\.csv\); it has customer_id, event_timestamp, created_timestamp, avg_balance_30d, num_late_payments_90d, utilization\n$/);
});

test('against a server: apply, historical (rows up as JSON, the file back)', async () => {
  const server = await testServer();
  try {
    const s = ['--server', server.url];
    let r = await runCli([...s, 'features', 'apply', join(LOANS, 'features.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(tempDir('features-cli-server'), 'train.csv');
    r = await runCli([...s, 'features', 'historical', '--entities', join(LOANS, 'loans.csv'), '--feature-service', 'loan_scoring', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 20_001);
    assert.match(lines[0], /,defaulted,utilization,num_late_payments_90d,avg_balance_30d$/);
    assert.match(lines[1], /^L000001,11117,2025-01-01T00:02:20Z,10500\.00,36,.*,0\.3377,0,6970\.32$/);
  } finally {
    await server.close();
  }
});
