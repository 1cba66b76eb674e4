/** Webhook targets, signatures and the retry schedule (on the injected clock). */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { isInternalAddress, signWebhookPayload } from '../../src/registry/index.js';
import { createRegistryService } from '../../src/registry/index.js';
import { openRegistry, type RegistryHarness } from './helpers.js';

describe('webhook targets', () => {
  test('loopback, private, link-local and mapped addresses are internal; public ones are not', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      assert.equal(isInternalAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isInternalAddress(a), false, a);
  });

  test('signatures are HMAC-SHA256 of the body, hex, sha256= prefixed', () => {
    assert.equal(signWebhookPayload('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  test('targets on internal addresses are refused unless allowed', async () => {
    const h = await openRegistry('sqlite');
    try {
      for (const url of ['http://127.0.0.1:9/x', 'http://[::1]:9/x', 'http://169.254.169.254/latest', 'http://localhost:9/x']) {
        await assert.rejects(h.registry.webhooks.create({ url, events: ['*'] }), /loopback or private address; such targets are refused unless allowPrivateWebhookTargets is set/, url);
      }
      await assert.rejects(h.registry.webhooks.create({ url: 'ftp://93.184.215.14/x', events: ['*'] }), /only http and https/);
      const publicHook = await h.registry.webhooks.create({ url: 'https://93.184.215.14/x', events: ['*'] });
      assert.equal(publicHook.status, 'ACTIVE');
      // A name that does not resolve (offline, or set up later) is kept; each delivery resolves it again.
      const offline = await h.registry.webhooks.create({ url: 'https://ci.example.invalid/hook', events: ['*'] });
      assert.equal(offline.url, 'https://ci.example.invalid/hook');
      await assert.rejects(h.registry.webhooks.create({ url: 'https://example.com/x', events: ['model.sneezed'] }), /unknown event "model.sneezed"/);
    } finally {
      await h.close();
    }
  });
});

/**
 * Waits until `ready()` holds, failing after 10 s: a step of these tests that has not happened
 * yet when the manual clock moves on would leave a retry asleep on that clock for good.
 */
async function until(ready: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 60_000; !(await ready()); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('webhook retries', () => {
  let h: RegistryHarness;
  let server: http.Server;
  let url: string;
  const seen: number[] = [];
  before(async () => {
    h = await openRegistry('sqlite', { allowPrivateWebhookTargets: true, webhooks: { maxAttempts: 4, baseDelayMs: 500 } });
    server = http.createServer((req, res) => {
      seen.push(h.clock.now());
      req.resume();
      res.statusCode = 503;
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  after(async () => {
    await h.close();
    await new Promise((r) => server.close(r));
  });

  test('a delivery left pending by a stopped process is resumed, and only one process sends each attempt', async () => {
    const hook = await h.registry.webhooks.create({ url, events: ['registered_model.deleted'] });
    seen.length = 0;
    await h.registry.createModel({ name: 'gone' });
    await h.registry.deleteModel('gone');
    await until(async () => (await h.registry.webhooks.deliveries(hook.id)).some((d) => d.responseStatus === 503), 'the first attempt');
    assert.equal(seen.length, 1);
    // Two more processes over the same stores: both resume the pending delivery.
    const stores = (h.registry as unknown as { stores: Parameters<typeof createRegistryService>[0] }).stores;
    const options = { allowPrivateWebhookTargets: true, webhooks: { maxAttempts: 4, baseDelayMs: 500 } };
    const [b, c] = await Promise.all([createRegistryService(stores, options), createRegistryService(stores, options)]);
    h.clock.advance(500);
    await until(async () => (await h.registry.webhooks.deliveries(hook.id)).some((d) => d.attempts === 2 && d.nextAttemptAt! > h.clock.now()), 'the second attempt');
    await until(() => h.clock.wakeTimes().includes(h.clock.now() + 1000), 'the third attempt waiting on the clock');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, 2, 'the second attempt was sent once although three processes held it');
    const [d] = await h.registry.webhooks.deliveries(hook.id);
    assert.deepEqual([d.status, d.attempts, d.nextAttemptAt], ['PENDING', 2, h.clock.now() + 1000]);
    await Promise.all([b.close(), c.close()]);
    await h.registry.webhooks.delete(hook.id);
    seen.length = 0;
  });

  test('failed deliveries back off exponentially on the clock, then stop as FAILED', async () => {
    const hook = await h.registry.webhooks.create({ url, events: ['registered_model.created'] });
    const t0 = h.clock.now();
    await h.registry.createModel({ name: 'm' });
    for (let attempt = 1; attempt < 4; attempt++) {
      await until(() => seen.length >= attempt, `attempt ${attempt} at the server`);
      const retryAt = h.clock.now() + 500 * 2 ** (attempt - 1);
      await until(() => h.clock.wakeTimes().includes(retryAt), `the retry after attempt ${attempt} waiting on the clock`);
      h.clock.advance(500 * 2 ** (attempt - 1));
    }
    await h.registry.idle();
    assert.deepEqual(seen.map((t) => t - t0), [0, 500, 1500, 3500]);
    const [d] = await h.registry.webhooks.deliveries(hook.id);
    assert.equal(d.status, 'FAILED');
    assert.equal(d.attempts, 4);
    assert.equal(d.responseStatus, 503);
    assert.equal(d.nextAttemptAt, undefined);
  });
});
