import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelportClient } from '../../src/client/client.js';
import { JobsClient, serverScorer } from '../../src/client/jobs.js';
import { runBatchJob } from '../../src/serving/jobs/run.js';
import { deploymentScorer } from '../../src/serving/jobs/scorer.js';
import { httpBlobUploader } from '../../src/client/registry.js';
import { readTable, type NumericColumn } from '../../src/data/read-table.js';
import type { RunningServer } from '../../src/server/serve.js';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { register, XGB } from '../serving/helpers.js';
import { expectedProbabilities, makeInputs, type Inputs } from '../serving/jobs/helpers.js';

describe('batch jobs on a server (/api/v1/jobs)', () => {
  let server: RunningServer;
  let jobs: JobsClient;
  let inputs: Inputs;
  let dir: string;
  const upload = (file: string) => httpBlobUploader({ url: server.url }, { roles: [] })(file);

  before(async () => {
    server = await testServer();
    await register(server.platform.services.registry, 'cancer', XGB, ['model.json']);
    await server.platform.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    jobs = new JobsClient(new ModelportClient(server.url));
    dir = tempDir('mpjobs-srv');
    inputs = await makeInputs(dir);
  });
  after(() => server.close());

  test('an uploaded Parquet file is scored in the background; progress, rows and the output are in the job', async () => {
    const { sha256 } = await upload(inputs.parquet);
    const submitted = await jobs.submit({ deployment: 'cancer', input: { sha256, format: 'parquet' }, output_format: 'csv', keep: ['id', 'customer'], chunk_rows: 20 });
    assert.ok(['queued', 'running'].includes(submitted.state));
    const done = await jobs.wait(submitted.id, undefined, 100);
    assert.equal(done.state, 'succeeded', done.error);
    assert.deepEqual([done.rows_total, done.rows_done], [114, 114]);
    assert.match(done.model!, /^cancer version 1 /);
    assert.equal(done.output!.url, `/api/v1/jobs/${done.id}/output`);
    const out = join(dir, 'server-out.csv');
    const bytes = await jobs.output(done.id);
    assert.equal(bytes.length, done.output!.bytes);
    writeFileSync(out, bytes);
    const table = await readTable(out);
    assert.deepEqual(table.columns.map((c) => c.name), ['id', 'customer', 'margin', 'prediction']);
    const expected = expectedProbabilities();
    (table.columns[3] as NumericColumn).values.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) <= 1e-5, `row ${i}`));
    assert.ok((await jobs.list({ deployment: 'cancer' })).some((j) => j.id === done.id));
  });

  test('a local batch job scored on the server over V2 writes the same bytes as one scored in-process', async () => {
    const remote = await serverScorer(new ModelportClient(server.url), 'cancer');
    assert.deepEqual(remote.signature.inputs.length, 30);
    const viaServer = join(dir, 'via-server.csv');
    const inProcess = join(dir, 'in-process.csv');
    await runBatchJob({ deployment: 'cancer', input: inputs.jsonl, output: viaServer, keep: ['id', 'customer'], chunkRows: 40 }, remote);
    await runBatchJob({ deployment: 'cancer', input: inputs.jsonl, output: inProcess, keep: ['id', 'customer'], chunkRows: 40 }, await deploymentScorer(server.platform.services.serving, 'cancer'));
    assert.ok(readFileSync(viaServer).equals(readFileSync(inProcess)));
  });

  test('bad jobs fail clearly: unknown deployment or file at submit, mismatched columns in the job, cancel of a finished job', async () => {
    const { sha256 } = await upload(inputs.csv);
    await assert.rejects(jobs.submit({ deployment: 'nope', input: { sha256, format: 'csv' } }), /deployment "nope" does not exist/);
    await assert.rejects(jobs.submit({ deployment: 'cancer', input: { sha256: 'a'.repeat(64), format: 'csv' } }), /no file a{64} in the artifact store/);
    await assert.rejects(jobs.submit({ deployment: 'cancer', input: { sha256 } }), /input.format: csv, jsonl or parquet is required/);
    const res = await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deployment: 'cancer', input: { sha256, format: 'xlsx' } }) });
    assert.equal(res.status, 400);
    // The CSV has id and customer columns besides the features: without --keep they are extra.
    const failed = await jobs.wait((await jobs.submit({ deployment: 'cancer', input: { sha256, format: 'csv' } })).id, undefined, 100);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!, /extra "id", "customer"/);
    await assert.rejects(jobs.output(failed.id), /is failed; it has no output/);
    await assert.rejects(jobs.cancel(failed.id), /only a queued or running job can be cancelled/);
  });

  test('a queued job is cancelled', async () => {
    const big = await makeInputs(tempDir('mpjobs-big'), 100);
    const { sha256 } = await upload(big.csv);
    const first = await jobs.submit({ deployment: 'cancer', input: { sha256, format: 'csv' }, keep: ['id', 'customer'], chunk_rows: 100 });
    const second = await jobs.submit({ deployment: 'cancer', input: { sha256, format: 'csv' }, keep: ['id', 'customer'], chunk_rows: 100 });
    const cancelled = await jobs.cancel(second.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal((await jobs.wait(first.id, undefined, 100)).state, 'succeeded');
    assert.equal((await jobs.get(second.id)).state, 'cancelled');
    assert.equal((await jobs.get(second.id)).rows_done, 0);
    assert.equal(readFileSync(big.csv, 'utf8').split('\n').length, 11402);
  });
});
