/**
 * Several processes share one artifacts/tmp (`--workers`, replicas on one volume): a process
 * starting up removes only what a dead writer of its own host left, or what is very old, and
 * never the file another live writer is still writing. A store refuses writes below its disk floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { isModelportError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/services.js';

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_');

test('opening a store keeps live writers\' temp files and removes abandoned ones', async () => {
  const root = tempDir('blobtmp');
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => dead.once('exit', r));
  try {
    const files = {
      live: `${HOST}.${live.pid}.0b6a1f3e-1111-4a55-8f00-000000000001`,
      dead: `${HOST}.${dead.pid}.0b6a1f3e-1111-4a55-8f00-000000000002`,
      otherHost: `elsewhere.${dead.pid}.0b6a1f3e-1111-4a55-8f00-000000000003`,
      oldOtherHost: `elsewhere.1.0b6a1f3e-1111-4a55-8f00-000000000004`,
    };
    for (const name of Object.values(files)) writeFileSync(join(root, 'tmp', name), 'partial');
    const old = new Date(Date.now() - 48 * 3600_000);
    utimesSync(join(root, 'tmp', files.oldOtherHost), old, old);

    const store = await openFileBlobStore(root);
    const left = (name: string) => existsSync(join(root, 'tmp', name));
    assert.equal(left(files.live), true, 'a live writer keeps its file');
    assert.equal(left(files.dead), false, 'a dead writer of this host loses its file');
    assert.equal(left(files.otherHost), true, 'another host\'s recent file is not ours to judge');
    assert.equal(left(files.oldOtherHost), false, 'a day-old file is abandoned whoever wrote it');
    await store.close();
  } finally {
    live.kill('SIGKILL');
  }
});

test('a write below the disk floor is refused with 507 and leaves nothing', async () => {
  const root = tempDir('blobfloor');
  const store = await openFileBlobStore(root, { minFreeBytes: Number.MAX_SAFE_INTEGER });
  await assert.rejects(store.put('x'), (err) => isModelportError(err) && err.code === 'ResourceExhausted' && err.details.httpStatus === 507 && /below the floor/.test(err.message));
  const roomy = await openFileBlobStore(root, { minFreeBytes: 1 });
  assert.equal((await roomy.put('x')).size, 1);
});
