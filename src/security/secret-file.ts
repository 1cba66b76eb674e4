/** Secrets kept as files in the data folder: written once, owner-only (0600), read back as given. */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The file's content, creating it with `make()` when it does not exist yet. Several processes
 * starting at once (`--workers`) agree: the file is created exclusively and the losers read it.
 */
export function readOrCreateSecretFile(path: string, make: () => string = () => randomBytes(32).toString('base64url')): { value: string; created: boolean } {
  try {
    const value = make();
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { value: readFileSync(path, 'utf8').trim(), created: false };
  }
}
