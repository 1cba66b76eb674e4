import { invalidArgument } from '../../core/errors.js';
import type { DetectorSignal, DetectorState, StreamingDetector } from './types.js';

export interface AdwinOptions {
  /** Confidence of each cut (river: 0.002). Smaller means fewer false alarms and later detections. */
  delta?: number;
  /** Cuts are evaluated every `clock` observations (river: 32). */
  clock?: number;
  /** Buckets kept per row of the exponential histogram before two merge (river: 5). */
  maxBuckets?: number;
  /** Both sub-windows of a cut need at least this many observations (river: 5). */
  minWindowLength?: number;
  /** No cut is evaluated before the window holds more than this many observations (river: 10). */
  gracePeriod?: number;
}

/** One row of the exponential histogram: up to maxBuckets+1 buckets of 2^row observations each. */
class BucketRow {
  readonly totals: Float64Array;
  readonly variances: Float64Array;
  count = 0;
  constructor(capacity: number) {
    this.totals = new Float64Array(capacity);
    this.variances = new Float64Array(capacity);
  }
  push(total: number, variance: number): void {
    this.totals[this.count] = total;
    this.variances[this.count] = variance;
    this.count++;
  }
  /** Drops the n oldest buckets. */
  shift(n: number): void {
    this.totals.copyWithin(0, n);
    this.variances.copyWithin(0, n);
    this.totals.fill(0, this.totals.length - n);
    this.variances.fill(0, this.variances.length - n);
    this.count -= n;
  }
}

/**
 * ADWIN (Bifet & Gavaldà 2007) as river implements it: the window is an exponential histogram
 * (row r holds buckets of 2^r observations with their sum and variance), every `clock` inserts
 * each cut into old/new sub-windows is tested with the Hoeffding-style bound
 * ε = sqrt(2·m⁻¹·σ²·δ') + (2/3)·δ'·m⁻¹, and while a cut fires the oldest bucket is dropped.
 * No warning zone.
 */
export class Adwin implements StreamingDetector {
  readonly name = 'adwin';
  private readonly delta: number;
  private readonly clock: number;
  private readonly maxBuckets: number;
  private readonly minWindowLength: number;
  private readonly gracePeriod: number;
  /** rows[0] holds the newest, single-observation buckets. */
  private rows: BucketRow[] = [];
  private total = 0;
  private variance = 0;
  private width = 0;
  private tick = 0;
  private detected = false;

  constructor(options: AdwinOptions = {}) {
    this.delta = options.delta ?? 0.002;
    this.clock = options.clock ?? 32;
    this.maxBuckets = options.maxBuckets ?? 5;
    this.minWindowLength = options.minWindowLength ?? 5;
    this.gracePeriod = options.gracePeriod ?? 10;
    if (!(this.delta > 0 && this.delta < 1)) throw invalidArgument(`adwin: delta must be in (0, 1), got ${this.delta}`);
    for (const [k, v] of Object.entries({ clock: this.clock, maxBuckets: this.maxBuckets, minWindowLength: this.minWindowLength })) {
      if (!(Number.isInteger(v) && v >= 1)) throw invalidArgument(`adwin: ${k} must be an integer >= 1, got ${v}`);
    }
    if (!(Number.isInteger(this.gracePeriod) && this.gracePeriod >= 0)) throw invalidArgument(`adwin: gracePeriod must be an integer >= 0`);
    this.reset();
  }

  /** Observations currently in the window. */
  get windowWidth(): number {
    return this.width;
  }

  /** Mean of the window. */
  get estimation(): number {
    return this.width === 0 ? 0 : this.total / this.width;
  }

  reset(): void {
    this.rows = [new BucketRow(this.maxBuckets + 1)];
    this.total = 0;
    this.variance = 0;
    this.width = 0;
    this.tick = 0;
    this.detected = false;
  }

  save(): DetectorState {
    return {
      totals: this.rows.map((r) => Array.from(r.totals.subarray(0, r.count))),
      variances: this.rows.map((r) => Array.from(r.variances.subarray(0, r.count))),
      total: this.total,
      variance: this.variance,
      width: this.width,
      tick: this.tick,
      detected: this.detected,
    };
  }

  load(state: DetectorState): void {
    const totals = state.totals as number[][];
    const variances = state.variances as number[][];
    this.rows = totals.map((t, r) => {
      const row = new BucketRow(this.maxBuckets + 1);
      t.forEach((total, k) => row.push(total, variances[r][k]));
      return row;
    });
    ({ total: this.total, variance: this.variance, width: this.width, tick: this.tick } = state as Record<string, number>);
    this.detected = state.detected === true;
  }

  update(x: number): DetectorSignal {
    if (!Number.isFinite(x)) throw invalidArgument(`adwin: observations must be finite numbers, got ${x}`);
    if (this.detected) this.reset();
    this.insert(x);
    this.detected = this.detectChange();
    return { drift: this.detected, warning: false };
  }

  private insert(x: number): void {
    this.rows[0].push(x, 0);
    this.width += 1;
    if (this.width > 1) {
      const d = x - this.total / (this.width - 1);
      this.variance += ((this.width - 1) * d * d) / this.width;
    }
    this.total += x;
    this.compress();
  }

  /** A row that overflows merges its two oldest buckets into one bucket of the next row. */
  private compress(): void {
    for (let r = 0; r < this.rows.length; r++) {
      const row = this.rows[r];
      if (row.count !== this.maxBuckets + 1) break;
      if (r + 1 === this.rows.length) this.rows.push(new BucketRow(this.maxBuckets + 1));
      const next = this.rows[r + 1];
      const n = 2 ** r;
      const mu1 = row.totals[0] / n;
      const mu2 = row.totals[1] / n;
      next.push(row.totals[0] + row.totals[1], row.variances[0] + row.variances[1] + (n * n * (mu1 - mu2) ** 2) / (2 * n));
      row.shift(2);
      if (next.count <= this.maxBuckets) break;
    }
  }

  /** Removes the oldest bucket; returns its size. */
  private deleteOldest(): number {
    const r = this.rows.length - 1;
    const row = this.rows[r];
    const n = 2 ** r;
    const u = row.totals[0];
    const mu = u / n;
    this.width -= n;
    this.total -= u;
    const muWindow = this.total / this.width;
    this.variance -= row.variances[0] + (n * this.width * (mu - muWindow) ** 2) / (n + this.width);
    row.shift(1);
    if (row.count === 0) this.rows.pop();
    return n;
  }

  private cutFires(n0: number, n1: number, deltaMean: number): boolean {
    const deltaPrime = Math.log((2 * Math.log(this.width)) / this.delta);
    const mRecip = 1 / (n0 - this.minWindowLength + 1) + 1 / (n1 - this.minWindowLength + 1);
    const epsilon = Math.sqrt(2 * mRecip * (this.variance / this.width) * deltaPrime) + (2 / 3) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }

  private detectChange(): boolean {
    this.tick++;
    if (this.tick % this.clock !== 0 || this.width <= this.gracePeriod) return false;
    let changed = false;
    let reduce = true;
    while (reduce) {
      reduce = false;
      let n0 = 0;
      let n1 = this.width;
      let u0 = 0;
      let u1 = this.total;
      // Cuts walk from the oldest bucket to the newest; as in river, the newest bucket of each
      // row is never a cut point.
      scan: for (let r = this.rows.length - 1; r >= 0; r--) {
        const row = this.rows[r];
        const size = 2 ** r;
        for (let k = 0; k < row.count - 1; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.totals[k];
          u1 -= row.totals[k];
          if (n1 >= this.minWindowLength && n0 >= this.minWindowLength && this.cutFires(n0, n1, u0 / n0 - u1 / n1)) {
            reduce = true;
            changed = true;
            if (this.width > 0) {
              this.deleteOldest();
              break scan;
            }
          }
        }
      }
    }
    return changed;
  }
}
