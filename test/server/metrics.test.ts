import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { testServer } from '../helpers/platform.js';
import type { RunningServer } from '../../src/server/serve.js';
import { LOGREG, breastCancerRows, post, register, v2Row } from '../serving/helpers.js';

function promtoolSkip(): string | false {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return false;
  const reason = 'promtool is not installed (Debian package "prometheus"); skipping the exposition-format check';
  console.log(`# SKIP: ${reason}`);
  return reason;
}

const metric = (text: string, line: RegExp) => {
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? undefined : Number(m.split(' ').at(-1));
};

describe('serving metrics, cache and rate limit over HTTP', () => {
  let server: RunningServer;
  let rows: number[][];
  before(async () => {
    server = await testServer();
    await register(server.platform.services.registry, 'cancer', LOGREG, ['model.onnx']);
    const res = await post(`${server.url}/api/v1/deployments`, {
      model: 'cancer',
      version: 1,
      cache: { enabled: true, max_entries: 100 },
      rate_limit: { enabled: true, requests_per_second: 0.5, burst: 5, key: 'token' },
      batching: { max_batch_size: 16 },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.cache, { enabled: true, max_entries: 100, max_bytes: 64 * 1024 * 1024, ttl_ms: 0, shared: false });
    rows = await breastCancerRows();
  });
  after(() => server.close());

  test('the same input twice is a cache hit; a bucket per token answers 429 with Retry-After in both protocols', async () => {
    const alice = { authorization: 'Bearer alice' };
    const first = await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[0]), alice);
    const second = await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[0]), alice);
    assert.deepEqual(second.body, first.body);
    // Another protocol, same conformed batch: the same cache entry.
    await post(`${server.url}/deployments/cancer/invocations`, { instances: [rows[0]] }, alice);
    assert.deepEqual(server.platform.services.serving.cacheStats('cancer'), { hits: 2, misses: 1, entries: 1, bytes: server.platform.services.serving.cacheStats('cancer')!.bytes });
    await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[1]), alice);
    await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[2]), alice);
    const limited = await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[3]), alice);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '2');
    assert.match(limited.body.error, /rate limit of 0.5 requests\/s \(burst 5\) exceeded/);
    const mlflow = await post(`${server.url}/deployments/cancer/invocations`, { instances: [rows[3]] }, alice);
    assert.equal(mlflow.status, 429);
    assert.equal(mlflow.body.error_code, 'RESOURCE_EXHAUSTED');
    assert.equal((await post(`${server.url}/v2/models/cancer/infer`, v2Row(rows[3]), { authorization: 'Bearer bob' })).status, 200);
  });

  test('GET /metrics exposes the serving metrics', async () => {
    await post(`${server.url}/v2/models/cancer/infer`, { inputs: [] });
    await post(`${server.url}/v2/models/random-name/infer`, { inputs: [] });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.equal(metric(text, /^modelport_requests_total\{deployment="cancer",version="1",variant="primary",protocol="v2",code="200"\}/), 5);
    assert.equal(metric(text, /^modelport_requests_total\{deployment="cancer",version="1",variant="primary",protocol="mlflow",code="429"\}/), 1);
    assert.equal(metric(text, /^modelport_requests_total\{deployment="cancer",version="",variant="",protocol="v2",code="400"\}/), 1);
    assert.equal(metric(text, /^modelport_requests_total\{deployment="",version="",variant="",protocol="v2",code="400"\}/), 1);
    assert.equal(metric(text, /^modelport_cache_hits_total\{deployment="cancer"\}/), 2);
    assert.equal(metric(text, /^modelport_cache_misses_total\{deployment="cancer"\}/), 4);
    assert.equal(metric(text, /^modelport_rate_limited_total\{deployment="cancer"\}/), 2);
    assert.equal(metric(text, /^modelport_requests_in_flight\{deployment="cancer"\}/), 0);
    assert.equal(metric(text, /^modelport_batch_size_rows_count\{deployment="cancer"\}/), 4);
    assert.ok(metric(text, /^modelport_queue_wait_seconds_count\{deployment="cancer"\}/)! >= 4);
    assert.ok(metric(text, /^modelport_model_load_seconds\{deployment="cancer",model="cancer",version="1"\}/)! > 0);
    assert.ok(metric(text, /^modelport_request_duration_seconds_count\{deployment="cancer",variant="primary",protocol="v2"\}/)! >= 6);
  });

  test('the exposition passes promtool check metrics', { skip: promtoolSkip() }, async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '');
  });
});
