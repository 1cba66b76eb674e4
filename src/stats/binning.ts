import { invalidArgument } from '../core/errors.js';

/**
 * Equal-width bin edges over [lo, hi] with Sturges' bin count for `count` observations:
 * `np.histogram_bin_edges(data, bins='sturges')` step for step in doubles (width, ceil,
 * linspace with the last edge pinned to hi). A constant sample gets one bin [lo−0.5, lo+0.5].
 */
export function sturgesEdges(lo: number, hi: number, count: number): Float64Array {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo || count < 1) {
    throw invalidArgument(`sturgesEdges: need finite lo <= hi and count >= 1 (got ${lo}, ${hi}, ${count})`);
  }
  if (hi === lo) return Float64Array.of(lo - 0.5, lo + 0.5);
  const width = (hi - lo) / (Math.log2(count) + 1);
  const k = Math.ceil((hi - lo) / width);
  const step = (hi - lo) / k;
  const edges = new Float64Array(k + 1);
  for (let i = 0; i < k; i++) edges[i] = i * step + lo;
  edges[k] = hi;
  return edges;
}

/** First index i with s[i] >= x in an ascending array. */
function lowerBound(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with s[i] > x in an ascending array. */
function upperBound(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `np.histogram(s, edges)[0]` for an ascending sample: bins [e_i, e_i+1), the last one closed,
 * values outside [e_0, e_k] not counted. Binary searches only, O(k log n).
 */
export function histogramSorted(s: Float64Array, edges: Float64Array): Float64Array {
  const k = edges.length - 1;
  const counts = new Float64Array(k);
  let prev = lowerBound(s, edges[0]);
  for (let i = 0; i < k; i++) {
    const next = i === k - 1 ? upperBound(s, edges[k]) : lowerBound(s, edges[i + 1]);
    counts[i] = next - prev;
    prev = next;
  }
  return counts;
}
