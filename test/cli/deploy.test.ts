import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { readTable } from '../../src/data/read-table.js';
import { deployRequestFromFlags } from '../../src/cli/deploy.js';
import { LOGREG, expectedLogreg } from '../serving/helpers.js';

describe('modelport deploy / predict', () => {
  test('flags become a deploy request; mistakes name the flag', () => {
    assert.deepEqual(deployRequestFromFlags('m', { alias: 'champion', maxBatchSize: '32', maxQueueDelayUs: '500', cache: true, rateLimit: '50', burst: '100' }), {
      name: undefined,
      model: 'm',
      version: undefined,
      alias: 'champion',
      batching: { max_batch_size: 32, max_queue_delay_us: 500 },
      cache: { enabled: true },
      rate_limit: { enabled: true, requests_per_second: 50, burst: 100 },
      threads: undefined,
      executor: undefined,
      onnx_engine: undefined,
    });
    assert.equal(deployRequestFromFlags('m', { version: '1', onnxEngine: 'onnxruntime' }).onnx_engine, 'onnxruntime');
    assert.throws(() => deployRequestFromFlags('m', { version: '1', onnxEngine: 'wasm' }), /--onnx-engine: "wasm" must be auto or onnxruntime/);
    assert.throws(() => deployRequestFromFlags('m', { version: '1', alias: 'a' }), /--version, --alias: give one, not both/);
    assert.throws(() => deployRequestFromFlags('m', { version: 'x' }), /--version: "x" is not a whole number/);
    assert.throws(() => deployRequestFromFlags('m', { version: '1', rateLimit: '-2' }), /--rate-limit: "-2" is not a positive number/);
    assert.throws(() => deployRequestFromFlags('m', { version: '1', rateLimitKey: 'ip' }), /--rate-limit-key: "ip" must be token or address/);
  });

  test('register, deploy, score a CSV into CSV and Parquet, move, fail clearly', async () => {
    const data = tempDir('mpcli');
    const dir = tempDir('mpcli-io');
    const cli = (...args: string[]) => runCli([...args, '--data', data]);
    assert.equal((await cli('models', 'register', 'cancer', join(LOGREG, 'model.onnx'))).code, 0);
    const deployed = await cli('deploy', 'cancer', '-v', '1', '--max-batch-size', '16');
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /cancer: ready\n {2}primary: cancer version 1, serving 1 \(on (event-loop|worker), js engine\)\n {2}batching: up to 16 rows/);
    const forced = await cli('deploy', 'cancer', '-v', '1', '--name', 'cancer-ort', '--onnx-engine', 'onnxruntime');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /serving 1 \(on (event-loop|worker), onnxruntime engine\)/);

    const input = join(dir, 'rows.csv');
    writeFileSync(input, readFileSync(join(LOGREG, 'input.csv')));
    const out = join(dir, 'out.csv');
    const scored = await cli('predict', 'cancer', '--input', input, '--output', out, '--batch-size', '50');
    assert.equal(scored.code, 0, scored.stderr);
    assert.match(scored.stdout, /wrote 114 predictions/);
    assert.match(scored.stderr, /scoring 114 rows: 114\/114 done/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'label,probabilities_0,probabilities_1');
    assert.equal(lines.length, 115);
    const expected = await expectedLogreg();
    lines.slice(1).forEach((l, i) => {
      const [label, , p1] = l.split(',').map(Number);
      assert.equal(label, expected.label[i]);
      assert.ok(Math.abs(p1 - expected.probabilities[i][1]) < 1e-5);
    });
    const pq = join(dir, 'out.parquet');
    assert.equal((await cli('predict', 'cancer', '--input', input, '--output', pq)).code, 0);
    const table = await readTable(pq);
    assert.equal(table.rowCount, 114);
    assert.deepEqual(table.columns.map((c) => c.name), ['label', 'probabilities_0', 'probabilities_1']);

    const missing = await cli('predict', 'nope', '--input', input, '--output', out);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /modelport: deployment "nope" does not exist/);
    const badVersion = await cli('deploy', 'cancer', '-v', '7');
    assert.equal(badVersion.code, 2);
    assert.match(badVersion.stderr, /version=7\) not found/);
    const listed = await cli('deployments', 'list');
    assert.match(listed.stdout, /cancer: ready/);
    assert.equal((await cli('deployments', 'delete', 'cancer')).code, 0);
  });
});
