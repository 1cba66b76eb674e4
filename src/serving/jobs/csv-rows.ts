/**
 * Rows of a plain CSV file parsed straight into a float32 matrix, as DuckDB would read them for
 * a batch job: the same numbers (each field parsed as a double, correctly rounded, then rounded
 * to float32), the same kept text. Only a strict grammar is taken; any other field makes the
 * whole range "not plain", and the job reads it through DuckDB instead, whose answer (a value,
 * or an error naming the line) then stands.
 */
import { KeptText, type KeptBytes } from './kept-text.js';

/** What a file column is to the job; a column may be a feature and kept at once. */
export interface CsvColumnRole {
  /** Index in the matrix row, or -1. */
  feature: number;
  /** Index among the kept columns, or -1. */
  kept: number;
  /**
   * How DuckDB typed the column: 'double' (DOUBLE, never kept: DuckDB writes its own text for it),
   * an integer type with at most `digits` digits taken (fewer than the type holds: a longer value
   * is left to DuckDB), or 'text' (VARCHAR, kept only).
   */
  type: 'double' | 'integer' | 'text';
  digits: number;
}

/** A row's values in the matrix (every matrix column is one file column) and its kept columns. */
export function rowShape(roles: readonly CsvColumnRole[]): { width: number; keptCount: number } {
  let width = 0;
  let keptCount = 0;
  for (const r of roles) {
    if (r.feature >= 0) width++;
    if (r.kept >= 0) keptCount++;
  }
  return { width, keptCount };
}

const NEWLINE = 0x0a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const HASH = 0x23;
const CR = 0x0d;
/** Significant digits taken into one double: their roundings stay far within SLACK. */
const MAX_DIGITS = 40;
const EXACT = 2 ** 53;
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const TENTHS = Array.from({ length: 23 }, (_, i) => Number(`1e-${i}`));
/**
 * A float32 is taken from an approximate double only when the whole interval of this relative
 * width around it rounds to that float32: the approximation is within a few tens of units of
 * 2^-53 of the exact value (a rounding per digit taken, one for the power of ten, one to scale),
 * and so is the correctly rounded double DuckDB computes, so both round to the same float32.
 * Only a value within 2^-40 of a float32 rounding boundary (one in ~2^15) is parsed exactly.
 */
const SLACK = 2 ** -40;

/** A kept field's bytes `from` to `to` as the column's next row; an empty field is NULL. */
function keep(text: KeptText, b: Uint8Array, from: number, to: number): void {
  if (to === from) text.pushNull();
  else text.push(b, from, to - from);
}

const latin1 = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** Four ASCII digits, read as a little-endian word (the first digit in its lowest byte), as a number. */
function fourDigits(w: number): number {
  const pairs = ((w - 0x30303030) * 10 + ((w - 0x30303030) >>> 8)) & 0x00ff00ff;
  return (pairs & 0xff) * 100 + (pairs >>> 16);
}

const TEXT = 0;
const INTEGER = 1;
const DOUBLE = 2;
const TYPES = { text: TEXT, integer: INTEGER, double: DOUBLE };

/**
 * Parses `rows` lines of `b` from byte `start` (each ending in a newline, the last one included)
 * into `matrix` (row r at r * width) and the kept columns' text. Returns the kept text, or
 * undefined when a field or line is not plain.
 */
export function parseCsvRows(b: Uint8Array, start: number, end: number, rows: number, delim: number, roles: readonly CsvColumnRole[], matrix: Float32Array): KeptBytes[] | undefined {
  const { width, keptCount } = rowShape(roles);
  const kept = Array.from({ length: keptCount }, () => new KeptText());
  const ncols = roles.length;
  // Typed arrays rather than the role objects: read for every field.
  const types = Uint8Array.from(roles, (r) => TYPES[r.type]);
  const features = Int32Array.from(roles, (r) => r.feature);
  const keptOf = Int32Array.from(roles, (r) => r.kept);
  const digitLimits = Int32Array.from(roles, (r) => r.digits);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const blen = b.length;
  let p = start;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let c = 0; c < ncols; c++) {
      const type = types[c];
      const feature = features[c];
      const keptAt = keptOf[c];
      const term = c === ncols - 1 ? NEWLINE : delim;
      const from = p;
      if (type === TEXT) {
        let ch = b[p];
        // A first '#' may be a comment DuckDB's sniffer found; a CR, a line end it understood.
        if (ch === HASH) return undefined;
        while (ch !== delim && ch !== NEWLINE) {
          if (ch >= 0x80 || ch === CR) return undefined;
          ch = b[++p];
        }
        if (ch !== term) return undefined;
        keep(kept[keptAt], b, from, p);
        p++;
        continue;
      }
      const neg = b[p] === MINUS;
      if (neg) p++;
      else if (b[p] === term) {
        // An empty field is NULL, which a feature reads as NaN.
        if (feature >= 0) matrix[base + feature] = Number.NaN;
        if (keptAt >= 0) kept[keptAt].pushNull();
        p++;
        continue;
      }
      const digits0 = p;
      // Every significant digit goes into `m`: exact below 2^53, else within a few parts in 2^53
      // (one rounding a step), which the float32 check below allows for.
      let m = 0;
      let d = 0;
      while (b[p] === ZERO) p++;
      const sig0 = p;
      while ((d = b[p] - ZERO) >= 0 && d <= 9) {
        m = m * 10 + d;
        p++;
      }
      let sig = p - sig0;
      const intDigits = p - digits0;
      if (intDigits === 0) return undefined;
      if (type === INTEGER) {
        if (b[p] !== term || intDigits > digitLimits[c]) return undefined;
        if (keptAt >= 0) {
          // DuckDB writes an integer back without a sign on zero or leading zeros.
          if ((b[digits0] === ZERO && intDigits > 1) || (neg && sig === 0)) return undefined;
          keep(kept[keptAt], b, from, p);
        }
        if (feature >= 0) {
          // Beyond 2^53 the text gives the nearest double, as DuckDB's BIGINT to DOUBLE does.
          const v = m < EXACT ? m : Number(latin1(b, digits0, p));
          matrix[base + feature] = neg ? 0 - v : v;
        }
        p++;
        continue;
      }
      let scale = 0;
      if (b[p] === DOT) {
        const frac0 = ++p;
        if (m === 0) while (b[p] === ZERO) p++;
        const fracSig0 = p;
        // Four digits at a time while there are four: most of a field's bytes are its fraction's digits.
        while (p + 4 <= blen) {
          const w = view.getUint32(p, true);
          if (((w - 0x30303030) | (w + 0x46464646)) & 0x80808080) break;
          m = m * 1e4 + fourDigits(w);
          p += 4;
        }
        while ((d = b[p] - ZERO) >= 0 && d <= 9) {
          m = m * 10 + d;
          p++;
        }
        if (p === frac0) return undefined;
        sig += p - fracSig0;
        scale = frac0 - p;
      }
      let ch = b[p];
      if (ch === 0x65 || ch === 0x45) {
        ch = b[++p];
        let expNeg = false;
        if (ch === MINUS || ch === PLUS) {
          expNeg = ch === MINUS;
          ch = b[++p];
        }
        let exp = 0;
        const exp0 = p;
        for (d = ch - ZERO; d >= 0 && d <= 9; d = ch - ZERO) {
          if (exp < 100_000) exp = exp * 10 + d;
          ch = b[++p];
        }
        if (p === exp0) return undefined;
        scale += expNeg ? -exp : exp;
      }
      if (ch !== term) return undefined;
      if (feature >= 0) {
        let v: number;
        if (m === 0) v = 0;
        else {
          // Scaled by a multiplication (a division took twice as long), so a few roundings off the exact value.
          const a = sig <= MAX_DIGITS && scale >= -22 && scale <= 22 ? (scale >= 0 ? m * POW10[scale] : m * TENTHS[-scale]) : Number.NaN;
          const slack = a * SLACK;
          if (a === a && Math.fround(a - slack) === Math.fround(a + slack)) v = a;
          else {
            // Near a float32 rounding boundary, or far out: the exact double decides, unless it
            // overflows or underflows, where DuckDB's answer is left to DuckDB.
            v = Number(latin1(b, digits0, p));
            if (!Number.isFinite(v) || v === 0) return undefined;
          }
        }
        matrix[base + feature] = neg ? -v : v;
      }
      p++;
    }
  }
  return p === end ? kept.map((k) => k.parts()) : undefined;
}
