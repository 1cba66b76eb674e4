/**
 * `modelport fsck`: reads every object of the artifact store and checks that its bytes still
 * hash to its name; bad ones are reported and, when asked, moved to quarantine/ so that readers
 * get a clear 404 instead of a failing stream.
 */
import type { BlobStore } from './blobs.js';

export interface FsckReport {
  checked: number;
  bytes: number;
  corrupt: { sha256: string; error: string }[];
  quarantined: string[];
}

export async function fsck(store: BlobStore, options: { quarantine?: boolean; onCorrupt?: (sha256: string, error: string) => void } = {}): Promise<FsckReport> {
  const report: FsckReport = { checked: 0, bytes: 0, corrupt: [], quarantined: [] };
  for await (const sha256 of store.list()) {
    report.checked++;
    try {
      for await (const chunk of await store.get(sha256)) report.bytes += (chunk as Buffer).length;
    } catch (err) {
      const error = (err as Error).message;
      report.corrupt.push({ sha256, error });
      options.onCorrupt?.(sha256, error);
      if (options.quarantine) {
        await store.quarantine(sha256);
        report.quarantined.push(sha256);
      }
    }
  }
  return report;
}
