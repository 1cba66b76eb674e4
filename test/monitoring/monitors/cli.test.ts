/** The `modelport monitors` command's flag handling (the command itself is wired in main.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorFromFlags, parseDuration, feedbackFromFile } from '../../../src/cli/monitors.js';
import { tempDir } from '../../helpers/services.js';

const base = { deployment: 'loans', webhook: [] as string[] };

test('durations', () => {
  assert.equal(parseDuration('90', '--interval'), 90);
  assert.equal(parseDuration('15m', '--interval'), 900);
  assert.equal(parseDuration('2h', '--interval'), 7200);
  assert.equal(parseDuration('7d', '--window'), 604800);
  assert.throws(() => parseDuration('soon', '--interval'), /--interval: "soon" is not a duration like 90s, 15m, 1h or 7d/);
  assert.throws(() => parseDuration('0m', '--interval'), /--interval/);
});

test('flags become monitor definitions; mistakes name the flag', () => {
  assert.deepEqual(monitorFromFlags('d', { ...base, kind: 'drift', interval: '1h', dataset: 'loans-train@3', alertOn: 'column', webhook: ['https://hooks.example.com/x'], secret: 's' }), {
    name: 'd',
    deployment: 'loans',
    kind: 'drift',
    intervalSeconds: 3600,
    windowSeconds: undefined,
    delaySeconds: undefined,
    webhooks: [{ url: 'https://hooks.example.com/x', secret: 's' }],
    drift: { reference: { dataset: 'loans-train', version: 3 }, alertOn: 'column' },
  });
  const perf = monitorFromFlags('p', { ...base, kind: 'performance', metric: 'accuracy', min: '0.8', delay: '1d' });
  assert.deepEqual([perf.performance, perf.delaySeconds], [{ metric: 'accuracy', min: 0.8, max: undefined, minRows: undefined }, 86400]);
  assert.deepEqual(monitorFromFlags('c', { ...base, kind: 'concept_drift', detector: 'ddm' }).conceptDrift, { detector: 'ddm' });
  assert.throws(() => monitorFromFlags('x', { ...base, kind: 'nope' }), /--kind: "nope" must be drift, performance or concept_drift/);
  assert.throws(() => monitorFromFlags('x', { ...base, kind: 'drift' }), /give exactly one reference/);
  assert.throws(() => monitorFromFlags('x', { ...base, kind: 'drift', referenceFrom: '2026-01-01' }), /give both ends of the reference window/);
  assert.throws(() => monitorFromFlags('x', { ...base, kind: 'performance' }), /--metric: a performance monitor needs a metric/);
  assert.throws(() => monitorFromFlags('x', { ...base, kind: 'performance', metric: 'f1', min: 'high' }), /--min: "high" is not a number/);
});

test('feedback files: labels, values, rows; missing columns are named', async () => {
  const dir = tempDir('mpfb');
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, 'request_id,row,label\nr1,0,1\nr2,1,0\n');
  assert.deepEqual(await feedbackFromFile(labels), [
    { request_id: 'r1', row: 0, label: 1 },
    { request_id: 'r2', row: 1, label: 0 },
  ]);
  const values = join(dir, 'values.jsonl');
  writeFileSync(values, '{"request_id":"a","value":2.5}\n');
  assert.deepEqual(await feedbackFromFile(values), [{ request_id: 'a', value: 2.5 }]);
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'id,label\nr1,1\n');
  await assert.rejects(feedbackFromFile(bad), /no request_id column \(it has id, label\)/);
});
