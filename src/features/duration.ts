/** TTL durations: "30d", "12h", "90m", "45s", "2w", "500ms", combinations ("1d12h"), or "0" for no limit. */
import { invalidArgument } from '../core/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Milliseconds, or 0 for "no limit"; `field` names the definition field in the error. */
export function parseDuration(text: string | undefined, field: string): number {
  if (text === undefined || text === '0') return 0;
  const t = String(text).trim();
  PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  for (let m = PART.exec(t); m; m = PART.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = PART.lastIndex;
  }
  if (t === '' || matched !== t.length) {
    throw invalidArgument(`${field}: "${text}" is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. 30d or 1d12h`);
  }
  return Math.round(total);
}
