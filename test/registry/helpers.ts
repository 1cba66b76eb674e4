/** A registry service over real stores (SQLite or PostgreSQL, file blobs) for tests. */
import { ManualClock } from '../../src/core/clock.js';
import { parseStoreUri } from '../../src/config.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { migrate, openMetadataStore } from '../../src/storage/metadata.js';
import { registryMigrations } from '../../src/registry/migrations.js';
import { createRegistryService, type RegistryOptions, type RegistryService } from '../../src/registry/service.js';
import { dropSchema, freshPostgresUri, tempDir } from '../helpers/services.js';
import type { BlobStore } from '../../src/storage/blobs.js';

export const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;

export interface RegistryHarness {
  registry: RegistryService;
  clock: ManualClock;
  blobs: BlobStore;
  dataDir: string;
  close(): Promise<void>;
}

export async function openRegistry(engine: 'sqlite' | 'postgres', options: RegistryOptions = {}): Promise<RegistryHarness> {
  const dataDir = tempDir('mpreg');
  const pg = engine === 'postgres' ? freshPostgresUri() : undefined;
  const metadata = await openMetadataStore(parseStoreUri(pg ? pg.uri : `sqlite:${dataDir}/reg.db`));
  await migrate(metadata, { ...coreMigrations, ...registryMigrations });
  const blobs = await openFileBlobStore(`${dataDir}/blobs`);
  const clock = new ManualClock(1_795_000_000_000);
  const registry = await createRegistryService({ clock, metadata, blobs, config: { dataDir } }, options);
  return {
    registry,
    clock,
    blobs,
    dataDir,
    async close() {
      await registry.close();
      await metadata.close();
      if (pg) await dropSchema(pg.schema);
    },
  };
}

/** Uploads a fixture folder's files (optionally only some) and returns them as {path, sha256}. */
export async function uploadFolder(registry: RegistryService, dir: string, only?: string[]): Promise<{ path: string; sha256: string }[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const names = (await readdir(dir)).filter((n) => !only || only.includes(n)).sort();
  return Promise.all(names.map(async (path) => ({ path, sha256: (await registry.putBlob(await readFile(`${dir}/${path}`))).sha256 })));
}
