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

test('push: rows from a CSV file to the online store (embedded and against a server), to both, and a column the view lacks named', async () => {
  const dir = tempDir('features-cli-push');
  cpSync(join(LOANS, 'features.yaml'), join(dir, 'features.yaml'));
  cpSync(join(LOANS, 'customer_features.csv'), join(dir, 'customer_features.csv'));
  const data = ['--data', join(dir, 'data')];
  assert.equal((await runCli([...data, 'features', 'apply', join(dir, 'features.yaml')])).code, 0);
  const input = join(dir, 'fresh.csv');
  writeFileSync(input, 'customer_id,event_timestamp,avg_balance_30d,num_late_payments_90d,utilization\n990001,2030-01-01T00:00:00Z,100.5,2,0.25\n990002,2030-01-01T00:00:00Z,,0,0.5\n');
  let r = await runCli([...data, 'features', 'push', 'customer_stats', '--input', input, '--to', 'both']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'customer_stats: 2 rows pushed to both, 2 online entries written\n');
  assert.match(readFileSync(join(dir, 'customer_features.csv'), 'utf8'), /\n990002,2030-01-01T00:00:00Z,,,0,0.5\n$/);
  r = await runCli([...data, 'features', 'online', '--features', 'customer_stats', '--entity', 'customer_id=990001,990002', '--json']);
  const res = JSON.parse(r.stdout);
  assert.deepEqual(res.results.slice(1).map((c: { values: unknown[] }) => c.values), [[100.5, null], [2, 0], [0.25, 0.5]]);

  writeFileSync(input, 'customer_id,event_timestamp,utilisation\n990001,2030-01-02T00:00:00Z,0.3\n');
  r = await runCli([...data, 'features', 'push', 'customer_stats', '--input', input]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^modelport: df: column "utilisation" not in feature view customer_stats; it has customer_id, event_timestamp, created_timestamp, avg_balance_30d, num_late_payments_90d, utilization\n$/);
  r = await runCli([...data, 'features', 'push', 'customer_stats', '--input', input, '--to', 'everywhere']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'modelport: --to: "everywhere" is not one of online, offline, both\n');

  const server = await testServer();
  try {
    const s = ['--server', server.url];
    assert.equal((await runCli([...s, 'features', 'apply', join(LOANS, 'features.yaml')])).code, 0);
    writeFileSync(input, 'customer_id,event_timestamp,avg_balance_30d,num_late_payments_90d,utilization\n990003,2030-01-01T00:00:00Z,7,1,0.75\n');
    r = await runCli([...s, 'features', 'push', 'customer_stats', '--input', input]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'customer_stats: 1 rows pushed to online, 1 online entries written\n');
    r = await runCli([...s, 'features', 'online', '--features', 'customer_stats:utilization', '--entity', 'customer_id=990003', '--json']);
    assert.deepEqual(JSON.parse(r.stdout).results[1].values, [0.75]);
  } finally {
    await server.close();
  }
});
