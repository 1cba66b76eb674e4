/**
 * Per-deployment response cache: LRU bounded by entry count and bytes, with a TTL on the
 * injected clock. Keys come from `cacheKey`: the model version's content hash plus a canonical
 * hash of the conformed input columns (names, dtypes, shapes, bytes), so two requests that
 * decode to the same Batch share an entry whatever JSON form they were sent in.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { compact, type Batch, type NumericArray } from '../models/index.js';
import type { CacheConfig } from './types.js';

export function cacheKey(versionSha: string, batch: Batch, outputs: readonly string[] = []): string {
  const h = createHash('sha256');
  h.update(versionSha);
  h.update('\0');
  h.update(outputs.join('\0'));
  for (const [name, col] of batch.columns) {
    h.update(`\0${name}\0${col.dtype}\0${col.shape.join(',')}\0`);
    if (Array.isArray(col.data)) {
      for (const s of col.data as string[]) h.update(`${s.length}:${s}`);
    } else {
      const a = col.data as NumericArray;
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  }
  h.update(`\0rows=${batch.rows}`);
  return h.digest('base64');
}

export function batchBytes(batch: Batch): number {
  let n = 64;
  for (const [name, col] of batch.columns) {
    n += name.length * 2 + 32;
    if (Array.isArray(col.data)) for (const s of col.data as string[]) n += 16 + s.length * 2;
    else n += (col.data as NumericArray).byteLength;
  }
  return n;
}

interface CacheEntry {
  value: Batch;
  bytes: number;
  storedAt: number;
}

export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly config: CacheConfig,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string): Batch | undefined {
    const entry = this.entries.get(key);
    if (entry && this.config.ttlMs > 0 && this.clock.now() - entry.storedAt >= this.config.ttlMs) {
      this.remove(key, entry);
    } else if (entry) {
      // Re-inserting moves the key to the young end of the Map's order: that order is the LRU list.
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.hits++;
      return entry.value;
    }
    this.misses++;
    return undefined;
  }

  set(key: string, value: Batch): void {
    const bytes = batchBytes(value);
    if (bytes > this.config.maxBytes) return;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    // Kept past the request: a pooled array or a slice of a batch's answer would keep its whole buffer.
    this.entries.set(key, { value: compact(value), bytes, storedAt: this.clock.now() });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.config.maxEntries && this.bytes <= this.config.maxBytes) break;
      this.remove(k, e);
    }
  }

  private remove(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
