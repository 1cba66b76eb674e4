import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/core/clock.js';
import { ModelportClient } from '../../src/client/client.js';
import { MonitoringClient } from '../../src/client/monitoring.js';
import { isModelportError } from '../../src/core/errors.js';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { record, T0 } from '../monitoring/monitors/helpers.js';
import { tempDir } from '../helpers/services.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HOUR = 3_600_000;

describe('monitoring REST API', () => {
  let server: RunningServer;
  let api: MonitoringClient;
  let raw: ModelportClient;
  const clock = new ManualClock(T0);

  before(async () => {
    server = await testServer({}, clock);
    raw = new ModelportClient(server.url);
    api = new MonitoringClient(raw);
    const sink = server.platform.services.monitoring.sink;
    // What serving does on every answered request.
    for (let i = 0; i < 200; i++) sink.record(record(`req-${i}`, T0 - HOUR + i * 1000, { age: [30 + (i % 20)], city: [['paris', 'rome'][i % 2]] }, { label: [i % 3 === 0 ? 0 : 1], probability: [i % 3 === 0 ? 0.2 : 0.9] }));
  });
  after(async () => {
    await raw.close();
    await server.close();
  });

  test('feedback in batches: accepted, unknown ids reported, malformed items reported', async () => {
    const r = await api.feedback([
      ...Array.from({ length: 100 }, (_, i) => ({ request_id: `req-${i}`, label: i % 4 === 0 ? 0 : 1 })),
      { request_id: 'missing', label: 1 },
      { request_id: 'req-1', label: { bad: true } } as never,
    ]);
    assert.equal(r.accepted, 100);
    assert.deepEqual(r.unknown.map((u) => u.request_id), ['missing']);
    assert.equal(r.invalid[0].index, 101);
    assert.match(r.invalid[0].reason, /label must be a string, number or boolean/);
    const single = await raw.request<{ accepted: number }>({ method: 'POST', path: '/api/v1/feedback', body: { request_id: 'req-150', value: 3 } });
    assert.equal(single.accepted, 1);
  });

  test('predictions: from the store and live, one request by id', async () => {
    const stored = await api.predictions({ deployment: 'loans', limit: 5 });
    assert.equal(stored.length, 5);
    assert.equal(stored[0].requestId, 'req-199');
    const live = await api.predictions({ live: true, limit: 2 });
    assert.deepEqual(live.map((p) => p.requestId), ['req-199', 'req-198']);
    const one = await api.prediction('req-7');
    assert.deepEqual(one[0].inputs, { age: 37, city: 'rome' });
    await assert.rejects(api.prediction('nope'), (e: unknown) => isModelportError(e) && e.code === 'NotFound');
  });

  test('performance windows: values or reasons, never NaN', async () => {
    const windows = await api.performance('loans', { from: T0 - HOUR, to: T0, windowSeconds: 1800, task: 'classification', predictionColumn: 'label', scoreColumn: 'probability' });
    assert.equal(windows.length, 2);
    assert.equal(windows[0].rows, 100);
    assert.equal(windows[1].rows, 0);
    const acc = windows[0].metrics.find((m) => m.name === 'accuracy');
    assert.ok(acc?.computed);
    assert.equal(windows[1].metrics[0].computed, false);
    await assert.rejects(api.performance('loans', { from: 'yesterday' }), /from: "yesterday" is neither an ISO time nor epoch milliseconds/);
  });

  test('monitors, checks, HTML report, alerts and Prometheus gauges over HTTP', async () => {
    const created = await api.createMonitor({
      name: 'loans-age',
      deployment: 'loans',
      kind: 'drift',
      intervalSeconds: 3600,
      drift: { reference: { records: Array.from({ length: 200 }, (_, i) => ({ age: 60 + (i % 20), city: ['paris', 'rome'][i % 2] })) }, alertOn: 'column' },
    });
    assert.equal(created.kind, 'drift');
    await assert.rejects(api.createMonitor({ name: 'loans-age', deployment: 'loans', kind: 'concept_drift' }), (e: unknown) => isModelportError(e) && e.code === 'AlreadyExists');
    await assert.rejects(
      raw.request({ method: 'POST', path: '/api/v1/monitors', body: { name: 'x', deployment: 'loans', kind: 'nope' } }),
      (e: unknown) => isModelportError(e) && e.code === 'InvalidArgument',
    );
    const check = await api.runMonitor('loans-age');
    assert.equal(check.status, 'alert', check.message);
    assert.equal((await api.checks('loans-age')).length, 1);
    assert.equal((await api.check(check.id)).id, check.id);
    const html = await api.report(check.id);
    assert.match(html, /<!doctype html>/i);
    const [alert] = await api.alerts({ state: 'firing', deployment: 'loans' });
    assert.equal(alert.monitorId, created.id);
    assert.equal(alert.reportUrl, check.reportUrl);
    assert.deepEqual(await api.deliveries(alert.id), []);
    const resolved = await api.resolveAlert(alert.id);
    assert.equal(resolved.state, 'resolved');
    await assert.rejects(api.resolveAlert(alert.id), (e: unknown) => isModelportError(e) && e.code === 'FailedPrecondition');

    const registry = new Registry();
    server.platform.services.monitoring.registerMetrics(registry);
    assert.match(await registry.metrics(), /modelport_drift_column_drifted\{deployment="loans",monitor="loans-age",column="age"\} 1/);

    const patched = await api.updateMonitor('loans-age', { enabled: false });
    assert.equal(patched.enabled, false);
    await api.deleteMonitor('loans-age');
    assert.deepEqual(await api.monitors(), []);
  });

  test('a registered dataset version as the drift reference', async () => {
    const dir = tempDir('mpds');
    const csv = join(dir, 'ref.csv');
    writeFileSync(csv, 'age,city\n' + Array.from({ length: 200 }, (_, i) => `${30 + (i % 20)},${['paris', 'rome'][i % 2]}`).join('\n') + '\n');
    await server.platform.services.datasets.register('loans-ref', csv);
    const m = await api.createMonitor({ name: 'from-dataset', deployment: 'loans', kind: 'drift', windowSeconds: 7200, drift: { reference: { dataset: 'loans-ref' } } });
    assert.deepEqual((m.drift as { reference: { dataset: string; version: number } }).reference.dataset, 'loans-ref');
    assert.equal((m.drift as { reference: { version: number } }).reference.version, 1, 'the version is pinned when the monitor is created');
    const check = await api.runMonitor('from-dataset');
    assert.equal(check.status, 'ok', check.message);
    assert.equal(check.summary.referenceRows, 200);
    await assert.rejects(
      api.createMonitor({ name: 'no-such', deployment: 'loans', kind: 'drift', drift: { reference: { dataset: 'nope' } } }),
      (e: unknown) => isModelportError(e) && e.code === 'NotFound',
    );
    await api.deleteMonitor('from-dataset');
  });

  test('webhook targets on loopback or private addresses are refused by default', async () => {
    await assert.rejects(
      api.createMonitor({ name: 'hooked', deployment: 'loans', kind: 'concept_drift', webhooks: [{ url: 'http://127.0.0.1:9/hook' }] }),
      /webhooks\[0\]\.url: http:\/\/127\.0\.0\.1:9\/hook: 127\.0\.0\.1 is a loopback or private address/,
    );
    await assert.rejects(
      api.createMonitor({ name: 'hooked', deployment: 'loans', kind: 'concept_drift', webhooks: [{ url: 'http://10.1.2.3/hook' }] }),
      /10\.1\.2\.3 is a loopback or private address/,
    );
  });

  test('sampling rates are set per deployment', async () => {
    await api.setSampleRate('loans', 0.25);
    const l = await api.logging();
    assert.equal(l.deployments.loans, 0.25);
    assert.equal(l.sampleRate, 1);
    await assert.rejects(api.setSampleRate('loans', 2), (e: unknown) => isModelportError(e) && e.code === 'InvalidArgument');
  });

  test('routes are in the OpenAPI document', async () => {
    const doc = await raw.request<{ paths: Record<string, unknown> }>({ method: 'GET', path: '/openapi.json' });
    for (const p of ['/api/v1/feedback', '/api/v1/monitors', '/api/v1/alerts', '/api/v1/performance', '/api/v1/monitoring/checks/{id}/report']) assert.ok(doc.paths[p], p);
  });
});
