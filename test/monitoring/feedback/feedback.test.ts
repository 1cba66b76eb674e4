import { describe, test } from 'node:test';
import type { MonitoringService } from '../../../src/monitoring/service.js';
import assert from 'node:assert/strict';
import { ENGINES, T0, record } from '../monitors/helpers.js';
import type { AlertEvent } from '../../../src/monitoring/alerts/types.js';

const DAY = 86_400_000;

for (const engine of ENGINES) {
  describe(`feedback: ${engine.name}`, async () => {
    const skip = await engine.skip();

    test('a batch stores what joins, reports unknown ids and malformed items, and never fails as a whole', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        s.log.record(record('a', T0, { x: [1] }, { label: [1] }));
        s.log.record(record('b', T0 + 1, { x: [1, 2] }, { label: [0, 1] }));
        const r = await s.submitFeedback([
          { request_id: 'a', label: 1 },
          { request_id: 'b', row: 1, label: 1 },
          { request_id: 'zzz', label: 0 },
          { request_id: 'b', row: 5, label: 0 },
          { request_id: 'a', label: 1, value: 2 },
          { request_id: '', label: 1 },
          { request_id: 'a', value: Number.NaN },
          { request_id: 'b', row: -1, label: 1 },
        ] as never);
        assert.equal(r.accepted, 2);
        assert.equal(r.replaced, 0);
        assert.deepEqual(r.unknown, [
          { index: 2, request_id: 'zzz', row: 0, reason: 'no logged prediction has this request id (not sampled, past retention, or never made)' },
          { index: 3, request_id: 'b', row: 5, reason: 'request has 2 logged row(s); row 5 is not one of them' },
        ]);
        assert.deepEqual(
          r.invalid.map((p) => [p.index, p.reason]),
          [
            [4, 'give exactly one of label (classification) or value (regression)'],
            [5, 'request_id must be a non-empty string'],
            [6, 'value must be a finite number, got null'],
            [7, 'row must be a whole number >= 0, got -1'],
          ],
        );
        const again = await s.submitFeedback([{ request_id: 'a', label: 0 }]);
        assert.equal(again.replaced, 1, 'a second label for the same row replaces the first');
        const perf = await s.performance({ deployment: 'loans', from: T0, to: T0 + 1000 });
        assert.equal(perf.length, 1);
        assert.equal(perf[0].rows, 2);
        assert.deepEqual(perf[0].metrics.find((m) => m.name === 'accuracy'), { name: 'accuracy', computed: true, value: 0.5 });
      } finally {
        await h.close();
      }
    });

    test('labels arriving days late join to their prediction time window', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        for (let i = 0; i < 10; i++) s.log.record(record(`p${i}`, T0 + i * 3_600_000, { x: [i] }, { y: [i * 2] }));
        h.clock.advance(5 * DAY);
        const items = Array.from({ length: 10 }, (_, i) => ({ request_id: `p${i}`, value: i < 5 ? i * 2 : i * 2 + 1 }));
        const r = await s.submitFeedback(items);
        assert.equal(r.accepted, 10);
        const windows = await s.performance({ deployment: 'loans', from: T0, to: T0 + 10 * 3_600_000, windowMs: 5 * 3_600_000 });
        assert.deepEqual(
          windows.map((w) => [w.rows, w.metrics.find((m) => m.name === 'mae')]),
          [
            [5, { name: 'mae', computed: true, value: 0 }],
            [5, { name: 'mae', computed: true, value: 1 }],
          ],
        );
      } finally {
        await h.close();
      }
    });

    test('concept drift: ADWIN over the error stream raises one deduplicated alert, then it resolves when quiet', { skip }, async () => {
      const h = await engine.open();
      try {
        const s = h.service;
        const events: AlertEvent[] = [];
        s.events.on('alert', (e) => events.push(e));
        // 600 predictions of class 1: right for the first 300 (1 error in 10), wrong for 3 in 5 after.
        const n = 600;
        for (let i = 0; i < n; i++) s.log.record(record(`c${i}`, T0 + i, { x: [i] }, { label: [1] }));
        const items = Array.from({ length: n }, (_, i) => ({ request_id: `c${i}`, label: i < 300 ? (i % 10 === 0 ? 0 : 1) : i % 5 < 3 ? 0 : 1 }));
        const first = await s.submitFeedback(items.slice(0, 300));
        assert.equal(first.detections, 0, 'a stable error rate raises nothing');
        const second = await s.submitFeedback(items.slice(300));
        assert.ok(second.detections >= 1, 'the jump in error rate is detected');
        const alerts = await s.alerts.list({ kind: 'concept_drift' });
        assert.equal(alerts.length, 1, 'several detections make one alert');
        assert.equal(alerts[0].state, 'firing');
        assert.equal(alerts[0].occurrences, second.detections);
        assert.equal(alerts[0].details.detector, 'adwin');
        assert.deepEqual(events.map((e) => e.type), ['alert.firing']);
        h.clock.advance(DAY + 1);
        await s.tick();
        assert.equal((await s.alerts.get(alerts[0].id)).state, 'resolved');
        assert.deepEqual(events.map((e) => e.type), ['alert.firing', 'alert.resolved']);
      } finally {
        await h.close();
      }
    });

    test('concept drift continues one stream when feedback batches go to different replicas', { skip }, async () => {
      // The same labels through one service, and alternately through two sharing the store,
      // must reach the same detections at the same observations.
      const n = 600;
      const items = Array.from({ length: n }, (_, i) => ({ request_id: `c${i}`, label: i < 300 ? (i % 10 === 0 ? 0 : 1) : i % 5 < 3 ? 0 : 1 }));
      const observationsAt = async (services: MonitoringService[]) => {
        for (let i = 0; i < n; i++) services[0].log.record(record(`c${i}`, T0 + i, { x: [i] }, { label: [1] }));
        await services[0].log.flush();
        const batches = 12;
        for (let b = 0; b < batches; b++) await services[b % services.length].submitFeedback(items.slice((b * n) / batches, ((b + 1) * n) / batches));
        const alerts = await services[0].alerts.list({ kind: 'concept_drift' });
        return alerts.map((a) => [a.occurrences, a.details.observations]);
      };
      const single = await engine.open();
      const [a, b] = await engine.replicas();
      try {
        const alone = await observationsAt([single.service]);
        assert.equal(alone.length, 1);
        assert.ok(Number(alone[0][1]) > 300, 'detected after the change');
        assert.deepEqual(await observationsAt([a.service, b.service]), alone);
      } finally {
        await single.close();
        await a.close();
        await b.close();
      }
    });
  });
}
