import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/platform.js';
import { spawnCli, waitForLine } from '../helpers/cli.js';
import type { RunningServer } from '../../src/server/serve.js';
import { FOREST, LOGREG, breastCancerRows, post, register, v2Row } from '../serving/helpers.js';

async function patch(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe('weighted sticky traffic split over HTTP', () => {
  let server: RunningServer;
  let row: number[];
  before(async () => {
    row = (await breastCancerRows())[0];
    server = await testServer();
    const registry = server.platform.services.registry;
    await register(registry, 'cancer', LOGREG, ['model.onnx']);
    await register(registry, 'cancer', FOREST, ['model.onnx']);
    assert.equal((await post(`${server.url}/api/v1/deployments`, { name: 'split', model: 'cancer', version: 1 })).status, 201);
  });
  after(() => server.close());

  test('PATCH sets variants; each user id sticks to one variant, named in the header and model_version', async () => {
    const res = await patch(`${server.url}/api/v1/deployments/split`, {
      variants: [
        { name: 'primary', model: 'cancer', version: 1, weight: 70 },
        { name: 'challenger', model: 'cancer', version: 2, weight: 30 },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.variants.map((v: any) => [v.name, v.weight, v.serving_version]), [['primary', 70, 1], ['challenger', 30, 2]]);
    const seen = new Map<string, string>();
    let challenger = 0;
    for (let i = 0; i < 300; i++) {
      const user = `user-${i % 100}`;
      const r = await post(`${server.url}/v2/models/split/infer`, v2Row(row), { 'x-user-id': user });
      assert.equal(r.status, 200);
      const variant = r.headers.get('x-modelport-variant')!;
      assert.equal(r.body.model_version, variant === 'primary' ? '1' : '2');
      if (seen.has(user)) assert.equal(variant, seen.get(user), `${user} moved`);
      seen.set(user, variant);
      if (variant === 'challenger') challenger++;
    }
    assert.ok(challenger > 30 && challenger < 180, `challenger answered ${challenger} of 300`);
    // The scoring protocol routes alike and names the variant too.
    const first = [...seen][0];
    const scored = await post(`${server.url}/deployments/split/invocations`, { inputs: [row] }, { 'x-user-id': first[0] });
    assert.equal(scored.headers.get('x-modelport-variant'), first[1]);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /modelport_requests_total\{deployment="split",version="2",variant="challenger",protocol="v2",code="200"\} \d+/);
    assert.match(text, /modelport_request_duration_seconds_count\{deployment="split",variant="primary",protocol="v2"\} \d+/);

    // A second server process on the same store assigns every user alike.
    const child = spawnCli(['server', '--data', server.platform.config.dataDir, '--port', '0', '--log-level', 'warn']);
    try {
      const [, url] = await waitForLine(child, /modelport listening on (http:\/\/127\.0\.0\.1:\d+)/, 120_000);
      for (const [user, variant] of [...seen].slice(0, 40)) {
        const r = await post(`${url}/v2/models/split/infer`, v2Row(row), { 'x-user-id': user });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.headers.get('x-modelport-variant'), variant, `${user} in the second process`);
      }
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('a named input field routes before the header', async () => {
    const res = await patch(`${server.url}/api/v1/deployments/split`, { routing: { input_field: 'input' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.routing, { header: 'x-user-id', input_field: 'input', breaker_failures: 5, breaker_cooldown_ms: 30000 });
    // The key is the row's first value: one input row always lands on one variant, whoever sends it.
    const variants = new Set<string>();
    for (let i = 0; i < 10; i++) variants.add((await post(`${server.url}/v2/models/split/infer`, v2Row(row), { 'x-user-id': `u${i}` })).headers.get('x-modelport-variant')!);
    assert.equal(variants.size, 1);
    assert.equal((await patch(`${server.url}/api/v1/deployments/split`, { routing: { input_field: 'absent' } })).status, 200);
  });

  test('bad variants and unknown fields are 400s naming the field', async () => {
    const url = `${server.url}/api/v1/deployments/split`;
    const cases: [unknown, number, RegExp][] = [
      [{ variants: [{ name: 'a', model: 'cancer', version: 1, weight: 60 }, { name: 'b', model: 'cancer', version: 2, weight: 30 }] }, 400, /variants\.weight: .*sum to 90/],
      [{ variants: [{ name: 'a', model: 'cancer', version: 1, weight: 50 }, { name: 'a', model: 'cancer', version: 2, weight: 50 }] }, 400, /variants\[1\]\.name: two variants are named "a"/],
      [{ variants: [{ name: 'a', model: 'cancer', version: 1, weight: 50 }, { name: 'b', model: 'cancer', version: 9, weight: 50 }] }, 404, /variants\[1\] \(b\): Model Version \(name=cancer, version=9\) not found/],
      [{ variants: [{ name: 'a', model: 'cancer', version: 1 }] }, 400, /variants\[0\]\.weight is required/],
      [{ variants: [{ name: 'a', model: 'cancer', version: 1, weight: 100 }], version: 2 }, 400, /variants: give variants or model\/version\/alias, not both/],
      [{ variantz: [], batching: { max_batch_size: 2, nope: 1 } }, 400, /body has unknown fields: variantz, batching\.nope/],
      [{ variants: [{ name: 'a', model: 'cancer', version: 1, weight: 100, colour: 'red' }] }, 400, /body has unknown field: variants\[0\]\.colour/],
    ];
    for (const [body, status, message] of cases) {
      const res = await patch(url, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(res.body.error.message, message);
    }
    // The deployment is unchanged by the refused requests.
    const d = (await (await fetch(url)).json()) as any;
    assert.equal(d.variants.length, 2);
    // Other tools' protocols stay lenient about fields they do not know.
    const v2 = await post(`${server.url}/v2/models/split/infer`, { ...v2Row(row), extra: true });
    assert.equal(v2.status, 200);
  });
});
