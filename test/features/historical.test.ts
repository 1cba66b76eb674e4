/**
 * Point-in-time retrieval against ground truth computed by pandas merge_asof
 * (scripts/fixtures/features_pit.py): TTL bounds, ties broken by created time, corrections
 * created after the entity time, nulls taken as they are, entities without rows, duplicate
 * entity rows, a composite key and a feature name two views share.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFeatureFile } from '../../src/features/index.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

const DIR = fileURLToPath(new URL('../fixtures/features/', import.meta.url));

function readCsv(path: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',')) };
}

function assertSame(actual: unknown, expected: string, where: string): void {
  if (expected === '') return assert.equal(actual, null, `${where}: expected null, got ${actual}`);
  if (typeof actual === 'number') return assert.ok(Math.abs(actual - Number(expected)) < 1e-9, `${where}: ${actual} != ${expected}`);
  assert.equal(String(actual), expected, where);
}

describe('features: historical retrieval matches pandas merge_asof', () => {
  let platform: Platform;
  const expected = readCsv(join(DIR, 'expected.csv'));

  before(async () => {
    platform = await testPlatform();
    await platform.services.features.apply(await loadFeatureFile(join(DIR, 'features.yaml')));
  });
  after(() => platform.close());

  const check = (result: { columns: string[]; rows: unknown[][] }) => {
    assert.deepEqual(result.columns, expected.header);
    assert.equal(result.rows.length, expected.rows.length);
    const label = expected.header.indexOf('label');
    expected.rows.forEach((row, i) => {
      for (let j = 4; j < row.length; j++) assertSame(result.rows[i][j], row[j], `row ${i + 1} (${row[label]}), ${expected.header[j]}`);
      assert.equal(result.rows[i][label], row[label], `row ${i + 1} keeps its place`);
    });
  };

  test('every edge case and the random rows, in entity order with duplicates', async () => {
    check(await platform.services.features.historical({ entities: { path: join(DIR, 'entities.csv') }, featureService: 'all' }));
  });

  test('epoch-second timestamps and in-memory entity rows give the same answer', async () => {
    const { header, rows } = readCsv(join(DIR, 'entities.csv'));
    const ts = header.indexOf('event_timestamp');
    const columns = header.map((name, j) => ({
      name,
      values: rows.map((r) => (j === ts ? Date.parse(r[j]) / 1000 : j === header.indexOf('label') ? r[j] : Number(r[j]))),
    }));
    const result = await platform.services.features.historical({ entities: { columns }, features: ['cust:score', 'cust:count', 'cust:tier', 'pair:score'] });
    result.rows.forEach((r, i) => (r[ts] = rows[i][ts]));
    check(result);
  });

  test('Parquet and CSV output files hold the same rows; a registered result is a dataset version', async () => {
    const dir = tempDir('features-out');
    const f = platform.services.features;
    const pq = await f.historicalToFile({ entities: { path: join(DIR, 'entities.csv') }, featureService: 'all' }, { path: join(dir, 'train.parquet'), registerAs: 'pit_train' });
    assert.equal(pq.rowCount, expected.rows.length);
    assert.equal(pq.dataset?.name, 'pit_train');
    const version = await platform.services.datasets.get({ name: 'pit_train', version: pq.dataset!.version });
    assert.equal(version.rowCount, expected.rows.length);
    assert.match(version.source, /^modelport-features:registry@1:cust:score,cust:count,cust:tier,pair:score$/);
    await f.historicalToFile({ entities: { path: join(DIR, 'entities.csv') }, featureService: 'all' }, { path: join(dir, 'train.csv') });
    const csv = readCsv(join(dir, 'train.csv'));
    assert.deepEqual(csv.header, expected.header);
    assert.deepEqual(csv.rows.map((r) => r[2]), expected.rows.map((r) => r[2]), 'the entity timestamps are written as given');
    csv.rows.forEach((r, i) => assertSame(r[4] === '' ? null : Number(r[4]), expected.rows[i][4], `csv row ${i + 1}`));
  });

  test('bad entity tables are refused with the column named', async () => {
    const dir = tempDir('features-bad');
    const f = platform.services.features;
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return { path: join(dir, name) };
    };
    await assert.rejects(f.historical({ entities: write('a.csv', 'customer_id,merchant_id,when\n1,100,2025-01-01T00:00:00Z\n'), featureService: 'all' }), /no timestamp column "event_timestamp".*--timestamp-column/);
    await assert.rejects(f.historical({ entities: write('b.csv', 'customer_id,merchant_id,event_timestamp\n1,100,2025-01-01T00:00:00Z\n1,100,2025-01-01 00:00:00\n'), featureService: 'all' }), /mixes timestamps with and without a time zone/);
    await assert.rejects(f.historical({ entities: write('c.csv', 'customer_id,merchant_id,event_timestamp\n1,100,2025-01-01T00:00:00Z\n1,100,yesterday\n'), featureService: 'all' }), /row 2: "yesterday" is not a timestamp/);
    await assert.rejects(f.historical({ entities: write('d.csv', 'customer_id,event_timestamp\n1,2025-01-01T00:00:00Z\n'), featureService: 'all' }), /no column "merchant_id", the join key of entity merchant/);
    await assert.rejects(f.historical({ entities: write('e.csv', 'customer_id,event_timestamp\n1,2025-01-01T00:00:00Z\n'), features: ['cust:nope'] }), /feature view "cust" has no feature "nope"; it has score, count, tier/);
    await assert.rejects(f.historical({ entities: write('f.csv', 'customer_id,event_timestamp\n1,2025-01-01T00:00:00Z\n'), featureService: 'missing' }), /unknown feature service "missing"/);
  });
});
