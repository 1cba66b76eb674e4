/**
 * Run artifacts: a folder tree of named files whose bytes live in the content-addressed blob
 * store. Paths are relative to the artifact proxy root (`<experiment_id>/<run_id>/artifacts/...`),
 * the same paths MLflow clients PUT and GET through `/api/2.0/mlflow-artifacts/artifacts/`.
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { BlobSource, BlobStore } from '../storage/blobs.js';
import type { TrackingTables } from './schema.js';
import type { FileInfo } from './types.js';
import { checkArtifactPath } from './validation.js';

export interface ArtifactEntry {
  path: string;
  sha256: string;
  size: number;
}

export class ArtifactStore {
  constructor(
    private readonly db: Kysely<TrackingTables>,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
  ) {}

  /** Streams `source` into the blob store, then points `path` at it (replacing any earlier file). */
  async put(path: string, source: BlobSource): Promise<ArtifactEntry> {
    const clean = checkArtifactPath(path, false);
    const { sha256, size } = await this.blobs.put(source);
    const slash = clean.lastIndexOf('/');
    const row = { path: clean, dir: slash < 0 ? '' : clean.slice(0, slash), sha256, size, updated_ms: this.clock.now() };
    await this.db
      .insertInto('tracking_artifact')
      .values(row)
      .onConflict((oc) => oc.column('path').doUpdateSet({ sha256, size, updated_ms: row.updated_ms }))
      .execute();
    return { path: clean, sha256, size };
  }

  async stat(path: string): Promise<ArtifactEntry | undefined> {
    const clean = checkArtifactPath(path);
    return this.db.selectFrom('tracking_artifact').select(['path', 'sha256', 'size']).where('path', '=', clean).executeTakeFirst();
  }

  async open(path: string): Promise<{ entry: ArtifactEntry; stream: Readable }> {
    const entry = await this.stat(path);
    if (!entry) throw notFound(`artifact '${path}' does not exist`);
    return { entry, stream: await this.blobs.get(entry.sha256) };
  }

  /** Direct children of folder `path` ('' is the root): files with sizes, folders without. */
  async list(path: string): Promise<FileInfo[]> {
    const dir = checkArtifactPath(path);
    const files = await this.db
      .selectFrom('tracking_artifact')
      .select(['path', 'size'])
      .where('dir', '=', dir)
      .orderBy('path')
      .execute();
    const prefix = dir === '' ? '' : `${dir}/`;
    // Every folder below `dir`: the range 'dir/' ≤ d < 'dir0' ('0' follows '/') needs no LIKE escaping.
    let below = this.db.selectFrom('tracking_artifact').select('dir').distinct();
    below = dir === '' ? below.where('dir', '<>', '') : below.where('dir', '>=', prefix).where('dir', '<', `${dir}0`);
    const folders = new Set<string>();
    for (const { dir: d } of await below.execute()) folders.add(d.slice(prefix.length).split('/')[0]);
    const out: FileInfo[] = [...folders].sort().map((name) => ({ path: name, is_dir: true }));
    for (const f of files) out.push({ path: f.path.slice(prefix.length), is_dir: false, file_size: f.size });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Removes `path`, or everything under it when it is a folder. The blobs stay (others may share them). */
  async delete(path: string): Promise<void> {
    const clean = checkArtifactPath(path, false);
    const removed = await this.db
      .deleteFrom('tracking_artifact')
      .where((eb) => eb.or([eb('path', '=', clean), eb.and([eb('path', '>=', `${clean}/`), eb('path', '<', `${clean}0`)])]))
      .executeTakeFirst();
    if (Number(removed.numDeletedRows) === 0) throw notFound(`artifact '${path}' does not exist`);
  }
}
