/**
 * Failed credential attempts per client address: after `limit` failures within `windowMs` the
 * address is refused until the window has passed, so tokens cannot be guessed at speed (they
 * could not be guessed anyway at 256 bits; this keeps the attempts out of the store and logs).
 */
import type { Clock } from '../core/clock.js';

export class GuessLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly limit = 10,
    private readonly windowMs = 60_000,
  ) {}

  /** Seconds the address must wait before trying again, or 0. */
  blockedFor(address: string): number {
    // Asked on every authenticated request: an address that never failed costs one lookup.
    if (!this.failures.has(address)) return 0;
    const recent = this.recent(address);
    if (recent.length < this.limit) return 0;
    return Math.max(1, Math.ceil((recent[0] + this.windowMs - this.clock.now()) / 1000));
  }

  fail(address: string): void {
    const recent = this.recent(address);
    recent.push(this.clock.now());
    this.failures.set(address, recent);
    if (this.failures.size > 100_000) this.failures.clear();
  }

  private recent(address: string): number[] {
    const since = this.clock.now() - this.windowMs;
    const list = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(address);
    return list;
  }
}
