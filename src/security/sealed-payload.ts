/**
 * Envelope encryption for values kept in the metadata store (prediction-log segments, and as
 * marked base64 text the logged explanations):
 * each value gets its own AES-256-GCM data key, wrapped under the current master key and kept
 * in front of the ciphertext, so rotation needs no lookup table and old values stay readable
 * while their master key is configured. A value that does not start with the marker was stored
 * before encryption was switched on and is read as it is.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { failedPrecondition } from '../core/errors.js';
import type { Keyring } from './keyring.js';

/** Seals and opens stored byte values; `open` passes values stored before sealing through. */
export interface PayloadCipher {
  seal(plain: Uint8Array): Buffer;
  open(stored: Uint8Array): Uint8Array;
}

/** "MPS1": no prediction-log segment (first byte a format number 1..4) or JSON body starts so. */
const MARKER = Buffer.from('MPS1');

export const isSealed = (stored: Uint8Array): boolean => stored.length >= MARKER.length && Buffer.from(stored.buffer, stored.byteOffset, MARKER.length).equals(MARKER);

/** Opening a sealed value without a master key fails, naming what to configure. */
export function openUnsealed(stored: Uint8Array, what: string): Uint8Array {
  if (isSealed(stored)) throw failedPrecondition(`${what} is encrypted at rest; configure the master key (--master-key-file or MODELPORT_MASTER_KEY) to read it`);
  return stored;
}

/** The marker and the wrapped data key a sealed value starts with. */
function envelope(keyId: string, wrapped: string): Buffer {
  const id = Buffer.from(keyId);
  const wrappedBytes = Buffer.from(wrapped, 'base64');
  const head = Buffer.alloc(MARKER.length + 3);
  MARKER.copy(head);
  head.writeUInt8(id.length, MARKER.length);
  head.writeUInt16LE(wrappedBytes.length, MARKER.length + 1);
  return Buffer.concat([head, id, wrappedBytes]);
}

/** A sealed value's parts: the master key id, its wrapped data key, and the rest (iv, tag, ciphertext). */
function parse(stored: Uint8Array): { keyId: string; wrapped: string; body: Buffer } {
  const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const idLength = buf.readUInt8(MARKER.length);
  const wrappedLength = buf.readUInt16LE(MARKER.length + 1);
  const at = MARKER.length + 3;
  return {
    keyId: buf.toString('utf8', at, at + idLength),
    wrapped: buf.subarray(at + idLength, at + idLength + wrappedLength).toString('base64'),
    body: buf.subarray(at + idLength + wrappedLength),
  };
}

export function payloadCipher(keyring: Keyring, what: string): PayloadCipher {
  return {
    seal(plain) {
      const dataKey = randomBytes(32);
      const { keyId, wrapped } = keyring.wrap(dataKey);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
      const enc = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([envelope(keyId, wrapped), iv, cipher.getAuthTag(), enc]);
    },
    open(stored) {
      if (!isSealed(stored)) return stored;
      const { keyId, wrapped, body } = parse(stored);
      const decipher = createDecipheriv('aes-256-gcm', keyring.unwrap(keyId, wrapped), body.subarray(0, 12));
      decipher.setAuthTag(body.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(body.subarray(28)), decipher.final()]);
      } catch {
        throw failedPrecondition(`${what} does not authenticate: its stored bytes were altered`);
      }
    },
  };
}

/** A sealed value with its data key rewrapped under the current master key (the ciphertext is kept); undefined when it needs none. */
export function rewrapPayload(keyring: Keyring, stored: Uint8Array): Buffer | undefined {
  if (!isSealed(stored)) return undefined;
  const { keyId, wrapped, body } = parse(stored);
  if (keyId === keyring.current) return undefined;
  const next = keyring.wrap(keyring.unwrap(keyId, wrapped));
  return Buffer.concat([envelope(next.keyId, next.wrapped), body]);
}

/**
 * Text columns (explanation bodies) hold a sealed value as base64 behind this prefix, so they
 * need no schema change; no stored body starts so (they are JSON).
 */
const TEXT_MARKER = 'MPS1:';

/** Seals and opens stored text values; `open` passes text stored before sealing through. */
export interface TextCipher {
  seal(plain: string): string;
  open(stored: string): string;
}

const sealedBytes = (stored: string): Buffer | undefined => (stored.startsWith(TEXT_MARKER) ? Buffer.from(stored.slice(TEXT_MARKER.length), 'base64') : undefined);

/** Seals text with `cipher` when one is given; opening sealed text without one fails, naming what to configure. */
export function textCipher(cipher: PayloadCipher | undefined, what: string): TextCipher {
  return {
    seal: (plain) => (cipher ? TEXT_MARKER + cipher.seal(Buffer.from(plain)).toString('base64') : plain),
    open(stored) {
      const bytes = sealedBytes(stored);
      if (!bytes) return stored;
      return Buffer.from(cipher ? cipher.open(bytes) : openUnsealed(bytes, what)).toString('utf8');
    },
  };
}

/** Sealed text with its data key rewrapped under the current master key; undefined when it needs none. */
export function rewrapText(keyring: Keyring, stored: string): string | undefined {
  const bytes = sealedBytes(stored);
  const rewrapped = bytes && rewrapPayload(keyring, bytes);
  return rewrapped && TEXT_MARKER + rewrapped.toString('base64');
}
