/**
 * `modelport keys status|rotate [--rewrap]`: master keys for encryption at rest. These act on
 * the data folder's own store and key file (a server cannot be asked to write its key file),
 * and a running server picks up the new key from the file within seconds.
 */
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { failedPrecondition } from '../core/errors.js';
import { createPlatform } from '../platform.js';
import { keyUsage, rewrapAll } from '../security/encrypted-blobs.js';
import { rewrapSegments } from '../monitoring/log/segments.js';
import { rewrapExplanations } from '../explain/index.js';
import { openKeyring } from '../security/encryption.js';
import { Keyring } from '../security/keyring.js';
import type { SecurityTables } from '../security/migrations.js';
import { configFrom } from './context.js';
import { progress } from './progress.js';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('master keys for encryption at rest (acts on --data and --master-key-file)');

  keys
    .command('status')
    .description('the current master key and how many objects each key wraps')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      const keyring = openKeyring(config);
      if (!keyring) throw failedPrecondition('encryption at rest is off: pass --master-key-file FILE or set MODELPORT_MASTER_KEY');
      const platform = await createPlatform({ ...config, logLevel: 'silent' });
      try {
        const usage = await keyUsage(platform.metadata.db as Kysely<SecurityTables>);
        process.stdout.write(`current key: ${keyring.current}\n`);
        for (const [id, n] of Object.entries(usage)) process.stdout.write(`${id}: ${n} objects\n`);
      } finally {
        await platform.close();
      }
    });

  keys
    .command('rotate')
    .description('add a new master key to the key file (it wraps new objects from now on)')
    .option('--rewrap', 'also rewrap every data key under the new key, so older keys can be retired')
    .option('--rewrap-only', 'rewrap under the current key without adding one')
    .action(async (opts: { rewrap?: boolean; rewrapOnly?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      if (!opts.rewrapOnly) {
        if (config.masterKeyFile === undefined) throw failedPrecondition('--master-key-file: rotation adds a key to a key file; name one (MODELPORT_MASTER_KEY can only be replaced by hand)');
        process.stdout.write(`added master key ${Keyring.addKeyTo(config.masterKeyFile)} to ${config.masterKeyFile}\n`);
      }
      if (!opts.rewrap && !opts.rewrapOnly) return;
      const keyring = openKeyring(config)!;
      const platform = await createPlatform({ ...config, logLevel: 'silent' });
      try {
        const n = await rewrapAll(platform.metadata.db as Kysely<SecurityTables>, keyring, (total) => progress('rewrapping data keys', total));
        process.stdout.write(`rewrapped ${n} data keys under ${keyring.current}\n`);
        const segments = await rewrapSegments(platform.metadata.db, keyring);
        process.stdout.write(`rewrapped ${segments} prediction-log segments under ${keyring.current}\n`);
        const explanations = await rewrapExplanations(platform.metadata.db, keyring);
        process.stdout.write(`rewrapped ${explanations} logged explanations under ${keyring.current}\n`);
      } finally {
        await platform.close();
      }
    });
}
