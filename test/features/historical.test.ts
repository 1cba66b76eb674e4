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
import { ModelportClient, FeaturesClient } from '../../src/client/index.js';
import { testPlatform, testServer } from '../helpers/platform.js';
import { dropSchema, POSTGRES_URL, postgresSkip, tempDir } from '../helpers/services.js';
import pg from 'pg';
import { tableFromIPC, Type } from 'apache-arrow';
import { randomBytes } from 'node:crypto';

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

const expected = readCsv(join(DIR, 'expected.csv'));

function check(result: { columns: string[]; rows: unknown[][] }): void {
  assert.deepEqual(result.columns, expected.header);
  assert.equal(result.rows.length, expected.rows.length);
  const label = expected.header.indexOf('label');
  expected.rows.forEach((row, i) => {
    for (let j = 4; j < row.length; j++) assertSame(result.rows[i][j], row[j], `row ${i + 1} (${row[label]}), ${expected.header[j]}`);
    assert.equal(result.rows[i][label], row[label], `row ${i + 1} keeps its place`);
  });
}

describe('features: historical retrieval matches pandas merge_asof', () => {
  let platform: Platform;
  before(async () => {
    platform = await testPlatform();
    await platform.services.features.apply(await loadFeatureFile(join(DIR, 'features.yaml')));
  });
  after(() => platform.close());

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

  test('Arrow IPC output holds what the in-memory answer holds, typed; it cannot be registered', async () => {
    const dir = tempDir('features-arrow');
    const f = platform.services.features;
    const entities = { path: join(DIR, 'entities.csv') };
    const result = await f.historicalToFile({ entities, featureService: 'all' }, { path: join(dir, 'train.feather') });
    assert.equal(result.format, 'arrow');
    assert.equal(result.rowCount, expected.rows.length);
    const table = tableFromIPC(readFileSync(join(dir, 'train.feather')));
    assert.deepEqual(table.schema.fields.map((x) => x.name), expected.header);
    const types = Object.fromEntries(table.schema.fields.map((x) => [x.name, Type[x.type.typeId]]));
    assert.equal(types.tier, 'Utf8');
    assert.equal(types.count, 'Int');
    assert.equal(types.cust__score, 'Float');
    assert.equal(types.event_timestamp, 'Utf8', 'the entity timestamps are written as given');
    const columns = expected.header.map((name) => [...table.getChild(name)!].map((v) => (typeof v === 'bigint' ? Number(v) : v)));
    check({ columns: expected.header, rows: Array.from({ length: table.numRows }, (_, i) => columns.map((c) => c[i])) });
    await assert.rejects(
      f.historicalToFile({ entities, featureService: 'all' }, { path: join(dir, 'reg.arrow'), registerAs: 'nope' }),
      /register_as: an Arrow file cannot be registered as a dataset version/,
    );
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

describe('features: PostgreSQL table and query sources', async () => {
  const skip = await postgresSkip();
  const schema = `feat_${process.pid}_${randomBytes(4).toString('hex')}`;
  let platform: Platform;

  /** The fixture's CSV sources as typed PostgreSQL tables. */
  async function load(client: pg.Client, table: string, columns: string, file: string): Promise<void> {
    const { header, rows } = readCsv(join(DIR, file));
    await client.query(`CREATE TABLE ${schema}.${table} (${columns})`);
    const records = rows.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] === '' ? null : r[j]])));
    await client.query(`INSERT INTO ${schema}.${table} SELECT * FROM json_populate_recordset(null::${schema}.${table}, $1)`, [JSON.stringify(records)]);
  }

  before(async () => {
    if (skip) return;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await load(client, 'cust', 'customer_id bigint, event_timestamp timestamptz, created_timestamp timestamptz, score double precision, count bigint, tier text', 'cust.csv');
      await load(client, 'pair', 'customer_id bigint, merchant_id bigint, ts timestamptz, score numeric', 'pair.csv');
    } finally {
      await client.end();
    }
    platform = await testPlatform();
  });
  after(async () => {
    if (skip) return;
    await platform.close();
    await dropSchema(schema);
  });

  const definition = async () => {
    const spec = await loadFeatureFile(join(DIR, 'features.yaml'));
    spec.sources = [
      { name: 'cust_source', table: `${schema}.cust`, url: POSTGRES_URL, timestamp_field: 'event_timestamp', created_timestamp_field: 'created_timestamp' },
      { name: 'pair_source', query: `SELECT customer_id, merchant_id, ts, score FROM ${schema}.pair`, url: POSTGRES_URL, timestamp_field: 'ts' },
    ];
    return spec;
  };

  test('historical retrieval and materialize read them as they read files', { skip }, async () => {
    const f = platform.services.features;
    await f.apply(await definition());
    check(await f.historical({ entities: { path: join(DIR, 'entities.csv') }, featureService: 'all' }));
    const [cust, pair] = await f.materialize();
    assert.equal(new Set(readCsv(join(DIR, 'cust.csv')).rows.map((r) => r[0])).size, cust.rows);
    assert.equal(new Set(readCsv(join(DIR, 'pair.csv')).rows.map((r) => `${r[0]}|${r[1]}`)).size, pair.rows);
    assert.equal(pair.written, pair.rows);
    const report = await f.check({ sample: 50 });
    assert.deepEqual(report.views.map((v) => [v.view, v.entities, v.mismatches.length]), [['cust', 50, 0], ['pair', 50, 0]]);
  });

  test('a missing column, table or url is named', { skip }, async () => {
    const f = platform.services.features;
    const spec = await definition();
    spec.feature_views[0].features.push({ name: 'nope', dtype: 'float64' });
    await assert.rejects(f.plan(spec), /feature_views\[0\]\.features\[3\]: column "nope" is not in source cust_source \(PostgreSQL table feat_.*\.cust\)/);
    spec.sources[0].table = `${schema}.missing`;
    await assert.rejects(f.plan(spec), /source cust_source: PostgreSQL table feat_.*\.missing: relation .* does not exist/);
    delete spec.sources[0].url;
    await assert.rejects(f.plan(spec), /sources\[0\]\.url: a table or query source needs the PostgreSQL url/);
  });

  test('a password in a source url is not shown by plan or list, and changing it is still a change', { skip }, async () => {
    const server = await testServer();
    try {
      const features = new FeaturesClient(new ModelportClient(server.url));
      const spec = await definition();
      const withPassword = (pw: string) => {
        const url = new URL(POSTGRES_URL);
        url.password = pw;
        return url.toString();
      };
      spec.sources.forEach((s) => (s.url = withPassword('s3cret-one')));
      const added = JSON.stringify(await features.plan(spec));
      assert.ok(!added.includes('s3cret') && added.includes(':***@'), added);
      await features.apply(spec);
      const listed = JSON.stringify(await features.list());
      assert.ok(!listed.includes('s3cret') && listed.includes(':***@'), listed);
      spec.sources[0].url = withPassword('s3cret-two');
      const plan = await features.plan(spec);
      assert.deepEqual(
        plan.changes.map((c) => [c.kind, c.name, c.diff.map((d) => d.path)]),
        [['source', 'cust_source', ['url']]],
      );
      assert.ok(!JSON.stringify(plan).includes('s3cret'));
    } finally {
      await server.close();
    }
  });
});
