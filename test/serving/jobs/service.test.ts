/** Batch jobs among replicas: a job held by a dead replica is taken over once its lease runs out; one a live replica holds is not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { testPlatform } from '../../helpers/platform.js';
import { tempDir } from '../../helpers/services.js';
import { register, XGB } from '../helpers.js';
import { makeInputs } from './helpers.js';

test("a dead replica's job is taken over when its lease runs out; a live replica's is left alone", async () => {
  const platform = await testPlatform();
  try {
    const { jobs, registry, serving } = platform.services;
    await register(registry, 'cancer', XGB, ['model.json']);
    await serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    const input = await platform.blobs.put(readFileSync((await makeInputs(tempDir('mpjobs'))).csv));
    const first = await jobs.submit({ deployment: 'cancer', input: { sha256: input.sha256, format: 'csv' }, keep: ['id', 'customer'] });
    const wait = async (id: string) => {
      for (let job = await jobs.get(id); ; job = await jobs.get(id)) {
        if (job.state !== 'queued' && job.state !== 'running') return job;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
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
