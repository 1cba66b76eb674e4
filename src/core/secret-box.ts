/**
 * Small secrets kept in the metadata store (webhook signing keys) are sealed with AES-256-GCM
 * under a key kept outside it, so a copy of the database alone does not reveal them. A sealed
 * value names its key (`sealed:v1:KEYID:BASE64`); a value stored before sealing is read as is.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { failedPrecondition } from './errors.js';

export interface SealingKeys {
  /** The id new values are sealed under. */
  readonly current: string;
  /** A 32-byte key by id; throws when it is not configured. */
  keyFor(id: string): Buffer;
}

const PREFIX = 'sealed:v1:';

export class SecretBox {
  constructor(private readonly keys: SealingKeys) {}

  /** `value` sealed, unless it is sealed already (a target copied from a stored monitor). */
  sealOnce(value: string): string {
    return value.startsWith(PREFIX) ? value : this.seal(value);
  }

  seal(plain: string): string {
    const id = this.keys.current;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.keyFor(id), iv);
    const enc = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${id}:${Buffer.concat([iv, cipher.getAuthTag(), enc]).toString('base64')}`;
  }

  open(stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const rest = stored.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    const id = rest.slice(0, colon);
    const bytes = Buffer.from(rest.slice(colon + 1), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.keys.keyFor(id), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw failedPrecondition(`a secret sealed under key ${id} does not open: wrong key or altered`);
    }
  }
}
