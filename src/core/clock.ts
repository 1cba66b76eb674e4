/**
 * Time is injected so that windows, TTLs, schedules and rollouts can be tested without waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock that only moves when told to; sleepers wake when time passes their deadline. */
export class ManualClock implements Clock {
  private sleepers: { until: number; wake: () => void }[] = [];

  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.sleepers.push({ until: this.current + ms, wake });
      this.wakeDue();
    });
  }

  /** The times the current sleepers wake at: a test moves the clock once the sleep it means to end has begun. */
  wakeTimes(): number[] {
    return this.sleepers.map((s) => s.until);
  }

  advance(ms: number): void {
    this.current += ms;
    this.wakeDue();
  }

  set(ms: number): void {
    this.current = ms;
    this.wakeDue();
  }

  private wakeDue(): void {
    const due = this.sleepers.filter((s) => s.until <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.until > this.current);
    for (const s of due) s.wake();
  }
}

/** One day in milliseconds, for retention windows and day-sized buckets. */
export const DAY_MS = 86_400_000;
