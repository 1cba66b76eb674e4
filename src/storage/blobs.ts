/**
 * Blob store port: immutable, content-addressed objects (the key is the sha256 of the bytes).
 * Adapters stream both ways so a large artifact never sits in memory, and verify the hash on
 * read so corruption is refused instead of served.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { failedPrecondition, invalidArgument } from '../core/errors.js';

export interface BlobInfo {
  sha256: string;
  size: number;
}

export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

export interface BlobStore {
  readonly kind: 'file' | 's3';
  /** Stores the bytes; identical content is stored once. Resolves only once the blob is durable. */
  put(source: BlobSource): Promise<BlobInfo>;
  /**
   * Streams the blob's bytes; the stream fails if they no longer hash to `sha256`. `verify:
   * false` skips that hash, for a caller that authenticates the bytes itself (encryption at
   * rest checks AES-GCM's tag).
   */
  get(sha256: string, options?: { verify?: boolean }): Promise<Readable>;
  stat(sha256: string): Promise<BlobInfo | null>;
  delete(sha256: string): Promise<void>;
  /** The ids of every object the store holds (its own ids: ciphertext hashes under encryption), for fsck. */
  list(): AsyncIterable<string>;
  /** Moves an object out of reach (to `quarantine/`), kept for inspection: readers then get 404. */
  quarantine(sha256: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Refuses anything but a lowercase hex sha256, so a key can never name a path outside the store. */
export function checkSha256(sha256: string): string {
  if (!SHA256.test(sha256)) throw invalidArgument(`blob id "${sha256.slice(0, 80)}" is not a sha256 hex digest`);
  return sha256;
}

export function toAsyncIterable(source: BlobSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') return Readable.from([Buffer.from(source)]);
  if (source instanceof Uint8Array) return Readable.from([source]);
  return source;
}

/** Corrupt blobs found by reads in this process, for /metrics. */
export const blobHealth = { corruptReads: 0 };

/**
 * Passes bytes through while hashing them, holding each chunk back until the next arrives: the
 * last chunk leaves only once the whole content hashes to `expected`. A reader of a corrupt blob
 * therefore never receives all its bytes; a response cut short is an error, not a clean end.
 */
export function verifying(expected: string): Transform {
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual !== expected) {
        blobHealth.corruptReads++;
        done(failedPrecondition(`blob ${expected} is corrupt: its content hashes to ${actual}`));
        return;
      }
      done(null, held);
    },
  });
}

/** Reads a whole blob into memory; only for small blobs (metadata files, tests). */
export async function readBlob(store: BlobStore, sha256: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(sha256)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
