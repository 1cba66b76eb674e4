import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServingMetrics } from '../../src/serving/metrics.js';

test('answered requests are counted under their own label set, however label sets alternate', async () => {
  const metrics = new ServingMetrics();
  const answers: [string, string, string, string, number][] = [
    ['a', '1', 'main', 'v2', 200],
    ['a', '1', 'main', 'v2', 200],
    ['a', '1', 'main', 'v2', 400],
    ['b', '1', 'main', 'v2', 200],
    ['a', '1', 'main', 'v2', 200],
    ['a', '2', 'main', 'v2', 200],
    ['a', '1', 'canary', 'v2', 200],
    ['a', '1', 'main', 'mlflow', 200],
    ['a', '1', 'main', 'v2', 200],
  ];
  // Fresh strings each time, as request paths give them.
  for (const [d, v, variant, protocol, code] of answers) metrics.countRequest(d.slice(0), v.slice(0), variant.slice(0), protocol, code, 0.001);
  const counted = (await metrics.requests.get()).values.map((s) => [s.labels.deployment, s.labels.version, s.labels.variant, s.labels.protocol, s.labels.code, s.value].join(' '));
  assert.deepEqual(counted.sort(), [
    'a 1 canary v2 200 1',
    'a 1 main mlflow 200 1',
    'a 1 main v2 200 4',
    'a 1 main v2 400 1',
    'a 2 main v2 200 1',
    'b 1 main v2 200 1',
  ]);
  metrics.countRequest('a', '1', 'main', 'v2', 200, 0.001);
  const again = (await metrics.requests.get()).values.find((s) => s.labels.deployment === 'a' && s.labels.code === '200' && s.labels.variant === 'main' && s.labels.protocol === 'v2' && s.labels.version === '1');
  assert.equal(again?.value, 5);
});
