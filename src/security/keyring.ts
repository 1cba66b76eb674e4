/**
 * Master keys for envelope encryption: each object gets its own data key, wrapped (AES-256-GCM)
 * under the current master key. Keys come from a key file (one base64 32-byte key per line, the
 * last one current; older lines stay to read what they wrapped) or from MODELPORT_MASTER_KEY.
 * A key's id is derived from the key, so it is stable wherever the key is configured. The file
 * is read again when it changes, so a server picks up a rotated key without a restart.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import type { SealingKeys } from '../core/secret-box.js';

const RECHECK_MS = 5_000;

export const keyIdOf = (key: Buffer): string => `k${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

function parseKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw invalidArgument(`${where}: a master key is 32 bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`);
  return key;
}

export class Keyring implements SealingKeys {
  private keys = new Map<string, Buffer>();
  private currentId = '';
  private mtimeMs = -1;
  private checkedAt = -Infinity;

  constructor(
    private readonly source: { file?: string; key?: string },
    private readonly now: () => number = Date.now,
  ) {
    this.load();
  }

  get current(): string {
    this.maybeReload();
    return this.currentId;
  }

  private load(): void {
    const keys = new Map<string, Buffer>();
    let current = '';
    if (this.source.key !== undefined) {
      const key = parseKey(this.source.key, 'MODELPORT_MASTER_KEY');
      current = keyIdOf(key);
      keys.set(current, key);
    }
    if (this.source.file !== undefined) {
      let text: string;
      try {
        text = readFileSync(this.source.file, 'utf8');
        this.mtimeMs = statSync(this.source.file).mtimeMs;
      } catch (err) {
        throw invalidArgument(`--master-key-file: cannot read ${this.source.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      if (lines.length === 0) throw invalidArgument(`--master-key-file: ${this.source.file} holds no key`);
      for (const [i, line] of lines.entries()) {
        const key = parseKey(line, `--master-key-file line ${i + 1}`);
        keys.set(keyIdOf(key), key);
        current = keyIdOf(key);
      }
    }
    this.keys = keys;
    this.currentId = current;
    this.checkedAt = this.now();
  }

  private maybeReload(force = false): void {
    if (this.source.file === undefined || (!force && this.now() - this.checkedAt < RECHECK_MS)) return;
    this.checkedAt = this.now();
    const mtime = statSync(this.source.file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && mtime !== this.mtimeMs) this.load();
  }

  keyFor(id: string): Buffer {
    let key = this.keys.get(id);
    if (!key) {
      this.maybeReload(true);
      key = this.keys.get(id);
    }
    if (!key) throw failedPrecondition(`master key ${id} is not configured; an object encrypted under it cannot be read`);
    return key;
  }

  /**
   * A data key wrapped under the current master key: iv, tag and the encrypted key, base64.
   * With `context`, the wrapped key unwraps only with the same context (what the key is for).
   */
  wrap(dataKey: Buffer, context?: Uint8Array): { keyId: string; wrapped: string } {
    const keyId = this.current;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyFor(keyId), iv);
    if (context) cipher.setAAD(context);
    const enc = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return { keyId, wrapped: Buffer.concat([iv, cipher.getAuthTag(), enc]).toString('base64') };
  }

  unwrap(keyId: string, wrapped: string, context?: Uint8Array): Buffer {
    const bytes = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.keyFor(keyId), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    if (context) decipher.setAAD(context);
    try {
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    } catch {
      throw failedPrecondition(`a data key wrapped under master key ${keyId} does not authenticate: wrong key or altered`);
    }
  }

  /** Appends a new random key to the key file (owner-only); it becomes the current key. */
  static addKeyTo(file: string): string {
    const key = randomBytes(32);
    appendFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
    return keyIdOf(key);
  }
}
