/**
 * One blob-store contract, run against the file adapter and against the S3 adapter. The S3 runs
 * talk to s3rver, an S3-compatible server started inside this test process (no real S3 here).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readBlob, type BlobStore } from '../../src/storage/blobs.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { openS3BlobStore } from '../../src/storage/blobs-s3.js';
import { parseArtifactsUri } from '../../src/config.js';
import { tempDir, startS3Server, type S3Server } from '../helpers/services.js';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A deterministic stream of `total` bytes in 1 MiB chunks, hashed as it is produced. */
function generated(total: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(1 << 20, total - sent);
      const chunk = Buffer.alloc(n, sent % 251);
      chunk.writeUInt32LE(sent, 0);
      sent += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

interface Harness {
  store: BlobStore;
  /** Replaces the stored bytes behind a blob, as disk rot or a bad copy would. */
  corrupt(sha256: string, bytes: Buffer): Promise<void>;
  /** Objects or files left in the store's temporary area. */
  leftovers(): Promise<number>;
  close(): Promise<void>;
}

function contract(name: string, open: () => Promise<Harness>) {
  describe(`blob store contract: ${name}`, () => {
    let h: Harness;
    before(async () => {
      h = await open();
    });
    after(() => h.close());

    test('put returns the sha256 and size, and get streams the same bytes back', async () => {
      const info = await h.store.put('hello modelport');
      assert.deepEqual(info, { sha256: sha('hello modelport'), size: 15 });
      assert.equal((await readBlob(h.store, info.sha256)).toString(), 'hello modelport');
      assert.deepEqual(await h.store.stat(info.sha256), info);
    });

    test('identical content is stored once', async () => {
      const a = await h.store.put(Buffer.from('same bytes'));
      const b = await h.store.put(Readable.from([Buffer.from('same '), Buffer.from('bytes')]));
      assert.equal(a.sha256, b.sha256);
      assert.equal(await h.leftovers(), 0);
    });

    test('a 24 MiB stream round-trips (multipart on S3) without buffering it whole', async () => {
      const source = generated(24 * 1024 * 1024);
      const info = await h.store.put(source.stream);
      assert.equal(info.sha256, source.digest());
      assert.equal(info.size, 24 * 1024 * 1024);
      const back = createHash('sha256');
      let size = 0;
      for await (const chunk of await h.store.get(info.sha256)) {
        back.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      assert.equal(back.digest('hex'), info.sha256);
      assert.equal(size, info.size);
    });

    test('unknown blobs are NotFound and malformed ids cannot name a path', async () => {
      await assert.rejects(h.store.get('0'.repeat(64)), { code: 'NotFound' });
      assert.equal(await h.store.stat('0'.repeat(64)), null);
      await assert.rejects(h.store.get('../../etc/passwd'), { code: 'InvalidArgument' });
      await assert.rejects(h.store.get(`${'a'.repeat(63)}/`), { code: 'InvalidArgument' });
    });

    test('content that no longer matches its hash is refused on read', async () => {
      const info = await h.store.put('original content');
      await h.corrupt(info.sha256, Buffer.from('tampered content'));
      await assert.rejects(readBlob(h.store, info.sha256), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'FailedPrecondition');
        assert.match(err.message, /is corrupt/);
        return true;
      });
    });

    test('a source that fails midway stores nothing', async () => {
      async function* failing() {
        yield Buffer.from('partial');
        throw new Error('source broke');
      }
      await assert.rejects(h.store.put(failing()), /source broke/);
      assert.equal(await h.store.stat(sha('partial')), null);
      assert.equal(await h.leftovers(), 0);
    });

    test('list names every object; a quarantined one is gone for readers', async () => {
      const a = await h.store.put('listed a');
      const b = await h.store.put('listed b');
      const listed: string[] = [];
      for await (const sha256 of h.store.list()) listed.push(sha256);
      assert.ok(listed.includes(a.sha256) && listed.includes(b.sha256));
      await h.store.quarantine(b.sha256);
      assert.equal(await h.store.stat(b.sha256), null);
      await assert.rejects(h.store.get(b.sha256), /does not exist/);
      const after: string[] = [];
      for await (const sha256 of h.store.list()) after.push(sha256);
      assert.ok(after.includes(a.sha256) && !after.includes(b.sha256));
    });

    test('delete removes the blob', async () => {
      const info = await h.store.put('to delete');
      await h.store.delete(info.sha256);
      assert.equal(await h.store.stat(info.sha256), null);
      await h.store.ping();
    });
  });
}

contract('file', async () => {
  const root = tempDir('blobs');
  const store = await openFileBlobStore(root);
  return {
    store,
    async corrupt(sha256, bytes) {
      writeFileSync(join(root, 'objects', sha256.slice(0, 2), sha256), bytes);
    },
    async leftovers() {
      return readdirSync(join(root, 'tmp')).length;
    },
    close: () => store.close(),
  };
});

contract('s3 (s3rver in-process)', async () => {
  const s3: S3Server = await startS3Server();
  const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  const uri = parseArtifactsUri(`s3://${s3.bucket}/artifacts`, process.cwd(), env);
  assert.equal(uri.kind, 's3');
  const store = await openS3BlobStore(uri as Extract<typeof uri, { kind: 's3' }>);
  const raw = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return {
    store,
    async corrupt(sha256, bytes) {
      await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `artifacts/objects/${sha256.slice(0, 2)}/${sha256}`, Body: bytes }));
    },
    async leftovers() {
      const res = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'artifacts/tmp/' }));
      return res.KeyCount ?? 0;
    },
    async close() {
      await store.close();
      raw.destroy();
      await s3.close();
    },
  };
});
