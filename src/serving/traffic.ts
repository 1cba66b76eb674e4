/**
 * Sticky weighted traffic split. A request's key (a user id header, a named input field, else
 * its request id) is hashed with the deployment's name onto 10,000 buckets, and the buckets are
 * cut into the variants' weights in the order the variants are listed. The hash depends on
 * nothing but the key and the name, so one key lands on one variant in every process and after
 * every restart; and as a variant listed last grows (a canary from 10% to 25%), the keys it had
 * stay with it.
 */
import { invalidArgument } from '../core/errors.js';
import { cellValue, type Batch } from '../models/index.js';
import type { RoutingConfig, VariantSpec } from './types.js';

export const BUCKETS = 10_000;

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser so that near keys spread apart. */
export function bucketOf(deployment: string, key: string): number {
  let h = 0x811c9dc5;
  const text = `${deployment}\u0000${key}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

/** The variants that take live traffic (shadows only get copies), with their bucket ranges. */
export interface Split {
  /** Upper bucket bound (exclusive) of each live variant, in order. */
  bounds: number[];
  names: string[];
}

export function splitOf(variants: readonly VariantSpec[]): Split {
  const bounds: number[] = [];
  const names: string[] = [];
  let upper = 0;
  for (const v of variants) {
    if (v.shadow || v.weight <= 0) continue;
    upper += v.weight * (BUCKETS / 100);
    bounds.push(upper);
    names.push(v.name);
  }
  return { bounds, names };
}

/** The variant a key's bucket falls into. */
export function assign(split: Split, bucket: number): string | undefined {
  const { bounds, names } = split;
  for (let i = 0; i < bounds.length; i++) if (bucket < bounds[i]) return names[i];
  return names[names.length - 1];
}

/** The key of a request from its input field, if the deployment routes by one and the batch has it. */
export function inputKey(routing: RoutingConfig, batch: Batch): string | undefined {
  const field = routing.inputField;
  if (field === undefined || batch.rows === 0 || !batch.has(field)) return undefined;
  const value = cellValue(batch.column(field), 0);
  return value === undefined || value === null ? undefined : String(value);
}

export const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a deployment's variants: names unique and well-formed, live weights whole numbers summing to 100. */
export function checkVariants(variants: readonly VariantSpec[]): void {
  if (variants.length === 0) throw invalidArgument('variants: a deployment needs at least one variant');
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    if (!VARIANT_NAME.test(v.name ?? '')) throw invalidArgument(`variants[${i}].name: "${v.name}" must be 1-64 letters, digits, ".", "_" or "-"`);
    if (seen.has(v.name)) throw invalidArgument(`variants[${i}].name: two variants are named "${v.name}"`);
    seen.add(v.name);
    if (!Number.isInteger(v.weight) || v.weight < 0 || v.weight > 100) throw invalidArgument(`variants[${i}].weight: ${v.weight} must be a whole number in 0..100`);
  });
  const live = variants.filter((v) => !v.shadow);
  const total = live.reduce((s, v) => s + v.weight, 0);
  if (total !== 100) {
    throw invalidArgument(`variants.weight: the weights of the variants that take traffic sum to ${total} (${live.map((v) => `${v.name}=${v.weight}`).join(', ')}); they must sum to 100`);
  }
  for (const [i, v] of variants.entries()) {
    if (v.shadow && !(v.mirror !== undefined && v.mirror > 0 && v.mirror <= 100)) {
      throw invalidArgument(`variants[${i}].mirror: a shadow variant needs the share of requests it copies, 1..100 (got ${v.mirror})`);
    }
  }
}
