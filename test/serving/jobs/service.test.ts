/** Batch jobs among replicas: a job held by a dead replica is taken over once its lease runs out; one a live replica holds is not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, ReadStream } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Kysely } from 'kysely';
import { testPlatform } from '../../helpers/platform.js';
import { tempDir } from '../../helpers/services.js';
import { register, XGB } from '../helpers.js';
import { makeInputs } from './helpers.js';
import type { Job, JobsService } from '../../../src/serving/jobs/service.js';

async function waitFor(jobs: JobsService, id: string): Promise<Job> {
  for (let job = await jobs.get(id); ; job = await jobs.get(id)) {
    if (job.state !== 'queued' && job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a dead replica's job is taken over when its lease runs out; a live replica's is left alone", async () => {
  const platform = await testPlatform();
  try {
    const { jobs, registry, serving } = platform.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const input = await platform.blobs.put(readFileSync((await makeInputs(tempDir('mpjobs'))).csv));
    const first = await jobs.submit({ deployment: 'cancer', input: { sha256: input.sha256, format: 'csv' }, keep: ['id', 'customer'] });
    const wait = (id: string) => waitFor(jobs, id);
    const done = await wait(first.id);
    assert.equal(done.state, 'succeeded', done.error);

    // Two copies of it as other replicas left them: one died mid-run (lease over), one is alive (lease ahead).
    const db = platform.metadata.db as Kysely<any>;
    const row = await db.selectFrom('srv_job').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
    const now = Date.now();
    const copy = { ...row, rows_done: 0, output_sha256: null, output_bytes: null, finished_ms: null, started_ms: now };
    await db.insertInto('srv_job').values({ ...copy, id: `${first.id}-dead`, state: 'running', owner: 'gone:1', lease_until_ms: now - 1 }).execute();
    await db.insertInto('srv_job').values({ ...copy, id: `${first.id}-live`, state: 'queued', owner: 'alive:2', lease_until_ms: now + 600_000, started_ms: null }).execute();

    await jobs.start();
    const taken = await wait(`${first.id}-dead`);
    assert.equal(taken.state, 'succeeded');
    assert.equal(taken.output?.sha256, (await jobs.get(first.id)).output?.sha256);
    const live = await db.selectFrom('srv_job').select(['state', 'owner']).where('id', '=', `${first.id}-live`).executeTakeFirstOrThrow();
    assert.deepEqual(live, { state: 'queued', owner: 'alive:2' });
    const mine = await db.selectFrom('srv_job').select('owner').where('id', '=', `${first.id}-dead`).executeTakeFirstOrThrow();
    assert.equal(mine.owner, platform.cluster.replicaId);
  } finally {
    await platform.close();
  }
});

test('a job abandoned mid-way resumes on another replica from the chunks it committed: every row once, the same bytes', async () => {
  const shared = tempDir('mpjobs-shared');
  const flags = { store: `sqlite:${join(shared, 'modelport.db')}`, artifacts: `file:${join(shared, 'artifacts')}` };
  const first = await testPlatform(flags);
  let id: string;
  let expected: Buffer;
  try {
    const { jobs, registry, serving } = first.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const input = await first.blobs.put(readFileSync((await makeInputs(tempDir('mpjobs'), 10)).csv));
    const submit = () => jobs.submit({ deployment: 'cancer', input: { sha256: input.sha256, format: 'csv' }, keep: ['id', 'customer'], chunkRows: 10 });
    const whole = await waitFor(jobs, (await submit()).id);
    assert.equal(whole.state, 'succeeded', whole.error);
    expected = await buffer((await jobs.output(whole.id)).stream);

    id = (await submit()).id;
    const db = first.metadata.db as Kysely<any>;
    const parts = async () => Number((await db.selectFrom('srv_job_part').select((eb) => eb.fn.countAll().as('n')).where('job_id', '=', id).executeTakeFirstOrThrow()).n);
    while ((await parts()) < 4) await new Promise((r) => setTimeout(r, 5));
    // The replica stops mid-job; the next one has a data folder of its own, so only the artifact store holds the chunks.
  } finally {
    await first.close();
  }

  const second = await testPlatform(flags);
  try {
    const { jobs, serving } = second.services;
    const db = second.metadata.db as Kysely<any>;
    const committed = (await db.selectFrom('srv_job_part').select('chunk').where('job_id', '=', id).execute()).length;
    assert.ok(committed >= 4 && committed < 114, `${committed} of 114 chunks committed`);
    let scored = 0;
    const target = serving.target.bind(serving);
    serving.target = async (name) => {
      const found = await target(name);
      const predict = found.version.predict.bind(found.version);
      found.version.predict = (batch) => ((scored += batch.rows), predict(batch));
      return found;
    };
    await jobs.start();
    const done = await waitFor(jobs, id);
    assert.equal(done.state, 'succeeded', done.error);
    assert.equal(scored, 1140 - committed * 10, 'only the chunks not committed were scored again');
    const output = await buffer((await jobs.output(id)).stream);
    const ids = output.toString().trim().split('\n').slice(1).map((line) => Number(line.split(',')[0]));
    assert.deepEqual(ids, Array.from({ length: 1140 }, (_, i) => i), 'every row once, in order');
    assert.ok(output.equals(expected), 'the same bytes as an uninterrupted run');
    // Closing waits for the job's last steps, which drop its copied chunks after the output is stored.
    await jobs.close();
    assert.deepEqual(await db.selectFrom('srv_job_part').select('chunk').where('job_id', '=', id).execute(), [], 'the copied chunks are dropped once the output is stored');
  } finally {
    await second.close();
  }
});

test('a job given a dataset by name scores the version latest at submit time, also when taken over after a newer one', async () => {
  const platform = await testPlatform();
  try {
    const { jobs, registry, serving, datasets } = platform.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    await datasets.register('scoring', (await makeInputs(tempDir('mpjobs'))).csv);
    const first = await jobs.submit({ deployment: 'cancer', input: { dataset: 'scoring' }, keep: ['id', 'customer'] });
    assert.equal(first.input.dataset, 'scoring@1');
    const done = await waitFor(jobs, first.id);
    assert.equal(done.state, 'succeeded', done.error);

    await datasets.register('scoring', (await makeInputs(tempDir('mpjobs'), 2)).csv);
    const db = platform.metadata.db as Kysely<any>;
    const row = await db.selectFrom('srv_job').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
    const now = Date.now();
    await db.insertInto('srv_job').values({ ...row, id: `${first.id}-dead`, state: 'running', rows_done: 0, output_sha256: null, output_bytes: null, finished_ms: null, owner: 'gone:1', lease_until_ms: now - 1 }).execute();
    await jobs.start();
    const taken = await waitFor(jobs, `${first.id}-dead`);
    assert.equal(taken.state, 'succeeded', taken.error);
    assert.deepEqual([taken.rowsTotal, taken.output?.sha256], [114, done.output?.sha256], 'version 1, not the 228 rows of version 2');
  } finally {
    await platform.close();
  }
});

test("a failing copy of a chunk to the artifact store leaves the job to finish; a cancel drops a dead replica's copied chunks, their blobs stay", async () => {
  const platform = await testPlatform();
  try {
    const { jobs, registry, serving } = platform.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const input = await platform.blobs.put(readFileSync((await makeInputs(tempDir('mpjobs'))).csv));
    const submit = () => jobs.submit({ deployment: 'cancer', input: { sha256: input.sha256, format: 'csv' }, keep: ['id', 'customer'], chunkRows: 10 });
    const whole = await waitFor(jobs, (await submit()).id);
    assert.equal(whole.state, 'succeeded', whole.error);

    const put = platform.blobs.put.bind(platform.blobs);
    let refused = 0;
    platform.blobs.put = (source) => (source instanceof ReadStream && /part-\d+\.txt$/.test(String(source.path)) ? (refused++, Promise.reject(new Error('disk full'))) : put(source));
    const done = await waitFor(jobs, (await submit()).id);
    platform.blobs.put = put;
    assert.equal(done.state, 'succeeded', done.error);
    assert.equal(refused, 12);
    assert.equal(done.output?.sha256, whole.output?.sha256);

    const db = platform.metadata.db as Kysely<any>;
    const row = await db.selectFrom('srv_job').selectAll().where('id', '=', whole.id).executeTakeFirstOrThrow();
    const dead = `${whole.id}-dead`;
    await db.insertInto('srv_job').values({ ...row, id: dead, state: 'running', output_sha256: null, output_bytes: null, finished_ms: null, owner: 'gone:1', lease_until_ms: Date.now() + 600_000 }).execute();
    await db.insertInto('srv_job_part').values({ job_id: dead, chunk: 0, model: 'm', layout: '[]', sha256: input.sha256 }).execute();
    assert.equal((await jobs.cancel(dead)).state, 'cancelled');
    assert.deepEqual(await db.selectFrom('srv_job_part').select('chunk').where('job_id', '=', dead).execute(), []);
    assert.ok(await platform.blobs.stat(input.sha256), 'the blob stays: the input is the same bytes');
  } finally {
    await platform.close();
  }
});

test("a scorer failing on the second chunk in flight fails the job with its message, and no rejection goes unhandled", async () => {
  const platform = await testPlatform();
  const unhandled: unknown[] = [];
  const listen = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', listen);
  try {
    const { jobs, registry, serving } = platform.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const input = await platform.blobs.put(readFileSync((await makeInputs(tempDir('mpjobs'))).csv));
    let calls = 0;
    const target = serving.target.bind(serving);
    serving.target = async (name) => {
      const found = await target(name);
      const predict = found.version.predict.bind(found.version);
      found.version.predict = async (batch) => {
        const call = ++calls;
        // The first chunk is still scoring when the second fails.
        if (call === 1) await new Promise((r) => setTimeout(r, 300));
        if (call === 2) throw new Error('the runtime fell over');
        return predict(batch);
      };
      return found;
    };
    const done = await waitFor(jobs, (await jobs.submit({ deployment: 'cancer', input: { sha256: input.sha256, format: 'csv' }, keep: ['id', 'customer'], chunkRows: 10 })).id);
    assert.equal(done.state, 'failed');
    assert.equal(done.error, 'unexpected error: the runtime fell over');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', listen);
    await platform.close();
  }
});
