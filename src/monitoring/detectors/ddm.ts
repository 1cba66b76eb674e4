import { invalidArgument } from '../../core/errors.js';
import type { DetectorSignal, DetectorState, StreamingDetector } from './types.js';

export interface DdmOptions {
  /** Observations before any warning or drift can be signalled (river: 30). */
  warmStart?: number;
  /** Warning when p + s exceeds p_min + warningThreshold·s_min (river: 2, about 95%). */
  warningThreshold?: number;
  /** Drift when p + s exceeds p_min + driftThreshold·s_min (river: 3, about 99%). */
  driftThreshold?: number;
}

/**
 * DDM (Gama et al. 2004) on a 0/1 error stream, as river's `drift.binary.DDM`: the running
 * error rate p and its binomial standard deviation s = sqrt(p(1−p)/n); the point where p + s
 * was smallest is remembered, and the stream is in warning or drift when p + s rises 2 or 3
 * of those standard deviations above it.
 */
export class Ddm implements StreamingDetector {
  readonly name = 'ddm';
  private readonly warmStart: number;
  private readonly warningThreshold: number;
  private readonly driftThreshold: number;
  private n = 0;
  private p = 0;
  private pMin = Infinity;
  private sMin = Infinity;
  private psMin = Infinity;
  private detected = false;

  constructor(options: DdmOptions = {}) {
    this.warmStart = options.warmStart ?? 30;
    this.warningThreshold = options.warningThreshold ?? 2;
    this.driftThreshold = options.driftThreshold ?? 3;
    if (!(Number.isInteger(this.warmStart) && this.warmStart >= 0)) throw invalidArgument('ddm: warmStart must be an integer >= 0');
    if (!(this.warningThreshold > 0 && this.driftThreshold >= this.warningThreshold)) {
      throw invalidArgument('ddm: need 0 < warningThreshold <= driftThreshold');
    }
  }

  reset(): void {
    this.n = 0;
    this.p = 0;
    this.pMin = Infinity;
    this.sMin = Infinity;
    this.psMin = Infinity;
    this.detected = false;
  }

  save(): DetectorState {
    return { n: this.n, p: this.p, pMin: this.pMin, sMin: this.sMin, psMin: this.psMin, detected: this.detected };
  }

  load(state: DetectorState): void {
    ({ n: this.n, p: this.p, pMin: this.pMin, sMin: this.sMin, psMin: this.psMin } = state as Record<string, number>);
    this.detected = state.detected === true;
  }

  update(x: number): DetectorSignal {
    if (x !== 0 && x !== 1) throw invalidArgument(`ddm: observations must be 0 (correct) or 1 (error), got ${x}`);
    if (this.detected) this.reset();
    this.n++;
    this.p += (x - this.p) / this.n;
    const s = Math.sqrt((this.p * (1 - this.p)) / this.n);
    let warning = false;
    if (this.n > this.warmStart) {
      if (this.p + s <= this.psMin) {
        this.pMin = this.p;
        this.sMin = s;
        this.psMin = this.p + s;
      }
      warning = this.p + s > this.pMin + this.warningThreshold * this.sMin;
      if (this.p + s > this.pMin + this.driftThreshold * this.sMin) {
        this.detected = true;
        warning = false;
      }
    }
    return { drift: this.detected, warning };
  }
}
