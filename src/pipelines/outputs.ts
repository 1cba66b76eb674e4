/**
 * A step's outputs as content: every file of its output folder goes to the blob store, and a
 * manifest (sorted paths with their sha256) goes there too. The manifest's own sha256 is the
 * outputs' content hash, which downstream cache keys use, and the only thing that travels
 * between machines: any process with the artifact store can rebuild the folder from it.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../storage/blobs.js';
import { readBlob } from '../storage/blobs.js';
import { failedPrecondition } from '../core/errors.js';

export interface OutputFile {
  path: string;
  sha256: string;
  size: number;
}

export interface OutputsManifest {
  files: OutputFile[];
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(root, path)));
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

/** Stores every file under `dir`; resolves with the manifest's sha256 and the manifest. */
export async function storeOutputs(blobs: BlobStore, dir: string): Promise<{ sha256: string; manifest: OutputsManifest }> {
  const files: OutputFile[] = [];
  for (const path of (await listFiles(dir)).sort()) {
    const info = await blobs.put(createReadStream(join(dir, path)));
    files.push({ path, sha256: info.sha256, size: info.size });
  }
  const manifest = { files };
  return { sha256: await putSmall(blobs, Buffer.from(JSON.stringify(manifest))), manifest };
}

/**
 * Stores a small piece of content unless the store has it already: outputs manifests and logs
 * repeat (every step that writes nothing has the same manifest), and a stat costs far less than
 * a durable write.
 */
export async function putSmall(blobs: BlobStore, content: Buffer): Promise<string> {
  const sha256 = createHash('sha256').update(content).digest('hex');
  if (await blobs.stat(sha256)) return sha256;
  return (await blobs.put(content)).sha256;
}

export async function readManifest(blobs: BlobStore, sha256: string): Promise<OutputsManifest> {
  return JSON.parse((await readBlob(blobs, sha256)).toString('utf8')) as OutputsManifest;
}

/** The folder for outputs `sha256` under `cacheDir`, written once per content. */
export async function materializeOutputs(blobs: BlobStore, sha256: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, sha256);
  if (existsSync(join(dir, '.complete'))) return join(dir, 'files');
  const manifest = await readManifest(blobs, sha256);
  const tmp = `${dir}.tmp-${randomUUID()}`;
  try {
    for (const file of manifest.files) {
      if (file.path.startsWith('/') || file.path.split('/').includes('..')) throw failedPrecondition(`outputs ${sha256}: path "${file.path}" leaves its folder`);
      const target = join(tmp, 'files', file.path);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await blobs.get(file.sha256), createWriteStream(target));
    }
    await mkdir(join(tmp, 'files'), { recursive: true });
    await writeFile(join(tmp, '.complete'), sha256);
    // The folder appears whole (a rename of a finished folder) or not at all; when another
    // task materialised the same content first, its folder is as good as ours.
    await rename(tmp, dir).catch((err) => {
      if (!existsSync(join(dir, '.complete'))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return join(dir, 'files');
}
