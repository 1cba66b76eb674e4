/**
 * Encryption at rest for the blob store (artifacts, dataset files): a BlobStore over another
 * one. Each object is encrypted with its own AES-256-GCM data key, wrapped under the current
 * master key (keyring.ts) and kept in `sec_blob_key` next to the object's IV and tag. Callers
 * still name objects by the sha256 of their plaintext; the underlying store holds only
 * ciphertext under its own hash. Objects stored before encryption was switched on have no row
 * and are read as they are. Rotation rewraps data keys only; the objects are not rewritten.
 *
 * A data key is wrapped with the object's name (its plaintext sha256) as associated data, so
 * it opens only for that name: GCM's tag then proves on read that the bytes are the ones
 * stored under the name, and a read hashes nothing (the store's own hash of the ciphertext is
 * skipped too). Rows written before that binding (wrapped_key without the `n1:` mark) are still
 * checked against their sha256 as they stream.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, type DecipherGCM } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { Kysely } from 'kysely';
import { failedPrecondition } from '../core/errors.js';
import { blobHealth, checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from '../storage/blobs.js';
import { isUniqueViolation } from '../storage/metadata.js';
import type { Keyring } from './keyring.js';
import type { SecurityTables } from './migrations.js';

/**
 * Encryption works through large inputs in pieces of this size: one update of a whole large
 * chunk (a 64 MiB upload arrives as one) allocates, and faults in, an output as large and runs
 * at a third of the speed; smaller pieces cost more per piece in the stream and the writes than
 * they save (both measured, CPU per 64 MiB object).
 */
const PIECE = 1 << 20;

/** Marks a wrapped key bound to its object's name. */
const BOUND = 'n1:';
const nameOf = (sha256: string) => Buffer.from(sha256, 'latin1');

function unwrapRow(keyring: Keyring, row: { sha256: string; key_id: string; wrapped_key: string }): Buffer {
  return row.wrapped_key.startsWith(BOUND) ? keyring.unwrap(row.key_id, row.wrapped_key.slice(BOUND.length), nameOf(row.sha256)) : keyring.unwrap(row.key_id, row.wrapped_key);
}

/**
 * Decrypts while holding the last piece back until GCM's tag checks: a reader of altered bytes
 * never receives all of them, and the stream fails.
 */
function decrypting(decipher: DecipherGCM, sha256: string): Transform {
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (const piece of pieces(chunk)) {
        if (held) this.push(held);
        held = decipher.update(piece);
      }
      done();
    },
    flush(done) {
      let last: Buffer;
      try {
        last = decipher.final();
      } catch {
        blobHealth.corruptReads++;
        return done(failedPrecondition(`blob ${sha256} does not authenticate: its stored bytes were altered`));
      }
      if (held) this.push(held);
      done(null, last);
    },
  });
}

function* pieces(chunk: Uint8Array): Iterable<Uint8Array> {
  for (let at = 0; at < chunk.byteLength; at += PIECE) yield chunk.subarray(at, at + PIECE);
}

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
          size += chunk.byteLength;
          for (const piece of pieces(chunk)) {
            hash.update(piece);
            yield cipher.update(piece);
          }
        }
        yield cipher.final();
      }
      const stored = await inner.put(encrypt());
      const sha256 = hash.digest('hex');
      const { keyId, wrapped } = keyring.wrap(dataKey, nameOf(sha256));
      try {
        await db
          .insertInto('sec_blob_key')
          .values({ sha256, cipher_sha256: stored.sha256, size, key_id: keyId, wrapped_key: BOUND + wrapped, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') })
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
      const decipher = createDecipheriv('aes-256-gcm', unwrapRow(keyring, row), Buffer.from(row.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(row.tag, 'base64'));
      const decrypt = decrypting(decipher, sha256);
      // GCM's tag authenticates the ciphertext: the store need not hash it as well.
      const stored = await inner.get(row.cipher_sha256, { verify: false });
      const out = row.wrapped_key.startsWith(BOUND) ? stored.pipe(decrypt) : stored.pipe(decrypt).pipe(verifying(sha256));
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
    const bound = row.wrapped_key.startsWith(BOUND);
    const { keyId, wrapped } = keyring.wrap(unwrapRow(keyring, row), bound ? nameOf(row.sha256) : undefined);
    await db.updateTable('sec_blob_key').set({ key_id: keyId, wrapped_key: bound ? BOUND + wrapped : wrapped }).where('sha256', '=', row.sha256).where('key_id', '=', row.key_id).execute();
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
