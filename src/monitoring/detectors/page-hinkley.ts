import { invalidArgument } from '../../core/errors.js';
import type { DetectorSignal, DetectorState, StreamingDetector } from './types.js';

export interface PageHinkleyOptions {
  /** Observations before a drift can be signalled (river: 30). */
  minInstances?: number;
  /** Magnitude of change tolerated per observation (river: 0.005). */
  delta?: number;
  /** λ: the cumulative deviation that signals a drift (river: 50). */
  threshold?: number;
  /** Fading factor of the cumulative sums (river: 1 − 0.0001). */
  alpha?: number;
  /** Watch increases, decreases or both of the mean (river: both). */
  mode?: 'up' | 'down' | 'both';
}

/**
 * Page–Hinkley test (Page 1954), two-sided as in current river: faded cumulative sums of the
 * deviations from the running mean, minus (up) or plus (down) δ; a drift when either sum moves
 * more than λ away from its extreme. No warning zone.
 */
export class PageHinkley implements StreamingDetector {
  readonly name = 'page_hinkley';
  private readonly minInstances: number;
  private readonly delta: number;
  private readonly threshold: number;
  private readonly alpha: number;
  private readonly mode: 'up' | 'down' | 'both';
  private n = 0;
  private mean = 0;
  private sumUp = 0;
  private sumDown = 0;
  private minUp = Infinity;
  private maxDown = -Infinity;
  private detected = false;

  constructor(options: PageHinkleyOptions = {}) {
    this.minInstances = options.minInstances ?? 30;
    this.delta = options.delta ?? 0.005;
    this.threshold = options.threshold ?? 50;
    this.alpha = options.alpha ?? 1 - 0.0001;
    this.mode = options.mode ?? 'both';
    if (!(this.threshold > 0)) throw invalidArgument('page_hinkley: threshold must be > 0');
    if (!(this.delta >= 0)) throw invalidArgument('page_hinkley: delta must be >= 0');
    if (!(this.alpha > 0 && this.alpha <= 1)) throw invalidArgument('page_hinkley: alpha must be in (0, 1]');
    if (!['up', 'down', 'both'].includes(this.mode)) throw invalidArgument(`page_hinkley: mode must be up, down or both`);
  }

  reset(): void {
    this.n = 0;
    this.mean = 0;
    this.sumUp = 0;
    this.sumDown = 0;
    this.minUp = Infinity;
    this.maxDown = -Infinity;
    this.detected = false;
  }

  save(): DetectorState {
    return { n: this.n, mean: this.mean, sumUp: this.sumUp, sumDown: this.sumDown, minUp: this.minUp, maxDown: this.maxDown, detected: this.detected };
  }

  load(state: DetectorState): void {
    ({ n: this.n, mean: this.mean, sumUp: this.sumUp, sumDown: this.sumDown, minUp: this.minUp, maxDown: this.maxDown } = state as Record<string, number>);
    this.detected = state.detected === true;
  }

  update(x: number): DetectorSignal {
    if (!Number.isFinite(x)) throw invalidArgument(`page_hinkley: observations must be finite numbers, got ${x}`);
    if (this.detected) this.reset();
    this.n++;
    this.mean += (x - this.mean) / this.n;
    const dev = x - this.mean;
    this.sumUp = this.alpha * this.sumUp + dev - this.delta;
    this.sumDown = this.alpha * this.sumDown + dev + this.delta;
    if (this.sumUp < this.minUp) this.minUp = this.sumUp;
    if (this.sumDown > this.maxDown) this.maxDown = this.sumDown;
    if (this.n >= this.minInstances) {
      const up = this.sumUp - this.minUp > this.threshold;
      const down = this.maxDown - this.sumDown > this.threshold;
      this.detected = this.mode === 'up' ? up : this.mode === 'down' ? down : up || down;
    }
    return { drift: this.detected, warning: false };
  }
}
