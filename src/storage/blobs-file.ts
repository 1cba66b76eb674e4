/** Blob store on the local file system: ROOT/objects/ab/<sha256>, written via ROOT/tmp. */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, statfs, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ModelportError, notFound } from '../core/errors.js';
import { ensureWritableDir } from './metadata.js';
import { checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from './blobs.js';

export interface FileBlobOptions {
  /** Writes are refused (507) while the file system has less free space than this, in bytes. */
  minFreeBytes?: number;
}

/** A temp file no live writer owns after this long is abandoned whoever made it. */
const ABANDONED_MS = 24 * 3600_000;
const FREE_SPACE_EVERY = 64 << 20;

/**
 * Temp files carry their writer's host and pid: several processes (`--workers`, replicas on a
 * shared volume) write into one tmp/, and one starting up must not delete a live writer's file.
 */
const TMP_OWNER = `${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${process.pid}`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a temp file was left by a crash: its writer, on this host, is gone; or it is very old. */
async function isAbandoned(path: string, name: string): Promise<boolean> {
  const owner = /^(.+)\.(\d+)\.[0-9a-f-]+$/.exec(name);
  if (owner && owner[1] === TMP_OWNER.slice(0, TMP_OWNER.lastIndexOf('.')) && !isAlive(Number(owner[2]))) return true;
  try {
    return Date.now() - (await stat(path)).mtimeMs > ABANDONED_MS;
  } catch {
    return false;
  }
}

/** Refuses a write when the disk is nearly full, before a blob fills it and the database with it. */
export async function checkFreeSpace(dir: string, minFreeBytes: number): Promise<void> {
  if (minFreeBytes <= 0) return;
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < minFreeBytes) {
    throw new ModelportError('ResourceExhausted', `artifact store: only ${free} bytes free, below the floor of ${minFreeBytes} (MODELPORT_MIN_FREE_DISK)`, {
      httpStatus: 507,
    });
  }
}

export async function openFileBlobStore(root: string, options: FileBlobOptions = {}): Promise<BlobStore> {
  const tmpDir = join(root, 'tmp');
  ensureWritableDir(join(root, 'objects'));
  ensureWritableDir(tmpDir);
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name);
    if (await isAbandoned(path, name)) await rm(path, { force: true });
  }
  const pathOf = (sha256: string) => join(root, 'objects', checkSha256(sha256).slice(0, 2), sha256);

  return {
    kind: 'file',

    async put(source: BlobSource): Promise<BlobInfo> {
      await checkFreeSpace(root, options.minFreeBytes ?? 0);
      const tmp = join(tmpDir, `${TMP_OWNER}.${randomUUID()}`);
      const hash = createHash('sha256');
      let size = 0;
      const file = await open(tmp, 'wx');
      try {
        for await (const chunk of toAsyncIterable(source)) {
          hash.update(chunk);
          // A long upload may fill the disk on its own: look again every 64 MiB.
          if (Math.floor(size / FREE_SPACE_EVERY) !== Math.floor((size + chunk.byteLength) / FREE_SPACE_EVERY)) await checkFreeSpace(root, options.minFreeBytes ?? 0);
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

    async get(sha256: string, options?: { verify?: boolean }): Promise<Readable> {
      const path = pathOf(sha256);
      try {
        await stat(path);
      } catch {
        throw notFound(`blob ${sha256} does not exist`);
      }
      const stream = createReadStream(path, { highWaterMark: 1 << 20 });
      return options?.verify === false ? stream : stream.pipe(verifying(sha256));
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

    async *list(): AsyncIterable<string> {
      for (const dir of (await readdir(join(root, 'objects'))).sort()) {
        if (!/^[0-9a-f]{2}$/.test(dir)) continue;
        for (const name of (await readdir(join(root, 'objects', dir))).sort()) if (/^[0-9a-f]{64}$/.test(name)) yield name;
      }
    },

    async quarantine(sha256: string): Promise<void> {
      const dir = join(root, 'quarantine');
      await mkdir(dir, { recursive: true });
      await rename(pathOf(sha256), join(dir, sha256));
      await syncDir(dir);
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
