/** The small dense solves the explainers need: weighted least squares by its normal equations. */
import { failedPrecondition } from '../core/errors.js';

/**
 * Solves A·x = b for symmetric positive (semi)definite A (n×n, row-major) with `k` right-hand
 * sides (b is n×k), by Gaussian elimination with partial pivoting; A and b are overwritten.
 * A ridge of `ridge` on the diagonal keeps a singular system (a feature that never varies)
 * solvable.
 */
export function solve(a: Float64Array, b: Float64Array, n: number, k: number, ridge = 0): Float64Array {
  let scale = 0;
  for (let i = 0; i < n; i++) {
    a[i * n + i] += ridge;
    scale = Math.max(scale, Math.abs(a[i * n + i]));
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[pivot * n + col])) pivot = r;
    if (Math.abs(a[pivot * n + col]) <= 1e-13 * scale) throw failedPrecondition('the linear system of the explanation is singular');
    if (pivot !== col) {
      for (let c = 0; c < n; c++) [a[col * n + c], a[pivot * n + c]] = [a[pivot * n + c], a[col * n + c]];
      for (let c = 0; c < k; c++) [b[col * k + c], b[pivot * k + c]] = [b[pivot * k + c], b[col * k + c]];
    }
    const d = a[col * n + col];
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col] / d;
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r * n + c] -= f * a[col * n + c];
      for (let c = 0; c < k; c++) b[r * k + c] -= f * b[col * k + c];
    }
  }
  const x = new Float64Array(n * k);
  for (let r = n - 1; r >= 0; r--) {
    for (let c = 0; c < k; c++) {
      let s = b[r * k + c];
      for (let j = r + 1; j < n; j++) s -= a[r * n + j] * x[j * k + c];
      x[r * k + c] = s / a[r * n + r];
    }
  }
  return x;
}

/**
 * Minimises Σ_i w_i ‖y_i − X_i·β‖² (+ ridge·‖β‖²) for X (m×n), y (m×k): β is n×k.
 */
export function weightedLeastSquares(x: Float64Array, y: Float64Array, w: ArrayLike<number>, m: number, n: number, k: number, ridge = 0): Float64Array {
  const xtx = new Float64Array(n * n);
  const xty = new Float64Array(n * k);
  for (let i = 0; i < m; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const row = i * n;
    for (let a = 0; a < n; a++) {
      const va = x[row + a] * wi;
      if (va === 0) continue;
      for (let b = a; b < n; b++) xtx[a * n + b] += va * x[row + b];
      for (let c = 0; c < k; c++) xty[a * k + c] += va * y[i * k + c];
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) xtx[a * n + b] = xtx[b * n + a];
  if (ridge > 0) return solve(xtx, xty, n, k, ridge);
  try {
    return solve(xtx.slice(), xty.slice(), n, k);
  } catch {
    // Coalitions that never separate two features leave the system singular; a ridge far below
    // the data's scale picks the smallest-norm split between them.
    let trace = 0;
    for (let a = 0; a < n; a++) trace += xtx[a * n + a];
    return solve(xtx, xty, n, k, (1e-10 * trace) / n || 1e-12);
  }
}
