/** Encryption at rest as the platform switches it on: when a master key is configured. */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { BlobStore } from '../storage/blobs.js';
import type { MetadataStore } from '../storage/metadata.js';
import { encryptedBlobStore } from './encrypted-blobs.js';
import { Keyring } from './keyring.js';
import type { SecurityTables } from './migrations.js';

/** The configured master keys, or undefined when encryption at rest is off. */
export function openKeyring(config: Config): Keyring | undefined {
  if (config.masterKeyFile === undefined && config.masterKey === undefined) return undefined;
  return new Keyring({ file: config.masterKeyFile, key: config.masterKey });
}

/** The blob store callers use: encrypting when a master key is configured, else `stored` itself. */
export function withEncryption(stored: BlobStore, config: Config, metadata: MetadataStore): BlobStore {
  const keyring = openKeyring(config);
  return keyring ? encryptedBlobStore(stored, metadata.db as Kysely<SecurityTables>, keyring) : stored;
}
