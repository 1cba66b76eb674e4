/** Encryption at rest as the platform switches it on: when a master key is configured. */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { BlobStore } from '../storage/blobs.js';
import type { MetadataStore } from '../storage/metadata.js';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { SecretBox } from '../core/secret-box.js';
import { encryptedBlobStore } from './encrypted-blobs.js';
import { payloadCipher, type PayloadCipher } from './sealed-payload.js';
import { readOrCreateSecretFile } from './secret-file.js';
import { Keyring } from './keyring.js';
import type { SecurityTables } from './migrations.js';

/** The configured master keys, or undefined when encryption at rest is off. */
export function openKeyring(config: Config): Keyring | undefined {
  if (config.masterKeyFile === undefined && config.masterKey === undefined) return undefined;
  return new Keyring({ file: config.masterKeyFile, key: config.masterKey });
}

/** What seals values `what` names in the metadata store, or undefined when encryption at rest is off. */
export function openPayloadCipher(config: Config, what: string): PayloadCipher | undefined {
  const keyring = openKeyring(config);
  return keyring && payloadCipher(keyring, what);
}

/** The blob store callers use: encrypting when a master key is configured, else `stored` itself. */
export function withEncryption(stored: BlobStore, config: Config, metadata: MetadataStore): BlobStore {
  const keyring = openKeyring(config);
  return keyring ? encryptedBlobStore(stored, metadata.db as Kysely<SecurityTables>, keyring) : stored;
}

/** The server secret (DATA/server-secret or MODELPORT_SERVER_SECRET), which tokens are hashed under. */
export function serverSecret(config: Config): string {
  return config.serverSecret ?? readOrCreateSecretFile(join(config.dataDir, 'server-secret')).value;
}

/** The key personal data is hashed under before the prediction log sees it: derived from the server secret. */
export function piiKey(config: Config): Buffer {
  return createHmac('sha256', serverSecret(config)).update('modelport pii v1').digest();
}

/**
 * What seals small secrets (webhook signing keys): the master keys when configured, else a key
 * derived from the server secret; either way kept outside the metadata store.
 */
export function openSecretBox(config: Config): SecretBox {
  const keyring = openKeyring(config);
  if (keyring) return new SecretBox(keyring);
  const key = createHmac('sha256', serverSecret(config)).update('modelport secret box v1').digest();
  return new SecretBox({ current: 'server', keyFor: () => key });
}
