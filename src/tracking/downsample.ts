/**
 * Largest-Triangle-Three-Buckets (Steinarsson, 2013): picks `threshold` points of a series that
 * keep its visual shape (peaks, dips, the ends), so a 100,000-point curve draws from a few
 * thousand. Points whose value is not a number are passed over when a bucket has another.
 */
import type { History } from './history.js';

/** Indices of the kept points, ascending; all of them when the series is short enough. */
export function lttbIndices(x: ArrayLike<number>, y: ArrayLike<number>, threshold: number): number[] {
  const n = x.length;
  if (threshold >= n || threshold < 3) return Array.from({ length: n }, (_, i) => i);
  const kept = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let bucket = 0; bucket < threshold - 2; bucket++) {
    // The average of the next bucket is the triangle's third corner.
    const nextStart = Math.floor((bucket + 1) * every) + 1;
    const nextEnd = Math.min(n, Math.floor((bucket + 2) * every) + 1);
    let avgX = 0;
    let avgY = 0;
    let count = 0;
    for (let i = nextStart; i < nextEnd; i++) {
      if (!Number.isFinite(y[i])) continue;
      avgX += x[i];
      avgY += y[i];
      count++;
    }
    if (count > 0) {
      avgX /= count;
      avgY /= count;
    } else {
      avgX = x[Math.min(n - 1, nextStart)];
      avgY = y[a];
    }
    const start = Math.floor(bucket * every) + 1;
    const end = Math.floor((bucket + 1) * every) + 1;
    let best = start;
    let bestArea = -1;
    for (let i = start; i < end; i++) {
      const area = Math.abs((x[a] - avgX) * (y[i] - y[a]) - (x[a] - x[i]) * (avgY - y[a]));
      if (area > bestArea) {
        bestArea = area;
        best = i;
      }
    }
    kept.push(best);
    a = best;
  }
  kept.push(n - 1);
  return kept;
}

/** A history reduced to at most `maxPoints` points by LTTB over (step, value). */
export function downsampleHistory(h: History, maxPoints: number): History {
  if (h.length <= maxPoints) return h;
  const keep = lttbIndices(h.step, h.value, maxPoints);
  const pick = (column: Float64Array) => Float64Array.from(keep, (i) => column[i]);
  return { length: keep.length, step: pick(h.step), timestamp: pick(h.timestamp), value: pick(h.value) };
}
