/** What every streaming drift detector says after each observation. */
export interface DetectorSignal {
  /** A change was detected at this observation; the detector starts afresh on the next one. */
  drift: boolean;
  /** The statistic is in its warning zone (DDM); always false for detectors without one. */
  warning: boolean;
}

/**
 * A detector's state as plain data: numbers (±Infinity included), arrays of numbers and flags.
 * The store keeps it between feedback batches, so every replica continues one stream.
 */
export type DetectorState = Record<string, number | boolean | number[] | number[][]>;

/** A concept-drift detector fed one number at a time (an error indicator, a loss, a score). */
export interface StreamingDetector {
  readonly name: string;
  update(x: number): DetectorSignal;
  reset(): void;
  save(): DetectorState;
  /** Continues from a state `save` returned by a detector of the same kind and options. */
  load(state: DetectorState): void;
}

/** JSON cannot hold ±Infinity or NaN: they travel as strings. */
export function stateToJson(state: DetectorState): string {
  return JSON.stringify(state, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

export function stateFromJson(text: string): DetectorState {
  return JSON.parse(text, (_k, v: unknown) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v)) as DetectorState;
}
