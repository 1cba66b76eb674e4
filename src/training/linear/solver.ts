/**
 * Minimisers for the linear models: L-BFGS with a backtracking (Armijo) line search for smooth
 * objectives, and FISTA (accelerated proximal gradient with backtracking) when an L1 term makes
 * the objective non-smooth. Both work on a flat parameter vector.
 */

/** Value and gradient of the smooth part at x (the gradient is written into `grad`). */
export type Smooth = (x: Float64Array, grad: Float64Array) => number;

export interface SolveOptions {
  maxIter: number;
  tol: number;
  onIteration?: (iteration: number, value: number) => void;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** L-BFGS (memory 10). Stops when the largest gradient component or the relative decrease falls below tol. */
export function lbfgs(f: Smooth, x0: Float64Array, options: SolveOptions): { x: Float64Array; value: number; iterations: number } {
  const n = x0.length;
  const m = 10;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let value = f(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  let iter = 0;
  for (; iter < options.maxIter; iter++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax < options.tol) break;
    // Two-loop recursion: d = −H·g.
    d.set(g);
    for (let j = s.length - 1; j >= 0; j--) {
      alpha[j] = rho[j] * dot(s[j], d);
      for (let i = 0; i < n; i++) d[i] -= alpha[j] * y[j][i];
    }
    const gammaScale = s.length > 0 ? dot(s[s.length - 1], y[y.length - 1]) / dot(y[y.length - 1], y[y.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) d[i] *= gammaScale;
    for (let j = 0; j < s.length; j++) {
      const beta = rho[j] * dot(y[j], d);
      for (let i = 0; i < n; i++) d[i] += s[j][i] * (alpha[j] - beta);
    }
    for (let i = 0; i < n; i++) d[i] = -d[i];
    let slope = dot(g, d);
    if (slope >= 0) {
      // Not a descent direction (curvature information went stale): restart from the gradient.
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -dot(g, g);
    }
    let step = 1;
    let next = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      next = f(xNew, gNew);
      if (next <= value + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(next <= value)) break;
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i] - x[i];
      yk[i] = gNew[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    const decrease = value - next;
    x.set(xNew);
    g.set(gNew);
    value = next;
    options.onIteration?.(iter, value);
    if (decrease <= options.tol * Math.max(1, Math.abs(value))) {
      iter++;
      break;
    }
  }
  return { x, value, iterations: iter };
}

/**
 * FISTA for f(x) + Σ l1[i]·|x[i]| (l1[i] = 0 leaves a coordinate unpenalised, as the intercept is).
 * Stops when an iteration moves x by less than tol relative to its size.
 */
export function fista(f: Smooth, l1: Float64Array, x0: Float64Array, options: SolveOptions): { x: Float64Array; value: number; iterations: number } {
  const n = x0.length;
  let x = Float64Array.from(x0);
  let z = Float64Array.from(x0);
  let t = 1;
  let lipschitz = 1;
  const g = new Float64Array(n);
  const scratch = new Float64Array(n);
  let next = new Float64Array(n);
  let value = Infinity;
  let iter = 0;
  const penalty = (v: Float64Array) => {
    let p = 0;
    for (let i = 0; i < n; i++) p += l1[i] * Math.abs(v[i]);
    return p;
  };
  for (; iter < options.maxIter; iter++) {
    const fz = f(z, g);
    for (;;) {
      const step = 1 / lipschitz;
      for (let i = 0; i < n; i++) {
        const u = z[i] - step * g[i];
        const k = l1[i] * step;
        next[i] = u > k ? u - k : u < -k ? u + k : 0;
      }
      const fNext = f(next, scratch);
      let quad = fz;
      for (let i = 0; i < n; i++) {
        const diff = next[i] - z[i];
        quad += g[i] * diff + (lipschitz / 2) * diff * diff;
      }
      if (fNext <= quad + 1e-12 * Math.abs(quad)) {
        value = fNext + penalty(next);
        break;
      }
      lipschitz *= 2;
    }
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    let moved = 0;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const diff = next[i] - x[i];
      moved = Math.max(moved, Math.abs(diff));
      size = Math.max(size, Math.abs(next[i]));
      z[i] = next[i] + ((t - 1) / tNext) * diff;
    }
    [x, next] = [next, x];
    t = tNext;
    options.onIteration?.(iter, value);
    if (moved <= options.tol * Math.max(1, size)) {
      iter++;
      break;
    }
  }
  return { x, value, iterations: iter };
}
