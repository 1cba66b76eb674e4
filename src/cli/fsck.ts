import type { Command } from 'commander';
import { openFileBlobStore } from '../storage/blobs-file.js';
import type { BlobStore } from '../storage/blobs.js';
import { fsck } from '../storage/fsck.js';
import { configFrom } from './context.js';

export function registerFsckCommand(program: Command): void {
  program
    .command('fsck')
    .description('verify every object in the artifact store against its sha256; exits 1 when any is corrupt')
    .option('--quarantine', 'move corrupt objects to quarantine/ (readers then get 404, not a failing download)')
    .action(async (opts: { quarantine?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      // The stored objects themselves, under encryption their ciphertext: no database is needed.
      const store: BlobStore =
        config.artifacts.kind === 'file'
          ? await openFileBlobStore(config.artifacts.path)
          : await (await import('../storage/blobs-s3.js')).openS3BlobStore(config.artifacts);
      try {
        const report = await fsck(store, {
          quarantine: opts.quarantine,
          onCorrupt: (sha256, error) => process.stdout.write(`corrupt ${sha256}${opts.quarantine ? ' (quarantined)' : ''}: ${error}\n`),
        });
        process.stdout.write(`fsck: ${report.checked} objects (${report.bytes} bytes) checked, ${report.corrupt.length} corrupt${opts.quarantine ? `, ${report.quarantined.length} quarantined` : ''}\n`);
        if (report.corrupt.length > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
