/**
 * SIGKILL in the middle of writes: after a restart every acknowledged write is there, whole,
 * and no half-written blob is visible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createPlatform } from '../../src/platform.js';
import { tempDir } from '../helpers/services.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));

test('acknowledged writes survive SIGKILL and no blob is half-written', async () => {
  const data = tempDir('crash');
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, data], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<number, string>();
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const m = line.match(/^ack (\d+) ([0-9a-f]{64})$/);
        if (m) acked.set(Number(m[1]), m[2]);
      }
      // Kill at an arbitrary moment well into the stream of writes.
      if (acked.size >= 40 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited early: ${code}`));
    });
  });
  await new Promise((r) => child.once('exit', r));
  assert.ok(acked.size >= 40);

  const platform = await createPlatform(loadConfig({ data, logLevel: 'silent' }, {}));
  try {
    const rows = await platform.metadata.db.selectFrom('mp_settings').selectAll().where('key', 'like', 'crash-%').execute();
    const stored = new Map(rows.map((r) => [Number(String(r.key).slice(6)), String(r.value)]));
    for (const [i, sha] of acked) {
      assert.ok(stored.get(i)?.startsWith(sha), `acknowledged write ${i} is in the metadata store`);
      const chunks: Buffer[] = [];
      for await (const c of await platform.blobs.get(sha)) chunks.push(c as Buffer);
      assert.equal(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), sha, `blob ${i} is whole`);
    }
    // Every visible object hashes to its name: an interrupted write never reached objects/.
    const objects = join(data, 'artifacts', 'objects');
    for (const dir of readdirSync(objects)) {
      for (const name of readdirSync(join(objects, dir))) {
        const chunks: Buffer[] = [];
        for await (const c of await platform.blobs.get(name)) chunks.push(c as Buffer);
        assert.equal(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), name);
      }
    }
    assert.deepEqual(readdirSync(join(data, 'artifacts', 'tmp')), [], 'leftover temp files are cleared at start-up');
  } finally {
    await platform.close();
  }
});
