/** `modelport fsck`: every object checked, corrupt ones reported (exit 1) and, with --quarantine, moved aside. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';

test('fsck reports a corrupt object, quarantines it on request, then finds the store sound', async () => {
  const data = tempDir('fsck');
  const root = join(data, 'artifacts');
  const store = await openFileBlobStore(root);
  const good = await store.put('a sound object');
  const bad = await store.put('an object that will rot');
  writeFileSync(join(root, 'objects', bad.sha256.slice(0, 2), bad.sha256), 'an object that will r0t');

  const check = await runCli(['fsck', '--data', data]);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stdout, new RegExp(`corrupt ${bad.sha256}: blob ${bad.sha256} is corrupt`));
  assert.match(check.stdout, /fsck: 2 objects \(\d+ bytes\) checked, 1 corrupt/);
  assert.ok(existsSync(join(root, 'objects', bad.sha256.slice(0, 2), bad.sha256)), 'a plain check moves nothing');

  const fix = await runCli(['fsck', '--data', data, '--quarantine']);
  assert.equal(fix.code, 1);
  assert.match(fix.stdout, /1 corrupt, 1 quarantined/);
  assert.ok(existsSync(join(root, 'quarantine', bad.sha256)));
  assert.equal(await store.stat(bad.sha256), null);
  assert.equal((await store.stat(good.sha256))?.size, 14);

  const after = await runCli(['fsck', '--data', data]);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /fsck: 1 objects \(14 bytes\) checked, 0 corrupt/);
});
