/**
 * A stored artifact whose bytes were flipped on disk is never served as a clean 200: the last
 * chunk is held until the hash checks out, so the client sees the connection cut short (fewer
 * bytes than Content-Length, an error), and /metrics counts the corrupt read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

function download(url: string): Promise<{ status: number; length: number; received: number; error?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        const length = Number(res.headers['content-length']);
        res.on('end', () => resolve({ status: res.statusCode!, length, received }));
        res.on('error', (err) => resolve({ status: res.statusCode!, length, received, error: err.message }));
      })
      .on('error', reject);
  });
}

function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] ^= 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

test('a corrupt artifact is cut short with an error, counted in /metrics; a sound one is served whole', async () => {
  const data = tempDir('corrupt');
  const server = await testServer({ data });
  try {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const sha = createHash('sha256').update(body).digest('hex');
    const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/x/model.bin`, { method: 'PUT', body });
    assert.equal(put.status, 200);
    const url = `${server.url}/api/2.0/mlflow-artifacts/artifacts/x/model.bin`;

    const sound = await download(url);
    assert.deepEqual(sound, { status: 200, length: body.length, received: body.length });

    // The flipped byte sits in the last chunk: the one a verify-after-send would already have sent.
    flipByte(join(data, 'artifacts', 'objects', sha.slice(0, 2), sha), body.length - 5);
    for (let i = 0; i < 3; i++) {
      const bad = await download(url);
      assert.ok(bad.error !== undefined, `read ${i} must fail, got a clean end`);
      assert.ok(bad.received < bad.length, `read ${i}: ${bad.received} of ${bad.length} bytes`);
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = Number(/^modelport_blob_corrupt_reads_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(count >= 3, `corrupt reads counted: ${count}`);
  } finally {
    await server.close();
  }
});
