import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { Registry } from 'prom-client';
import { ENGINES, T0, record, type Harness } from './helpers.js';
import { webhookServer } from '../alerts/webhook-server.js';
import { tempDir } from '../../helpers/services.js';
import type { AlertEvent } from '../../../src/monitoring/alerts/types.js';

const HOUR = 3_600_000;

/** A seeded normal sample (LCG + Box–Muller), so the drift verdicts are fixed. */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

function logWindow(h: Harness, prefix: string, start: number, ages: number[], cities: string[]): void {
  ages.forEach((age, i) => h.service.log.record(record(`${prefix}${i}`, start + i, { age: [age], city: [cities[i % cities.length]] }, { label: [1] })));
}

const referenceRecords = normals(300, 40, 10, 1).map((age, i) => ({ age, city: ['paris', 'rome', 'oslo'][i % 3] }));

for (const engine of ENGINES) {
  describe(`monitors: ${engine.name}`, async () => {
    const skip = await engine.skip();

    test('a drift monitor fires on schedule, writes a report, signs its webhook, and resolves when the data recovers', { skip }, async () => {
      const hook = await webhookServer();
      const h = await engine.open();
      try {
        const s = h.service;
        const events: AlertEvent[] = [];
        s.events.on('alert', (e) => events.push(e));
        const m = await s.monitors.create({
          name: 'loans-drift',
          deployment: 'loans',
          kind: 'drift',
          intervalSeconds: 3600,
          drift: { reference: { records: referenceRecords } },
          webhooks: [{ url: hook.url, secret: 'k' }],
        });
        assert.equal(m.state, 'unknown');
        assert.equal(m.nextRunAt, T0 + HOUR);
        assert.deepEqual(m.webhooks, [{ url: hook.url, hasSecret: true }]);

        logWindow(h, 'a', T0 + 10, normals(300, 55, 10, 2), ['paris', 'rome', 'oslo']);
        assert.deepEqual(await s.monitors.runDue(), [], 'nothing is due before the interval passes');
        h.clock.advance(HOUR);
        const [check] = await s.monitors.runDue();
        assert.equal(check.status, 'alert', check.message);
        assert.match(check.message, /^1 of 2 columns drifted \(share 0\.500, dataset drift at 0\.5\): age$/);
        const cols = check.summary.columns as { column: string; method: string; drift: boolean }[];
        assert.deepEqual(cols.map((c) => [c.column, c.method, c.drift]), [['age', 'ks', true], ['city', 'chisquare', false]]);
        assert.equal(check.reportUrl, `/api/v1/monitoring/checks/${check.id}/report`);
        const html = (await s.monitors.report(check.id)).toString('utf8');
        assert.match(html, /<html/i);
        assert.match(html, /age/);
        assert.deepEqual(await s.monitors.runDue(), [], 'a run is claimed once');

        const [alert] = await s.alerts.list({ monitorId: m.id });
        assert.equal(alert.state, 'firing');
        assert.equal(alert.kind, 'drift');
        assert.equal(alert.checkId, check.id);
        assert.equal(alert.reportUrl, check.reportUrl);
        assert.equal(alert.severity, 'critical');
        assert.equal((await s.monitors.get('loans-drift')).state, 'firing');
        await s.webhooks.idle();
        assert.equal(hook.received.length, 1);
        const sig = hook.received[0].headers['x-modelport-signature'];
        assert.equal(sig, `sha256=${createHmac('sha256', 'k').update(hook.received[0].body).digest('hex')}`);

        // The next hour still drifts: the same alert counts it, nobody is notified again.
        logWindow(h, 'b', T0 + HOUR + 10, normals(300, 56, 10, 3), ['paris', 'rome', 'oslo']);
        h.clock.advance(HOUR);
        await s.tick();
        assert.equal((await s.alerts.get(alert.id)).occurrences, 2);
        // Then the data looks like the reference again.
        logWindow(h, 'c', T0 + 2 * HOUR + 10, normals(300, 40, 10, 4), ['paris', 'rome', 'oslo']);
        h.clock.advance(HOUR);
        await s.tick();
        const after = await s.alerts.get(alert.id);
        assert.equal(after.state, 'resolved');
        await s.webhooks.idle();
        assert.deepEqual(hook.received.map((r) => r.headers['x-modelport-event']), ['alert.firing', 'alert.resolved']);
        assert.deepEqual(events.map((e) => e.type), ['alert.firing', 'alert.resolved']);
        assert.equal((await s.monitors.checks(m.id)).length, 3);

        const registry = new Registry();
        s.registerMetrics(registry);
        const text = await registry.metrics();
        assert.match(text, /modelport_drift_score\{deployment="loans",monitor="loans-drift",column="age",method="ks"\} [0-9.e-]+/);
        assert.match(text, /modelport_dataset_drift\{deployment="loans",monitor="loans-drift"\} 0/);
        assert.match(text, /modelport_prediction_log_rows_written_total 900/);
      } finally {
        await h.close();
        await hook.close();
      }
    });

    test('empty windows skip, mismatched columns are an error check, never an alert', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        const m = await s.monitors.create({ name: 'd', deployment: 'loans', kind: 'drift', intervalSeconds: 60, drift: { reference: { records: [{ income: 1 }, { income: 2 }] } } });
        const empty = await s.monitors.run(m.id);
        assert.equal(empty.status, 'skipped');
        assert.match(empty.message, /^no logged predictions of loans between /);
        logWindow(h, 'x', T0 - 1000, [30, 40], ['paris']);
        const bad = await s.monitors.run(m.id);
        assert.equal(bad.status, 'error');
        assert.match(bad.message, /reference rows and loans inputs have no column in common \(reference rows: income; loans inputs: age, city\)/);
        assert.equal((await s.monitors.get(m.id)).state, 'error');
        assert.deepEqual(await s.alerts.list(), []);
        await assert.rejects(s.monitors.report(bad.id), /has no report/);
        // A new reference through an update is stored as at creation, and the next check uses it.
        const shaOf = (x: typeof m) => (x.drift as { reference: { sha256: string } }).reference.sha256;
        const fixed = await s.monitors.update(m.id, { drift: { reference: { records: [{ age: 31, city: 'paris' }, { age: 39, city: 'paris' }, { age: 35, city: 'paris' }] }, alertOn: 'column' } });
        assert.match(shaOf(fixed), /^[0-9a-f]{64}$/);
        assert.notEqual(shaOf(fixed), shaOf(m));
        assert.equal((fixed.drift as { alertOn: string }).alertOn, 'column');
        const good = await s.monitors.run(m.id);
        assert.notEqual(good.status, 'error', good.message);
        assert.match(good.message, /of 2 columns drifted/);
        await assert.rejects(s.monitors.update(m.id, { performance: { metric: 'accuracy', min: 0.5 } }), /performance: a drift monitor takes only the "drift" settings/);
      } finally {
        await h.close();
      }
    });

    test('references from a file and from a window of logged inputs', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        const dir = tempDir('mpref');
        const csv = join(dir, 'ref.csv');
        writeFileSync(csv, 'age,city\n' + referenceRecords.map((r) => `${r.age},${r.city}`).join('\n') + '\n');
        const fromFile = await s.monitors.create({ name: 'file', deployment: 'loans', kind: 'drift', intervalSeconds: 60, drift: { reference: { path: csv }, alertOn: 'column' } });
        assert.deepEqual((fromFile.drift as { reference: { path: string } }).reference.path, csv);
        logWindow(h, 'r', T0 - 50_000, normals(200, 40, 10, 7), ['paris', 'rome', 'oslo']);
        logWindow(h, 'n', T0 - 30_000, normals(200, 40, 10, 8), ['paris', 'rome', 'oslo']);
        const ok = await s.monitors.run('file');
        assert.equal(ok.status, 'ok', ok.message);
        const fromWindow = await s.monitors.create({
          name: 'window',
          deployment: 'loans',
          kind: 'drift',
          intervalSeconds: 30,
          drift: { reference: { window: { from: new Date(T0 - 60_000).toISOString(), to: T0 - 40_000 } } },
        });
        assert.equal(fromWindow.drift?.reference !== undefined, true);
        const c = await s.monitors.run('window');
        assert.equal(c.status, 'ok', c.message);
        assert.equal(c.summary.referenceRows, 200);
        assert.equal(c.summary.currentRows, 200);
        await assert.rejects(
          s.monitors.create({ name: 'missing', deployment: 'loans', kind: 'drift', drift: { reference: { path: join(dir, 'nope.csv') } } }),
          /nope\.csv/,
        );
      } finally {
        await h.close();
      }
    });

    test('a performance monitor waits for late labels (delay), skips thin windows, and fires below the bound', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        const m = await s.monitors.create({
          name: 'acc',
          deployment: 'loans',
          kind: 'performance',
          intervalSeconds: 3600,
          windowSeconds: 3600,
          delaySeconds: 3600,
          performance: { metric: 'accuracy', min: 0.8, minRows: 10 },
        });
        // Predictions in the hour [T0, T0+1h); labels come an hour later.
        for (let i = 0; i < 20; i++) s.log.record(record(`p${i}`, T0 + i * 1000, { x: [i] }, { label: [1] }));
        h.clock.advance(HOUR);
        const thin = await s.monitors.run(m.id);
        assert.equal(thin.status, 'skipped');
        assert.match(thin.message, /^no labelled predictions in the window; at least 10 are needed$/);
        await s.submitFeedback(Array.from({ length: 20 }, (_, i) => ({ request_id: `p${i}`, label: i < 14 ? 1 : 0 })));
        h.clock.advance(HOUR);
        const [c] = await s.monitors.runDue();
        assert.equal(c.status, 'alert');
        assert.equal(c.message, 'accuracy = 0.7000 over 20 labelled rows, below the minimum 0.8');
        assert.equal(c.windowFrom, T0);
        assert.equal(c.windowTo, T0 + HOUR);
        const [alert] = await s.alerts.list({ state: 'firing' });
        assert.equal(alert.kind, 'performance');
        assert.equal(alert.reportUrl, undefined);
      } finally {
        await h.close();
      }
    });

    test('definitions are validated with messages that name the field', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        await assert.rejects(s.monitors.create({ name: 'p', deployment: 'd', kind: 'performance', performance: { metric: 'accuracy' } }), /performance: give min and\/or max for accuracy/);
        await assert.rejects(s.monitors.create({ name: 'p', deployment: 'd', kind: 'drift' }), /drift: a drift monitor needs drift.reference/);
        await assert.rejects(
          s.monitors.create({ name: 'p', deployment: 'd', kind: 'performance', performance: { metric: 'f1', min: 0.5 }, drift: { reference: { records: [{ a: 1 }] } } }),
          /drift: a performance monitor takes only the "performance" settings/,
        );
        await assert.rejects(s.monitors.create({ name: 'p', deployment: 'd', kind: 'concept_drift', webhooks: [{ url: 'ftp://x' }] }), /webhooks\[0\]\.url: ftp:\/\/x: only http and https/);
        await assert.rejects(
          s.monitors.create({ name: 'w', deployment: 'd', kind: 'drift', drift: { reference: { window: { from: 'yesterday', to: 5 } } } }),
          /drift.reference.window.from: "yesterday" is neither an ISO time nor epoch milliseconds/,
        );
        await s.monitors.create({ name: 'c', deployment: 'd', kind: 'concept_drift' });
        await assert.rejects(s.monitors.create({ name: 'c', deployment: 'd', kind: 'concept_drift' }), /monitor "c" already exists/);
        await assert.rejects(s.monitors.run('c'), /has no scheduled check to run/);
        const updated = await s.monitors.update('c', { conceptDrift: { detector: 'ddm' }, enabled: false });
        assert.deepEqual([updated.enabled, updated.conceptDrift?.detector], [false, 'ddm']);
        await s.monitors.delete('c');
        await assert.rejects(s.monitors.get('c'), /monitor "c" does not exist/);
      } finally {
        await h.close();
      }
    });
  });
}
