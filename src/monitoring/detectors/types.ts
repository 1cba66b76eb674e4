/** What every streaming drift detector says after each observation. */
export interface DetectorSignal {
  /** A change was detected at this observation; the detector starts afresh on the next one. */
  drift: boolean;
  /** The statistic is in its warning zone (DDM); always false for detectors without one. */
  warning: boolean;
}

/** A concept-drift detector fed one number at a time (an error indicator, a loss, a score). */
export interface StreamingDetector {
  readonly name: string;
  update(x: number): DetectorSignal;
  reset(): void;
}
