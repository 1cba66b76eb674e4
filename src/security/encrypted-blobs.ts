/**
 * Encryption at rest for the blob store (artifacts, dataset files): a BlobStore over another
 * one. Each object is encrypted with its own AES-256-GCM data key, wrapped under the current
 * master key (keyring.ts) and kept in `sec_blob_key` next to the object's IV and tag. Callers
 * still name objects by the sha256 of their plaintext; the underlying store holds only
 * ciphertext under its own hash. Objects stored before encryption was switched on have no row
 * and are read as they are. Rotation rewraps data keys only; the objects are not rewritten.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { Kysely } from 'kysely';
import { failedPrecondition } from '../core/errors.js';
import { checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from '../storage/blobs.js';
import { isUniqueViolation } from '../storage/metadata.js';
import type { Keyring } from './keyring.js';
import type { SecurityTables } from './migrations.js';

export function encryptedBlobStore(inner: BlobStore, db: Kysely<SecurityTables>, keyring: Keyring): BlobStore {
  const rowOf = (sha256: string) => db.selectFrom('sec_blob_key').selectAll().where('sha256', '=', checkSha256(sha256)).executeTakeFirst();

  return {
    kind: inner.kind,

    async put(source: BlobSource): Promise<BlobInfo> {
      const dataKey = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      const hash = createHash('sha256');
      let size = 0;
      async function* encrypt(): AsyncIterable<Uint8Array> {
        for await (const chunk of toAsyncIterable(source)) {
          hash.update(chunk);
          size += chunk.byteLength;
          yield cipher.update(chunk);
        }
        yield cipher.final();
      }
      const stored = await inner.put(Readable.from(encrypt()));
      const sha256 = hash.digest('hex');
      const { keyId, wrapped } = keyring.wrap(dataKey);
      try {
        await db
          .insertInto('sec_blob_key')
          .values({ sha256, cipher_sha256: stored.sha256, size, key_id: keyId, wrapped_key: wrapped, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') })
          .execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // The same content was stored before: keep that copy, drop this one.
        await inner.delete(stored.sha256);
      }
      return { sha256, size };
    },

    async get(sha256: string): Promise<Readable> {
      const row = await rowOf(sha256);
      if (!row) return inner.get(sha256);
      const decipher = createDecipheriv('aes-256-gcm', keyring.unwrap(row.key_id, row.wrapped_key), Buffer.from(row.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(row.tag, 'base64'));
      const decrypt = new Transform({
        transform(chunk: Buffer, _enc, done) {
          done(null, decipher.update(chunk));
        },
        flush(done) {
          try {
            done(null, decipher.final());
          } catch {
            done(failedPrecondition(`blob ${sha256} does not authenticate: its stored bytes were altered`));
          }
        },
      });
      const stored = await inner.get(row.cipher_sha256);
      const out = stored.pipe(decrypt).pipe(verifying(sha256));
      stored.on('error', (err) => out.destroy(err));
      decrypt.on('error', (err) => out.destroy(err));
      return out;
    },

    async stat(sha256: string): Promise<BlobInfo | null> {
      const row = await rowOf(sha256);
      if (!row) return inner.stat(sha256);
      return (await inner.stat(row.cipher_sha256)) ? { sha256, size: Number(row.size) } : null;
    },

    async delete(sha256: string): Promise<void> {
      const row = await rowOf(sha256);
      if (!row) return inner.delete(sha256);
      await inner.delete(row.cipher_sha256);
      await db.deleteFrom('sec_blob_key').where('sha256', '=', sha256).execute();
    },

    // fsck checks what is stored (ciphertext, under its own hash), so both name the inner objects.
    list: () => inner.list(),
    quarantine: (storedSha256) => inner.quarantine(storedSha256),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

/** Rewraps every data key not under the current master key; returns how many it rewrapped. */
export async function rewrapAll(db: Kysely<SecurityTables>, keyring: Keyring, track?: (total: number) => { tick(): void; done(): void }): Promise<number> {
  const current = keyring.current;
  const stale = await db.selectFrom('sec_blob_key').select(['sha256', 'key_id', 'wrapped_key']).where('key_id', '!=', current).execute();
  const progress = track?.(stale.length);
  for (const row of stale) {
    const { keyId, wrapped } = keyring.wrap(keyring.unwrap(row.key_id, row.wrapped_key));
    await db.updateTable('sec_blob_key').set({ key_id: keyId, wrapped_key: wrapped }).where('sha256', '=', row.sha256).where('key_id', '=', row.key_id).execute();
    progress?.tick();
  }
  progress?.done();
  return stale.length;
}

/** How many objects each master key wraps. */
export async function keyUsage(db: Kysely<SecurityTables>): Promise<Record<string, number>> {
  const rows = await db.selectFrom('sec_blob_key').select(['key_id']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('key_id').execute();
  return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
}
