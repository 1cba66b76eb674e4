/**
 * The JSON of an online response, as bytes: the same text JSON.stringify gives (and the route's
 * schema serializer gave), written straight into one buffer. Lists that several columns share
 * (a view's event times, statuses, the key columns' statuses) are written once and copied:
 * they are most of a wide response's text. Building the text as a string instead costs a
 * 100 × 50 answer more than its reads: a number formatted per value, a rope of ~200 KB
 * flattened to count its bytes and again to encode them.
 */
import type { OnlineResponse } from './types.js';

/** Kept between calls up to this size, so answers of a steady shape write into memory already there. */
const SCRATCH_KEEP = 1 << 22;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];
/** Numbers whose digits (after the decimal places tried) stay under this are formatted here. */
const DIGITS_LIMIT = 2 ** 31;
/** The longest text of a number, "-1.2345678901234567e-300", with its comma. */
const MAX_NUMBER = 25;

const Q = 0x22;
const COMMA = 0x2c;
const ZERO = 0x30;
const bytesOf = (text: string) => [...Buffer.from(text, 'latin1')];
const NULL = bytesOf('null');
const TRUE = bytesOf('true');
const FALSE = bytesOf('false');
const HEAD = bytesOf('{"metadata":{"feature_names":');
const RESULTS = bytesOf('},"results":[');
const FIRST_VALUES = bytesOf('{"values":');
const VALUES = bytesOf(',{"values":');
const STATUSES = bytesOf(',"statuses":');
const TIMES = bytesOf(',"event_timestamps":');
const CLOSE = bytesOf('}');
const END = bytesOf(']}');

let scratch = Buffer.allocUnsafe(1 << 16);

class Writer {
  buf = scratch;
  at = 0;

  room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    if (grown.length <= SCRATCH_KEEP) scratch = grown;
  }

  /** Fixed text, its bytes made once: Buffer.write's own cost is more than a short text's bytes. */
  literal(bytes: readonly number[]): void {
    this.room(bytes.length);
    for (const b of bytes) this.buf[this.at++] = b;
  }

  /** `len` bytes written before, from `from`: short ones byte by byte, for the same reason. */
  again(from: number, len: number): void {
    this.room(len);
    if (len > 64) this.buf.copy(this.buf, this.at, from, from + len);
    else for (let i = 0; i < len; i++) this.buf[this.at + i] = this.buf[from + i];
    this.at += len;
  }

  string(s: string): void {
    // Plain ASCII (names, statuses, ISO times) needs no escaping and is one byte a character.
    this.room(s.length + 2);
    const buf = this.buf;
    const from = this.at;
    let at = from;
    buf[at++] = Q;
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch < 0x20 || ch > 0x7e || ch === Q || ch === 0x5c) return this.escaped(s);
      buf[at++] = ch;
    }
    buf[at++] = Q;
    this.at = at;
  }

  private escaped(s: string): void {
    const text = JSON.stringify(s);
    this.room(3 * text.length);
    this.at += this.buf.write(text, this.at, 'utf8');
  }

  /** A non-negative integer below 2^31, `width` digits at least (zero-padded), in room already made. */
  private digits(n: number, width: number): void {
    let len = n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
    if (len < width) len = width;
    const buf = this.buf;
    for (let i = this.at + len - 1; i >= this.at; i--) {
      const q = (n / 10) | 0;
      buf[i] = ZERO + (n - 10 * q);
      n = q;
    }
    this.at += len;
  }

  /**
   * JSON.stringify's text of a number (the shortest decimal that reads back as it), in room
   * already made. A number with at most six decimal places and fewer than ten digits is m/10^k
   * for the first k where that holds: then no shorter decimal reads back as it, and no other of
   * k places does. V8 formats the others, at about twice the cost.
   */
  private number(v: number): void {
    if (!Number.isFinite(v)) return this.literal(NULL);
    const a = v < 0 ? -v : v;
    for (let k = 0; k < POW10.length; k++) {
      const p = POW10[k];
      const m = Math.round(a * p);
      if (m >= DIGITS_LIMIT) break;
      if (m / p !== a) continue;
      if (v < 0) this.buf[this.at++] = 0x2d;
      if (k === 0) return this.digits(m, 1);
      const whole = a | 0;
      this.digits(whole, 1);
      this.buf[this.at++] = 0x2e;
      return this.digits(m - whole * p, k);
    }
    this.at += this.buf.write(String(v), this.at, 'latin1');
  }

  list(values: readonly unknown[]): void {
    // Room for any number, boolean or null; a string makes its own.
    this.room(2 + MAX_NUMBER * values.length);
    this.buf[this.at++] = 0x5b;
    for (let i = 0; i < values.length; i++) {
      if (i > 0) this.buf[this.at++] = COMMA;
      const v = values[i];
      if (typeof v === 'number') this.number(v);
      else if (typeof v === 'string') {
        this.string(v);
        this.room(2 + MAX_NUMBER * (values.length - i));
      } else this.literal(v === true ? TRUE : v === false ? FALSE : NULL);
    }
    this.buf[this.at++] = 0x5d;
  }

  /** The text written, in memory of its own: the scratch buffer is written again by the next answer while the socket may still hold this one. */
  done(): Buffer {
    const out = Buffer.allocUnsafe(this.at);
    this.buf.copy(out, 0, 0, this.at);
    return out;
  }
}

export function onlineResponseJson(res: OnlineResponse): Buffer {
  const w = new Writer();
  const written = new Map<readonly unknown[], { from: number; len: number }>();
  const once = (list: readonly unknown[]) => {
    const seen = written.get(list);
    if (seen) return w.again(seen.from, seen.len);
    const from = w.at;
    w.list(list);
    written.set(list, { from, len: w.at - from });
  };
  w.literal(HEAD);
  w.list(res.metadata.feature_names);
  w.literal(RESULTS);
  res.results.forEach((r, i) => {
    w.literal(i === 0 ? FIRST_VALUES : VALUES);
    w.list(r.values);
    w.literal(STATUSES);
    once(r.statuses);
    w.literal(TIMES);
    once(r.event_timestamps);
    w.literal(CLOSE);
  });
  w.literal(END);
  return w.done();
}
