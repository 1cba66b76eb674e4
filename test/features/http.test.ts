/** The feature store over real HTTP through the SDK: errors as 4xx naming the field, files both ways, /metrics freshness. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { fileURLToPath } from 'node:url';
import { ModelportClient, FeaturesClient } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { loadFeatureFile } from '../../src/features/index.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

const LOANS = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));

describe('features over HTTP', () => {
  let server: RunningServer;
  let features: FeaturesClient;
  const clock = new ManualClock(Date.parse('2025-09-01T00:00:00Z'));

  before(async () => {
    server = await testServer({}, clock);
    features = new FeaturesClient(new ModelportClient(server.url));
  });
  after(() => server.close());

  test('apply, list, historical as a file, materialize, online, push, freshness in /metrics', async () => {
    const spec = await loadFeatureFile(join(LOANS, 'features.yaml'));
    assert.equal((await features.apply(spec)).version, 1);
    const listing = await features.list();
    assert.equal(listing.version, 1);
    assert.equal(listing.definition!.feature_views[0].name, 'customer_stats');

    const entities = { customer_id: [11117, 11117, 99999], event_timestamp: ['2025-01-01T00:02:20Z', '2025-01-01T00:02:20Z', '2025-01-01T00:00:00Z'], amount: [10500, 10500, 1000], income: [94492.03, 94492.03, 50000] };
    const json = await features.getHistoricalFeatures(entities, { features: ['customer_stats:utilization', 'loan_ratios:amount_to_income'] });
    assert.deepEqual(json.columns, ['customer_id', 'event_timestamp', 'amount', 'income', 'utilization', 'amount_to_income']);
    // The first loan of loans.csv, whose utilization the README of the data gives as its customer's latest snapshot.
    assert.deepEqual(json.rows.map((r) => r[4]), [0.3377, 0.3377, null]);
    assert.ok(Math.abs((json.rows[0][5] as number) - 10500 / 94492.03) < 1e-12);

    const out = join(tempDir('features-http'), 'train.csv');
    const file = await features.historicalToFile(entities, out, { featureService: 'loan_scoring', registerAs: 'loans_train' });
    assert.equal(file.rowCount, 3);
    assert.equal(file.registryVersion, 1);
    assert.deepEqual(file.dataset, { name: 'loans_train', version: 1, created: true });
    assert.equal(readFileSync(out, 'utf8').split('\n')[0], 'customer_id,event_timestamp,amount,income,utilization,num_late_payments_90d,avg_balance_30d');

    const arrow = join(tempDir('features-http'), 'train.arrow');
    const arrowFile = await features.historicalToFile(entities, arrow, { featureService: 'loan_scoring' });
    assert.equal(arrowFile.format, 'arrow');
    const table = tableFromIPC(readFileSync(arrow));
    assert.deepEqual([...table.getChild('utilization')!], [0.3377, 0.3377, null]);
    assert.deepEqual([...table.getChild('customer_id')!], [11117n, 11117n, 99999n]);
    const refused = await fetch(`${server.url}/api/v1/features/historical`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ feature_service: 'loan_scoring', entities, format: 'arrow', register_as: 'x' }),
    });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /register_as: an Arrow file cannot be registered/);

    const [m] = await features.materialize({ end: '2025-09-01T00:00:00Z' });
    assert.equal(m.rows, 4000);
    const online = await features.getOnlineFeatures({ customer_id: [10022, 1] }, { featureService: 'loan_scoring' });
    assert.deepEqual(online.metadata.feature_names, ['customer_id', 'utilization', 'num_late_payments_90d', 'avg_balance_30d']);
    assert.deepEqual(online.results[1].statuses, ['PRESENT', 'NOT_FOUND']);
    // The route writes its own JSON: the same text, key order and content type as the schema's serializer gave.
    const raw = await fetch(`${server.url}/api/v1/features/online`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: ['customer_stats:utilization', 'customer_stats:avg_balance_30d', 'loan_ratios:amount_to_income'], entities: { customer_id: [10022, 1, 10022] }, request_data: { amount: [1000, 2000, 3000], income: [50000, 0, 60000] } }),
    });
    assert.equal(raw.headers.get('content-type'), 'application/json; charset=utf-8');
    const text = await raw.text();
    const parsed = JSON.parse(text) as typeof online;
    assert.equal(text, JSON.stringify({ metadata: parsed.metadata, results: parsed.results.map((r) => ({ values: r.values, statuses: r.statuses, event_timestamps: r.event_timestamps })) }));
    assert.deepEqual(parsed.metadata.feature_names, ['customer_id', 'utilization', 'avg_balance_30d', 'amount_to_income']);
    assert.deepEqual(parsed.results[1].event_timestamps, parsed.results[2].event_timestamps);
    assert.equal(parsed.results[1].event_timestamps[1], null);
    assert.deepEqual(parsed.results[3].values, [1000 / 50000, null, 3000 / 60000]);

    await features.push('customer_stats', { customer_id: [1], event_timestamp: ['2025-08-31T12:00:00Z'], avg_balance_30d: [1], num_late_payments_90d: [0], utilization: [0.5] });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /modelport_feature_view_freshness_seconds\{view="customer_stats"\} 43200\n/);
    const check = await features.check({ sample: 30 });
    assert.equal(check.views[0].entities, 30);
    assert.deepEqual(check.views[0].mismatches, []);
  });

  test('bad requests answer 4xx naming the field', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    let r = await post('/api/v1/features/online', { features: ['customer_stats:nope'], entities: { customer_id: [1] } });
    assert.equal(r.status, 404);
    assert.match(r.body.error.message, /feature view "customer_stats" has no feature "nope"/);
    r = await post('/api/v1/features/online', { feature_service: 'ghost', entities: { customer_id: [1] } });
    assert.equal(r.status, 404);
    r = await post('/api/v1/features/push', { feature_view: 'customer_stats', df: { customer_id: [1] } });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /df: missing columns "event_timestamp", "avg_balance_30d"/);
    r = await post('/api/v1/features/historical', { features: ['customer_stats'], entities: { customer_id: [1], ts: ['2025-01-01T00:00:00Z'] } });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /no timestamp column "event_timestamp"/);
    r = await post('/api/v1/features/plan', { definition: { entities: [{ name: 'c', join_keys: ['id'] }], sources: [], feature_views: [{ name: 'v', entities: ['c'], source: 's', ttl: '3 weeks', features: [] }] } });
    assert.equal(r.status, 404);
    assert.match(r.body.error.message, /feature_views\[0\]\.source: unknown source "s"/);
    r = await post('/api/v1/features/materialize', { start: '2025-01-01 00:00' });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /start: .*no time zone/);
  });
});
