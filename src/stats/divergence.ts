import { invalidArgument } from '../core/errors.js';

/** Share given to an empty bin before PSI/JS so the logarithms stay finite (Evidently's 0.0001). */
export const EMPTY_BIN_SHARE = 0.0001;

/**
 * counts / n per bin; with `emptyShare` set, every 0 becomes that value (no renormalisation),
 * the convention of the drift fixtures and of Evidently's PSI.
 */
export function proportions(counts: Float64Array, n: number, emptyShare?: number): Float64Array {
  if (!(n > 0)) throw invalidArgument('proportions: sample size must be positive');
  const p = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] / n;
    p[i] = v === 0 && emptyShare !== undefined ? emptyShare : v;
  }
  return p;
}

function checkSameLength(p: Float64Array, q: Float64Array, who: string): void {
  if (p.length !== q.length || p.length === 0) {
    throw invalidArgument(`${who}: distributions must be non-empty and of equal length (got ${p.length} and ${q.length})`);
  }
}

/** Population stability index Σ (q − p)·ln(q / p) of current shares q against reference shares p. */
export function psi(reference: Float64Array, current: Float64Array): number {
  checkSameLength(reference, current, 'psi');
  let s = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i];
    const q = current[i];
    if (!(p > 0 && q > 0)) throw invalidArgument('psi: every share must be positive (fill empty bins first)');
    s += (q - p) * Math.log(q / p);
  }
  return s;
}

/** x·ln(x/y) with SciPy's `rel_entr` conventions at 0. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/**
 * Jensen–Shannon *distance* (square root of the divergence), as
 * `scipy.spatial.distance.jensenshannon(p, q, base)`: each vector is first divided by its own
 * sum; natural logarithm unless `base` is given.
 */
export function jensenShannon(p: Float64Array, q: Float64Array, base?: number): number {
  checkSameLength(p, q, 'jensenShannon');
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0 && q[i] >= 0)) throw invalidArgument('jensenShannon: shares must be non-negative');
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0 && sq > 0)) throw invalidArgument('jensenShannon: each distribution needs some mass');
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    left += relEntr(a, m);
    right += relEntr(b, m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(Math.max(js, 0) / 2);
}
