/**
 * How a shadow variant's answers compare with those of the variant that answered the caller:
 * for class-like outputs (integer, boolean or text columns) the share of rows where they agree
 * and a confusion table (answered class → shadow class); for float outputs the mean absolute
 * difference over every element.
 */
import { cellValue, isFloatDType, type Batch } from '../models/batch.js';

/** Confusion pairs kept at most, so a shadow with many classes cannot grow memory without bound. */
const MAX_PAIRS = 1000;

export interface ShadowView {
  variant: string;
  /** Copies sent to the shadow. */
  requests: number;
  /** Copies it failed (threw or timed out): never seen by a caller. */
  failures: number;
  /** Rows compared with the answering variant. */
  rows: number;
  /** Share of compared class-like rows where both gave the same class. */
  agreement?: number;
  /** Mean absolute difference over compared float elements. */
  meanAbsDiff?: number;
  /** "answered class → shadow class": rows. */
  confusion: Record<string, number>;
}

export class ShadowComparison {
  requests = 0;
  failures = 0;
  private rows = 0;
  private labelRows = 0;
  private agreed = 0;
  private absDiff = 0;
  private elements = 0;
  private readonly pairs = new Map<string, number>();

  constructor(readonly variant: string) {}

  compare(answered: Batch, shadow: Batch): void {
    this.rows += Math.min(answered.rows, shadow.rows);
    for (const [name, col] of answered.columns) {
      if (!shadow.has(name)) continue;
      const other = shadow.column(name);
      if (isFloatDType(col.dtype) && isFloatDType(other.dtype)) {
        const a = col.data as ArrayLike<number>;
        const b = other.data as ArrayLike<number>;
        const n = Math.min(a.length, b.length);
        for (let i = 0; i < n; i++) this.absDiff += Math.abs(a[i] - b[i]);
        this.elements += n;
      } else if (col.shape.length === 0 && other.shape.length === 0) {
        const n = Math.min(answered.rows, shadow.rows);
        for (let r = 0; r < n; r++) {
          const x = String(cellValue(col, r));
          const y = String(cellValue(other, r));
          this.labelRows++;
          if (x === y) this.agreed++;
          const key = `${x} → ${y}`;
          const seen = this.pairs.get(key);
          if (seen !== undefined || this.pairs.size < MAX_PAIRS) this.pairs.set(key, (seen ?? 0) + 1);
        }
      }
    }
  }

  view(): ShadowView {
    return {
      variant: this.variant,
      requests: this.requests,
      failures: this.failures,
      rows: this.rows,
      agreement: this.labelRows > 0 ? this.agreed / this.labelRows : undefined,
      meanAbsDiff: this.elements > 0 ? this.absDiff / this.elements : undefined,
      confusion: Object.fromEntries(this.pairs),
    };
  }
}
