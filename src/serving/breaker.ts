/**
 * A circuit breaker around one variant's runtime: after `failures` consecutive failed requests
 * it opens and the variant is passed over (the deployment's fallback variant answers instead);
 * after `cooldownMs` of the clock it lets one trial request through (half-open), which closes
 * it on success and opens it again on failure.
 */
import type { Clock } from '../core/clock.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerConfig {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before a trial request (ms). */
  cooldownMs: number;
}

export class CircuitBreaker {
  state: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private trialOut = false;

  constructor(
    private readonly config: BreakerConfig,
    private readonly clock: Clock,
  ) {}

  /** Whether a request may go to the variant now (a half-open breaker lets one through at a time). */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.clock.now() - this.openedAt < this.config.cooldownMs) return false;
      this.state = 'half_open';
      this.trialOut = false;
    }
    if (this.trialOut) return false;
    this.trialOut = true;
    return true;
  }

  success(): void {
    this.state = 'closed';
    this.consecutive = 0;
    this.trialOut = false;
  }

  failure(): void {
    this.consecutive++;
    if (this.state === 'half_open' || this.consecutive >= this.config.failures) {
      this.state = 'open';
      this.openedAt = this.clock.now();
      this.trialOut = false;
    }
  }
}
