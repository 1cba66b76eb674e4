import type { ColumnKind, ColumnStats, DriftMethod } from './types.js';

interface MethodSpec {
  label: string;
  kinds: readonly ColumnKind[];
  defaultThreshold: number;
  /** p-value tests drift below the threshold; distances at or above it. */
  rule: string;
  drifted: (score: number, threshold: number) => boolean;
  score: (s: ColumnStats) => number | undefined;
}

/**
 * Evidently's stattests with their default thresholds and the exact direction of each
 * comparison (ks uses <=, the other p-value tests <, distances >=).
 */
export const METHODS: Record<DriftMethod, MethodSpec> = {
  ks: {
    label: 'Kolmogorov–Smirnov p-value',
    kinds: ['numerical'],
    defaultThreshold: 0.05,
    rule: 'p_value <= threshold',
    drifted: (s, t) => s <= t,
    score: (s) => s.ks?.pvalue,
  },
  wasserstein: {
    label: 'Wasserstein distance (normed)',
    kinds: ['numerical'],
    defaultThreshold: 0.1,
    rule: 'distance >= threshold',
    drifted: (s, t) => s >= t,
    score: (s) => s.wassersteinNormed,
  },
  psi: {
    label: 'Population stability index',
    kinds: ['numerical', 'categorical'],
    defaultThreshold: 0.1,
    rule: 'psi >= threshold',
    drifted: (s, t) => s >= t,
    score: (s) => s.psi,
  },
  jensenshannon: {
    label: 'Jensen–Shannon distance',
    kinds: ['numerical', 'categorical'],
    defaultThreshold: 0.1,
    rule: 'distance >= threshold',
    drifted: (s, t) => s >= t,
    score: (s) => s.jensenShannonBase2,
  },
  chisquare: {
    label: 'Chi-square p-value',
    kinds: ['numerical', 'categorical'],
    defaultThreshold: 0.05,
    rule: 'p_value < threshold',
    drifted: (s, t) => s < t,
    score: (s) => s.chiSquare?.pvalue,
  },
  z: {
    label: 'Z-test p-value',
    kinds: ['numerical', 'categorical'],
    defaultThreshold: 0.05,
    rule: 'p_value < threshold',
    drifted: (s, t) => s < t,
    score: (s) => s.zTest?.pvalue,
  },
  t_test: {
    label: 'Welch t-test p-value',
    kinds: ['numerical'],
    defaultThreshold: 0.05,
    rule: 'p_value < threshold',
    drifted: (s, t) => s < t,
    score: (s) => s.tTest?.pvalue,
  },
};

export const DRIFT_METHODS = Object.keys(METHODS) as DriftMethod[];

export function isDriftMethod(x: string): x is DriftMethod {
  return Object.hasOwn(METHODS, x);
}

/**
 * Evidently's default test for a column: small references (≤ 1,000 values) get hypothesis
 * tests (KS; chi-square or z for few distinct values), large ones distances (normed
 * Wasserstein; Jensen–Shannon for few values and for every categorical column).
 */
export function defaultMethod(kind: ColumnKind, referenceCount: number, distinctUnion: number): DriftMethod {
  if (referenceCount <= 1000) {
    if (kind === 'numerical' && distinctUnion > 5) return 'ks';
    return distinctUnion > 2 ? 'chisquare' : 'z';
  }
  if (kind === 'numerical' && distinctUnion > 5) return 'wasserstein';
  return 'jensenshannon';
}
