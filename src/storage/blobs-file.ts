/** Blob store on the local file system: ROOT/objects/ab/<sha256>, written via ROOT/tmp. */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { notFound } from '../core/errors.js';
import { ensureWritableDir } from './metadata.js';
import { checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from './blobs.js';

export async function openFileBlobStore(root: string): Promise<BlobStore> {
  ensureWritableDir(join(root, 'objects'));
  ensureWritableDir(join(root, 'tmp'));
  // Temp files left by a crash are incomplete by definition: nothing points at them.
  for (const name of await readdir(join(root, 'tmp'))) await rm(join(root, 'tmp', name), { force: true });
  const pathOf = (sha256: string) => join(root, 'objects', checkSha256(sha256).slice(0, 2), sha256);

  return {
    kind: 'file',

    async put(source: BlobSource): Promise<BlobInfo> {
      const tmp = join(root, 'tmp', randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const file = await open(tmp, 'wx');
      try {
        for await (const chunk of toAsyncIterable(source)) {
          hash.update(chunk);
          size += chunk.byteLength;
          await file.write(chunk);
        }
        await file.sync();
      } catch (err) {
        await file.close();
        await rm(tmp, { force: true });
        throw err;
      }
      await file.close();
      const sha256 = hash.digest('hex');
      const target = pathOf(sha256);
      const dir = join(root, 'objects', sha256.slice(0, 2));
      await mkdir(dir, { recursive: true });
      await rename(tmp, target);
      await syncDir(dir);
      return { sha256, size };
    },

    async get(sha256: string): Promise<Readable> {
      const path = pathOf(sha256);
      try {
        await stat(path);
      } catch {
        throw notFound(`blob ${sha256} does not exist`);
      }
      return createReadStream(path, { highWaterMark: 1 << 20 }).pipe(verifying(sha256));
    },

    async stat(sha256: string): Promise<BlobInfo | null> {
      try {
        const s = await stat(pathOf(sha256));
        return { sha256, size: s.size };
      } catch {
        return null;
      }
    },

    async delete(sha256: string): Promise<void> {
      await rm(pathOf(sha256), { force: true });
    },

    async ping(): Promise<void> {
      await stat(join(root, 'objects'));
    },

    async close(): Promise<void> {},
  };
}

/** A rename is only durable once the directory entry itself is flushed. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
