/**
 * A float32 value's text exactly as String() gives it (the shortest digits that read back as the
 * same double, the closest of them to the value), written straight into a byte buffer. String()
 * took ~0.4 µs a value that misses V8's number cache: two predictions a row made it a batch job's
 * largest main-thread cost after the reading.
 *
 * A float32 has 24 significant bits, so its product with 10^p (a 53-bit double split in halves,
 * plus the double's own rounding error) is exact but for ~2^-100 of it: the value's 17 leading
 * decimal digits, and the interval of decimals that read back as it, are known to ~1e-7 of a unit
 * in the 17th digit. Shortening then picks the multiple of the largest power of ten inside the
 * interval. Any decision closer than a safe margin to a boundary or a tie, and a value whose
 * shortest form has 8 digits or fewer (its interval reaches a whole multiple of 10^9 units),
 * is left to String(): exact, and rare in real data.
 */

/** 10^p for p in [P_MIN, P_MAX] as HI (≤ 26 bits) + MID (≤ 27 bits) + LO (the double's error, rounded). */
const P_MIN = -33;
const P_MAX = 55;
const HI = new Float64Array(P_MAX - P_MIN + 1);
const MID = new Float64Array(P_MAX - P_MIN + 1);
const LO = new Float64Array(P_MAX - P_MIN + 1);

{
  const bits = new DataView(new ArrayBuffer(8));
  for (let p = P_MIN; p <= P_MAX; p++) {
    // Parsing rounds correctly: d is 10^p to the nearest double, m × 2^e exactly.
    const d = Number(`1e${p}`);
    bits.setFloat64(0, d);
    const m = BigInt(2 ** 52 + (bits.getUint32(0) & 0xfffff) * 2 ** 32 + bits.getUint32(4));
    const e = (bits.getUint32(0) >>> 20) - 1075;
    // 10^p - d, scaled by 2^t for integers of ~200 bits: (N × 2^t - m × D × 2^(t + e)) / D, 10^p = N / D.
    const t = 200 - e;
    const [num, den] = p >= 0 ? [10n ** BigInt(p), 1n] : [1n, 10n ** BigInt(-p)];
    const error = ((num << BigInt(t)) - ((m * den) << 200n)) / den;
    LO[p - P_MIN] = Number(error) * 2 ** -t;
    // Veltkamp's split: HI keeps the top 26 bits of d, MID the rest, both exact.
    const c = d * 134217729;
    HI[p - P_MIN] = c - (c - d);
    MID[p - P_MIN] = d - HI[p - P_MIN];
  }
}

const F32 = new Float32Array(1);
const BITS = new Uint32Array(F32.buffer);
const DIGITS = new Uint8Array(17);
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const POW2 = Array.from({ length: 54 }, (_, i) => 2 ** i);
/** Multiplied by rather than divided by (floorTo corrects the rounding; powers of two are exact): a division cost more. */
const INV_POW10 = POW10.map((q) => 1 / q);
const INV_POW2 = POW2.map((q) => 1 / q);
/** Errors stay below ~1e-7 of a unit of the 17th digit; decisions closer than this go to String(). */
const MARGIN = 1e-5;
const ZERO = 0x30;
/** The two ASCII digits of each of 0 to 99: digits are taken from the integers two at a time. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i % 2 === 1 ? (i >> 1) % 10 : ((i >> 1) / 10) | 0));

/** The largest multiple of `q` (1/q is `inverse`) at most `v` (exact: v/q may round across a whole number). */
function floorTo(v: number, q: number, inverse: number): number {
  let c = Math.floor(v * inverse) * q;
  if (c > v) c -= q;
  else if (c + q <= v) c += q;
  return c;
}

/**
 * Writes String(v) for a float32 value `v` (finite) into `buf` at `at`, which has room for 25
 * bytes; returns where the text ends.
 */
export function writeFloat32(v: number, buf: Uint8Array, at: number): number {
  if (v === 0) {
    buf[at] = ZERO;
    return at + 1;
  }
  const n = shortestDigits(v < 0 ? -v : v);
  if (n === undefined) return writeAscii(String(v), buf, at);
  if (v < 0) buf[at++] = 0x2d;
  // As Number::toString lays out 0.digits × 10^n. The forms predictions and margins take get their
  // digits written in place: through a scratch array and a copy, ~20 ns of a value's ~85.
  const count = digitCount;
  if (0 < n && n < count) {
    // The digits one place on, then the integer part moved back over the gap for the point.
    writeDigits(buf, at + 1);
    for (let i = 0; i < n; i++) buf[at + i] = buf[at + i + 1];
    buf[at + n] = 0x2e;
    return at + count + 1;
  }
  if (-6 < n && n <= 0) {
    buf[at++] = ZERO;
    buf[at++] = 0x2e;
    for (let i = n; i < 0; i++) buf[at++] = ZERO;
    writeDigits(buf, at);
    return at + count;
  }
  writeDigits(DIGITS, 0);
  return layout(n, buf, at);
}

function writeAscii(s: string, buf: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/** What shortestDigits found: the 8 leading digits, the 9 after them, and how many of the 17 the text keeps. */
let leading = 0;
let trailing = 0;
let digitCount = 0;

/**
 * Finds the shortest round-trip digits of `x` (> 0, a float32 value) and returns n such that
 * x = 0.digits × 10^n; undefined when the fast path cannot decide.
 */
function shortestDigits(x: number): number | undefined {
  F32[0] = x;
  const bits = BITS[0];
  const biased = bits >>> 23;
  const fraction = bits & 0x7fffff;
  // x = m × 2^e: m the float32's significand; the double's is m shifted up to 53 bits.
  const m = biased === 0 ? fraction : fraction | 0x800000;
  const width = 32 - Math.clz32(m);
  // log10(x) from the binary exponent and a linear log2 of the significand (off by at most one).
  const exponent = (biased === 0 ? -149 : biased - 150) + width - 1;
  let k = Math.floor((exponent + m * INV_POW2[width - 1] - 1) * 0.3010299956639812);
  let p = 7 - k;
  let s = 0;
  let t = 0;
  let h = 0;
  for (let tries = 0; ; tries++) {
    if (p < P_MIN || p > P_MAX || tries > 2) return undefined;
    const i = p - P_MIN;
    const a = x * HI[i];
    const b = x * MID[i];
    s = a + b;
    t = b - (s - a) + x * LO[i];
    h = Math.floor(s);
    if (s - h + t < 0) h -= 1;
    if (h < 1e7) {
      p++;
      k--;
    } else if (h >= 1e8) {
      p--;
      k++;
    } else break;
  }
  // The 17-digit value is h × 10^9 + r; the doubles' rounding interval is r - below ... r + above.
  const r = (s - h) * 1e9 + t * 1e9;
  const above = (s * 1e9) / (m * POW2[54 - width]);
  const below = (m & (m - 1)) === 0 ? above / 2 : above;
  const lo = r - below;
  const hi = r + above;
  if (lo < MARGIN || hi > 1e9 - MARGIN) return undefined;
  // The largest power of ten with a multiple inside [lo, hi]; 10^0 always has one (the interval is > 1 wide).
  let j = 0;
  for (; j < 8; j++) {
    const q = POW10[j + 1];
    const c = floorTo(hi, q, INV_POW10[j + 1]);
    if (hi - c < MARGIN || c + q - hi < MARGIN || Math.abs(c - lo) < MARGIN) return undefined;
    if (c < lo) break;
  }
  const q = POW10[j];
  const c0 = floorTo(r, q, INV_POW10[j]);
  const c1 = c0 + q;
  const in0 = c0 >= lo;
  const in1 = c1 <= hi;
  if (Math.abs(c0 - lo) < MARGIN || Math.abs(c1 - hi) < MARGIN) return undefined;
  let c: number;
  if (in0 && in1) {
    const d0 = r - c0;
    const d1 = c1 - r;
    // Halfway cases are common (x × 10^p often has a short binary fraction): settled exactly,
    // the even digit winning a true tie, as String() has it.
    if (Math.abs(d0 - d1) < MARGIN) {
      const side = compareToMidpoint(m, biased === 0 ? -149 : biased - 150, p + 9, h, 2 * c0 + q);
      c = side < 0 || (side === 0 && (c0 / q) % 2 === 0) ? c0 : c1;
    } else c = d0 < d1 ? c0 : c1;
  } else if (in0) c = c0;
  else if (in1) c = c1;
  else return undefined;
  if (c <= 0 || c >= 1e9) return undefined;
  leading = h;
  trailing = c;
  digitCount = 17 - j;
  return k + 1;
}

/**
 * Writes the digitCount digits shortestDigits found at `at`, and nothing past them. Both integers
 * are below 2^31: whole-number arithmetic on int32, two digits at a time.
 */
function writeDigits(buf: Uint8Array, at: number): void {
  const count = digitCount;
  // The 9 trailing digits go to at + 8 ... at + 16, those past count (zeros) left out; count is at least 9.
  let low = trailing | 0;
  for (let d = 15; d >= 9; d -= 2) {
    const next = (low / 100) | 0;
    const pair = 2 * (low - next * 100);
    if (d < count) buf[at + d] = PAIRS[pair];
    if (d + 1 < count) buf[at + d + 1] = PAIRS[pair + 1];
    low = next;
  }
  buf[at + 8] = ZERO + low;
  let high = leading | 0;
  for (let d = 6; d >= 0; d -= 2) {
    const next = (high / 100) | 0;
    const pair = 2 * (high - next * 100);
    buf[at + d] = PAIRS[pair];
    buf[at + d + 1] = PAIRS[pair + 1];
    high = next;
  }
}

/** 10^i as bigints for the exact comparison, |p + 9| of a float32 being at most 64. */
const POW10N = Array.from({ length: P_MAX + 10 }, (_, i) => 10n ** BigInt(i));

/** The sign of m × 2^e × 10^p - (h × 10^9 + twice / 2), in exact integers. */
function compareToMidpoint(m: number, e: number, p: number, h: number, twice: number): number {
  let left = BigInt(m) * 2n;
  let right = BigInt(h) * 2_000_000_000n + BigInt(twice);
  if (e >= 0) left <<= BigInt(e);
  else right <<= BigInt(-e);
  if (p >= 0) left *= POW10N[p];
  else right *= POW10N[-p];
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Lays DIGITS out as Number::toString does for a value 0.DIGITS × 10^n that is a whole number or takes an exponent. */
function layout(n: number, buf: Uint8Array, at: number): number {
  const count = digitCount;
  if (count <= n && n <= 21) {
    for (let i = 0; i < count; i++) buf[at++] = DIGITS[i];
    for (let i = count; i < n; i++) buf[at++] = ZERO;
  } else {
    buf[at++] = DIGITS[0];
    if (count > 1) {
      buf[at++] = 0x2e;
      for (let i = 1; i < count; i++) buf[at++] = DIGITS[i];
    }
    buf[at++] = 0x65;
    const e = n - 1;
    buf[at++] = e < 0 ? 0x2d : 0x2b;
    // A float32's exponent has at most two digits.
    const abs = e < 0 ? -e : e;
    if (abs >= 10) buf[at++] = ZERO + ((abs / 10) | 0);
    buf[at++] = ZERO + (abs % 10);
  }
  return at;
}
