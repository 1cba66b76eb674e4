/**
 * Hot swap under load: clients keep sending while the deployment moves between versions (by
 * version and by alias) many times; every request must be answered 200, counted by status code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import { FOREST, LOGREG, breastCancerRows, post, register, v2Row } from '../serving/helpers.js';

test('moving a deployment between versions under load drops no request', async () => {
  const server = await testServer();
  try {
    const registry = server.platform.services.registry;
    await register(registry, 'm', LOGREG, ['model.onnx']);
    await register(registry, 'm', FOREST, ['model.onnx']);
    await registry.setAlias('m', 'live', 1);
    const created = await post(`${server.url}/api/v1/deployments`, { model: 'm', version: 1, batching: { max_batch_size: 8, max_queue_delay_us: 200 } });
    assert.equal(created.status, 201);
    const rows = await breastCancerRows();
    const statuses = new Map<number, number>();
    const versions = new Map<string, number>();
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const protocol = (c + i) % 2 === 0;
        const res = protocol
          ? await post(`${server.url}/v2/models/m/infer`, v2Row(rows[(c + i) % rows.length]))
          : await post(`${server.url}/deployments/m/invocations`, { instances: [rows[(c + i) % rows.length]] });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (protocol && res.status === 200) versions.set(res.body.model_version, (versions.get(res.body.model_version) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    const patch = (body: unknown) =>
      fetch(`${server.url}/api/v1/deployments/m`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { variants: { serving_version: number }[] } }),
      );
    const pause = () => new Promise((r) => setTimeout(r, 40));
    let ended: PromiseSettledResult<void>[];
    try {
      for (let round = 0; round < 4; round++) {
        await pause();
        const a = await patch({ version: 2 });
        assert.equal(a.status, 200);
        assert.equal(a.body.variants[0].serving_version, 2);
        await pause();
        const b = await patch({ alias: 'live' });
        assert.equal(b.body.variants[0].serving_version, 1);
        await pause();
        await registry.setAlias('m', 'live', 2);
        await pause();
        await registry.setAlias('m', 'live', 1);
        await pause();
        await patch({ version: 1, batching: { max_batch_size: round % 2 ? 1 : 16 } });
      }
    } finally {
      // The clients stop before the server does, so a failure above is reported as itself and
      // not as the clients' connections being reset by the closing server.
      stop = true;
      ended = await Promise.allSettled(clients);
    }
    const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`# hot swap: ${total} requests over 20 version moves, statuses ${JSON.stringify([...statuses])}`);
    assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(total > 500, `only ${total} requests were sent`);
    assert.ok((versions.get('1') ?? 0) > 0 && (versions.get('2') ?? 0) > 0, `versions answered: ${JSON.stringify([...versions])}`);
  } finally {
    await server.close();
  }
});
