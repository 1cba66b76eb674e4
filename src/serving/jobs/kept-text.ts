/**
 * A kept column's text as UTF-8 bytes, in a module of its own: the CSV parsing threads build it
 * too, and need none of the output encoders.
 */
import { csvCell } from '../../data/csv.js';
import type { ChunkBytes } from './encode.js';

/** A kept column's text for a range of rows, as KeptText holds it. */
export interface KeptBytes {
  bytes: Uint8Array<ArrayBuffer>;
  /** Where row r's text ends in `bytes` (it starts where row r - 1's ends). */
  ends: Int32Array<ArrayBuffer>;
  /** 1 where the value is NULL (an empty field). */
  nulls: Uint8Array<ArrayBuffer>;
}

/**
 * One kept column of a chunk: each row's text as UTF-8 bytes, back to back. A JS string per
 * value (decoded from DuckDB's bytes, then encoded back for the output) was ~10% of a job's
 * main-thread profile and a string of garbage per row; a CSV output copies the bytes as they are.
 */
export class KeptText {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(1 << 14);
  private length = 0;
  /** Where row r's text ends in `buf` (it starts where row r - 1's ends). */
  private ends: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private nulls: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  rows = 0;
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  static of(values: readonly (string | null)[]): KeptText {
    const text = new KeptText();
    const utf8 = new TextEncoder();
    for (const v of values) {
      if (v === null) text.pushNull();
      else {
        const bytes = utf8.encode(v);
        text.push(bytes, 0, bytes.length);
      }
    }
    return text;
  }

  clear(): void {
    this.length = 0;
    this.rows = 0;
  }

  /** Takes `rows` rows built elsewhere (a CSV parsing thread's `parts()`) as this column's whole text. */
  assign(parts: KeptBytes, rows: number): void {
    this.buf = parts.bytes;
    this.ends = parts.ends;
    this.nulls = parts.nulls;
    this.rows = rows;
    this.length = rows === 0 ? 0 : parts.ends[rows - 1];
  }

  /** Copies of this column's arrays, cut to its rows: what a thread transfers to the job. */
  parts(): KeptBytes {
    return { bytes: this.buf.slice(0, this.length), ends: this.ends.slice(0, this.rows), nulls: this.nulls.slice(0, this.rows) };
  }

  private row(isNull: boolean): void {
    if (this.rows === this.ends.length) {
      const ends = new Int32Array(2 * this.rows);
      ends.set(this.ends);
      this.ends = ends;
      const nulls = new Uint8Array(2 * this.rows);
      nulls.set(this.nulls);
      this.nulls = nulls;
    }
    this.nulls[this.rows] = isNull ? 1 : 0;
    this.ends[this.rows++] = this.length;
  }

  pushNull(): void {
    this.row(true);
  }

  /** Appends bytes `from` to `from + count` of `src` as the next row's text. */
  push(src: Uint8Array, from: number, count: number): void {
    if (this.length + count > this.buf.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buf.length, this.length + count));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    const buf = this.buf;
    const at = this.length;
    // A subarray per short value would cost more than the bytes it copies.
    if (count > 32) buf.set(src.subarray(from, from + count), at);
    else for (let i = 0; i < count; i++) buf[at + i] = src[from + i];
    this.length += count;
    this.row(false);
  }

  text(r: number): string | null {
    return this.nulls[r] ? null : this.utf8.decode(this.buf.subarray(r === 0 ? 0 : this.ends[r - 1], this.ends[r]));
  }

  /** Row r as a CSV cell, as csvCell writes it: its bytes unchanged unless it needs quoting. */
  writeCsv(r: number, sink: ChunkBytes): void {
    if (this.nulls[r]) return;
    const start = r === 0 ? 0 : this.ends[r - 1];
    const end = this.ends[r];
    const buf = this.buf;
    let plain = end > start;
    for (let i = start; plain && i < end; i++) {
      const b = buf[i];
      plain = b !== 0x22 && b !== 0x2c && b !== 0x0a && b !== 0x0d;
    }
    if (plain) sink.writeBytes(buf, start, end);
    else sink.write(csvCell(this.text(r)));
  }
}
