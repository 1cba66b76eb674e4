/**
 * Token buckets per client (bearer token or address): each holds up to `burst` tokens and
 * refills at `requestsPerSecond` on the injected clock. A request takes one token; an empty
 * bucket refuses with the seconds until the next token as Retry-After.
 */
import type { Clock } from '../core/clock.js';
import { resourceExhausted } from '../core/errors.js';
import type { RateLimitConfig } from './types.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Beyond this many clients, refilled buckets are forgotten: a full bucket and no bucket behave alike. */
const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly config: RateLimitConfig,
    private readonly clock: Clock,
    private readonly label: string,
  ) {}

  /** Takes a token for `client` or throws ResourceExhausted with retryAfterSeconds. */
  take(client: string): void {
    const now = this.clock.now();
    const { burst, requestsPerSecond: rate } = this.config;
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.forgetFull(now);
      bucket = { tokens: burst, at: now };
      this.buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const wait = rate > 0 ? (1 - bucket.tokens) / rate : 3600;
    throw resourceExhausted(`${this.label}: rate limit of ${rate} requests/s (burst ${burst}) exceeded; retry in ${Math.ceil(wait)} s`, {
      retryAfterSeconds: Math.max(1, Math.ceil(wait)),
    });
  }

  private forgetFull(now: number): void {
    const { burst, requestsPerSecond: rate } = this.config;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * rate >= burst) this.buckets.delete(k);
    }
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}
