import { compareSortedSamples } from './ks.js';
import { meanVariance, sortedFinite } from './sample.js';

/** Floor under the reference standard deviation when normalising (Evidently's 0.001). */
export const MIN_NORM_STD = 0.001;

/** 1-D Wasserstein-1 (earth mover's) distance, as `scipy.stats.wasserstein_distance(a, b)`. */
export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  return compareSortedSamples(sortedFinite(a, 'wassersteinDistance'), sortedFinite(b, 'wassersteinDistance')).wasserstein;
}

/**
 * The distance in units of the reference's population standard deviation, floored at 0.001 so
 * a (near-)constant reference does not divide by zero: Evidently's normed Wasserstein score.
 */
export function normedWasserstein(distance: number, reference: Float64Array): number {
  return distance / Math.max(Math.sqrt(meanVariance(reference).variance), MIN_NORM_STD);
}
