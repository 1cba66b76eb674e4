/**
 * Distribution of the two-sided one-sample Kolmogorov–Smirnov statistic D_n (SciPy's `kstwo`).
 * ks2Samp's asymptotic path evaluates `kstwo.sf(D, round(n·m/(n+m)))`, so this module follows
 * the method selection of Simard & L'Ecuyer (2011) exactly as SciPy's `_kolmogn` does: the
 * p-value of a large-sample drift check then agrees with SciPy to ~1e-12, not just roughly.
 *
 * Methods: Ruben–Gambino closed forms at the extremes, the Durbin matrix (Marsaglia–Tsang–Wang)
 * and Pomeranz recursions for small n, Pelz–Good's expansion for large n, and twice the exact
 * one-sided Smirnov tail (Birnbaum–Tingey sum) in the upper tail.
 */

const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
/** exp() of anything below this is 0 in doubles (log of the smallest subnormal). */
const MIN_LOG = -745.1332191019412;
const SCALE_EXP = 128;
const SCALE_UP = 2 ** SCALE_EXP;
const SCALE_DOWN = 2 ** -SCALE_EXP;
const EPS = 2 ** -52;

const clip01 = (p: number) => (p < 0 ? 0 : p > 1 ? 1 : p);

/** log(n!/n^n) by Stirling's series with n·log(n) cancelled analytically (no cancellation). */
function logFactorialOverPower(n: number): number {
  // B_2j / (2j (2j-1)) for j = 1..8, highest power first for Horner in 1/n².
  const c = [-3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12];
  const r = 1 / n;
  const r2 = r * r;
  let poly = 0;
  for (const ci of c) poly = poly * r2 + ci;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + r * poly;
}

/** log k! − (k·log k − k + ½·log 2πk): exact sums for small k, Stirling's series beyond. */
const SMALL_CORRECTIONS = (() => {
  const c = new Float64Array(32);
  let logFact = 0;
  for (let k = 1; k < 32; k++) {
    logFact += Math.log(k);
    c[k] = logFact - (k * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI * k));
  }
  return c;
})();

function stirlingCorrection(k: number): number {
  if (k < 32) return SMALL_CORRECTIONS[k];
  const r = 1 / k;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)));
}

/**
 * log of C(n,v)·(x+v/n)^(v−1)·(1−x−v/n)^(n−v) with Stirling's formula and the n·log n parts
 * cancelled by hand: the pieces are each O(nx) instead of O(n·log n), which keeps the
 * term's relative error near 1e-13 even for n in the hundreds of thousands.
 */
function logSmirnovTerm(n: number, nx: number, v: number, logNPlusCorrection: number): number {
  const rest = n - v;
  return (
    logNPlusCorrection -
    Math.log(v + nx) +
    v * Math.log1p(nx / v) +
    rest * Math.log1p(-nx / rest) +
    0.5 * Math.log(n / (2 * Math.PI * v * rest)) -
    stirlingCorrection(v) -
    stirlingCorrection(rest)
  );
}

/**
 * Survival function of the one-sided statistic D_n^+: P(D_n^+ ≥ x), the exact Birnbaum–Tingey
 * sum evaluated in log space (the binomial coefficients overflow doubles long before n = 10⁶).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0) || !(x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxFloor = Math.floor(nx);
  const alpha = nx - nxFloor;
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    return 1 - x * Math.pow(1 + x, n - 1);
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return Math.pow(1 - x, n);
  if (n > 1_000_000) {
    // SciPy switches to this closed-form approximation for very large n as well.
    const logp = -((6 * nx + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  // sf = x · Σ_{v=0}^{n-⌊nx⌋-1} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v); the v=0 term is (1-x)^n / x.
  const last = n - nxFloor - 1;
  let sum = Math.pow(1 - x, n) / x;
  let compensation = 0;
  const logN = Math.log(n) + stirlingCorrection(n);
  for (let v = 1; v <= last; v++) {
    const logTerm = logSmirnovTerm(n, nx, v, logN);
    const term = logTerm < MIN_LOG ? 0 : Math.exp(logTerm);
    // Neumaier summation: hundreds of thousands of positive terms of very different sizes.
    const t = sum + term;
    compensation += Math.abs(sum) >= term ? sum - t + term : term - t + sum;
    sum = t;
    if (term !== 0 && 4 * (last - v) * term < EPS * sum && v !== last) break;
    if (term === 0 && v > n / 2) break;
  }
  return clip01(x * (sum + compensation));
}

/** P(D_n ≤ d) by the Durbin matrix method (Marsaglia, Tsang & Wang 2003): the k-th diagonal
 * entry of H^n, scaled by n!/n^n, with explicit exponent bookkeeping against overflow. */
function kolmogornDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let pExp = 0;
  let hExp = 0;
  let nn = n;
  const tmp = new Float64Array(m * m);
  const matmul = (a: Float64Array, b: Float64Array): Float64Array => {
    tmp.fill(0);
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        const ail = a[i * m + l];
        if (ail === 0) continue;
        for (let j = 0; j < m; j++) tmp[i * m + j] += ail * b[l * m + j];
      }
    }
    return Float64Array.from(tmp);
  };
  while (nn > 0) {
    if (nn % 2) {
      P = matmul(P, H);
      pExp += hExp;
    }
    H = matmul(H, H);
    hExp *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > SCALE_UP) {
      for (let i = 0; i < H.length; i++) H[i] /= SCALE_UP;
      hExp += SCALE_EXP;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) {
      p *= SCALE_UP;
      pExp -= SCALE_EXP;
    }
  }
  return clip01(pExp !== 0 ? p * 2 ** pExp : p);
}

/** Row window [j1, j2] of Pomeranz's recursion for row i. */
function pomeranzWindow(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n ≤ x) by Pomeranz's (1974) recursion: rows are convolutions with truncated Poisson weights. */
function kolmogornPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let k = 1; k < npwrs; k++) {
    gpower[k] = (gpower[k - 1] * (g / n)) / k;
    twogpower[k] = (twogpower[k - 1] * ((2 * g) / n)) / k;
    onem2gpower[k] = (onem2gpower[k - 1] * ((1 - 2 * g) / n)) / k;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzWindow(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzWindow(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const base = k1 - V0s;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        const aEnd = Math.min(idx, ln2 - 1, V0.length - 1 - base);
        for (let a = Math.max(0, idx - ln2 + 1); a <= aEnd; a++) {
          s += V0[base + a] * pwrs[idx - a];
        }
        V1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < SCALE_DOWN) {
        for (let c = 0; c < convLen; c++) V1[c] *= SCALE_UP;
        expnt -= SCALE_EXP;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let k = 1; k <= n; k++) {
    if (Math.abs(ans) > SCALE_UP) {
      ans *= SCALE_DOWN;
      expnt += SCALE_EXP;
    }
    ans *= k;
  }
  return clip01(expnt !== 0 ? ans * 2 ** expnt : ans);
}

/** P(D_n ≤ x) by the Pelz–Good (1976) asymptotic expansion (four terms in 1/√n). */
function kolmogornPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  const q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z4 * z4;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qp = Math.pow(q, 8 * k);
    K[0] = K[0] * qp + 1;
    K[1] = K[1] * qp + (k1a + k1b * m2);
    K[2] = K[2] * qp + (k2a + k2b * m2 + k2c * m4);
    K[3] = K[3] * qp + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const denom = [z, 6 * z4, 72 * z4 * z3, 6480 * z4 * z6];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / denom[i];
  const q2 = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const kk = k * k;
    const qk = Math.pow(q2, kk);
    const kpi = Math.PI * k;
    k2extra += kk * qk;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * kk * qk;
  }
  K[2] += (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  return K[0] + K[1] / Math.sqrt(n) + K[2] / n + K[3] / Math.pow(n, 1.5);
}

/** P(D_n > x) for the two-sided one-sample statistic (SciPy's `kstwo.sf(x, n)`). */
export function kolmogornSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= (i / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip01(1 - kolmogornDurbin(n, x));
    if (nx2 <= 4) return clip01(1 - kolmogornPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nx2 >= 18) cdf = 1;
  else if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) cdf = kolmogornDurbin(n, x);
  else cdf = kolmogornPelzGood(n, x);
  return clip01(1 - cdf);
}
