import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ENGINES } from '../monitors/helpers.js';
import { freePort } from '../../helpers/services.js';
import { webhookServer } from './webhook-server.js';
import type { AlertEvent } from '../../../src/monitoring/alerts/types.js';

for (const engine of ENGINES) {
  describe(`alerts: ${engine.name}`, async () => {
    const skip = await engine.skip();

    test('ok → firing → (deduplicated) → resolved, each transition published once', { skip }, async () => {
      const h = await engine.open();
      try {
        const { alerts } = h.service;
        const events: AlertEvent[] = [];
        h.service.events.on('alert', (e) => events.push(e));
        h.service.events.on('alert', () => {
          throw new Error('a failing subscriber does not stop the others or the alert');
        });
        const input = { dedupKey: 'k1', deployment: 'd', kind: 'drift' as const, message: 'drifted' };
        const a = await alerts.raise(input);
        assert.equal(a.opened, true);
        h.clock.advance(1000);
        const b = await alerts.raise({ ...input, message: 'still drifted' });
        assert.equal(b.opened, false);
        assert.equal(b.alert.id, a.alert.id);
        assert.equal(b.alert.occurrences, 2);
        assert.equal((await alerts.list({ state: 'firing' })).length, 1);
        const r = await alerts.resolveKey('k1', 'recovered');
        assert.equal(r?.state, 'resolved');
        assert.equal(r?.resolvedAt, a.alert.startedAt + 1000);
        assert.equal(await alerts.resolveKey('k1', 'again'), undefined, 'nothing fires under the key any more');
        const c = await alerts.raise(input);
        assert.notEqual(c.alert.id, a.alert.id, 'a new episode is a new alert');
        assert.deepEqual(events.map((e) => e.type), ['alert.firing', 'alert.resolved', 'alert.firing']);
        await assert.rejects(h.service.resolveAlert(a.alert.id), /is already resolved/);
        assert.equal((await h.service.resolveAlert(c.alert.id)).state, 'resolved');
        await assert.rejects(alerts.get('nope'), /alert nope does not exist/);
      } finally {
        await h.close();
      }
    });

    test('webhooks are HMAC-SHA256 signed and retried with exponential backoff by the clock', { skip }, async () => {
      const hook = await webhookServer([500, 503, 200]);
      const h = await engine.open();
      try {
        const { alerts, webhooks } = h.service;
        const { alert } = await alerts.raise({ dedupKey: 'k', deployment: 'd', kind: 'performance', message: 'accuracy low' }, [{ url: hook.url, secret: 's3cret' }]);
        await webhooks.idle();
        assert.equal(hook.received.length, 1);
        let [d] = await webhooks.list(alert.id);
        assert.deepEqual([d.status, d.attempts, d.responseStatus, d.error], ['pending', 1, 500, 'HTTP 500']);
        assert.equal(d.nextAttemptAt, h.clock.now() + 1000);
        h.clock.advance(999);
        await webhooks.deliverDue();
        assert.equal(hook.received.length, 1, 'not due yet');
        h.clock.advance(1);
        await webhooks.deliverDue();
        [d] = await webhooks.list(alert.id);
        assert.deepEqual([d.status, d.attempts, d.nextAttemptAt], ['pending', 2, h.clock.now() + 2000], 'the wait doubles');
        h.clock.advance(2000);
        await webhooks.deliverDue();
        [d] = await webhooks.list(alert.id);
        assert.deepEqual([d.status, d.attempts, d.responseStatus], ['delivered', 3, 200]);
        const last = hook.received[2];
        assert.equal(last.headers['x-modelport-event'], 'alert.firing');
        assert.equal(last.headers['x-modelport-signature'], `sha256=${createHmac('sha256', 's3cret').update(last.body).digest('hex')}`);
        const body = JSON.parse(last.body) as AlertEvent;
        assert.equal(body.alert.id, alert.id);
        assert.equal(body.alert.message, 'accuracy low');
      } finally {
        await h.close();
        await hook.close();
      }
    });

    test('a delivery gives up after the last attempt; an unreachable target is an error, not a crash', { skip }, async () => {
      const h = await engine.open();
      try {
        const { alerts, webhooks } = h.service;
        const { alert } = await alerts.raise({ dedupKey: 'k', deployment: 'd', kind: 'drift', message: 'x' }, [{ url: `http://127.0.0.1:${await freePort()}/none` }]);
        await webhooks.idle();
        for (let i = 0; i < 5; i++) {
          h.clock.advance(10_000);
          await webhooks.deliverDue();
        }
        const [d] = await webhooks.list(alert.id);
        assert.deepEqual([d.status, d.attempts, d.nextAttemptAt], ['failed', 3, undefined]);
        assert.match(d.error ?? '', /ECONNREFUSED/);
      } finally {
        await h.close();
      }
    });

    test('without allowPrivateWebhookTargets every delivery checks the addresses it connects to', { skip }, async () => {
      // Targets are checked when a monitor saves them; a name can resolve elsewhere later.
      const h = await engine.open({ webhooks: { allowPrivateTargets: false } });
      const server = await webhookServer();
      try {
        const { alerts, webhooks } = h.service;
        const byName = server.url.replace('127.0.0.1', 'localhost');
        const { alert } = await alerts.raise({ dedupKey: 'k', deployment: 'd', kind: 'drift', message: 'x' }, [{ url: server.url }, { url: byName }]);
        await webhooks.idle();
        const deliveries = await webhooks.list(alert.id);
        assert.equal(deliveries.length, 2);
        for (const d of deliveries) assert.match(d.error ?? '', /(127\.0\.0\.1|::1) is a loopback or private address/);
        assert.equal(server.received.length, 0, 'nothing reached the internal address');
      } finally {
        await server.close();
        await h.close();
      }
    });
  });
}
