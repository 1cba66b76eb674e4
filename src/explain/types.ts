/** What the explainers share: the model as a function of a feature matrix, and their answer. */

/** Evaluates the model on `rows` rows of features (row-major, NaN = missing): rows × outputs values. */
export type ModelFn = (x: Float64Array, rows: number) => Promise<Float64Array>;

export interface Attributions {
  rows: number;
  /** Outputs explained per row (classes of a multi-class model, else 1). */
  groups: number;
  features: number;
  /** rows × groups × features. */
  values: Float64Array;
  /** rows × groups: what the attributions start from (the expected output over the background for SHAP). */
  base: Float64Array;
}

/** Rows are evaluated in calls of at most this many, so a large coalition set never builds one huge batch. */
export const EVAL_CHUNK_ROWS = 32_768;

/** Runs `f` over `rows` rows of `x` (stride `features`) in chunks, concatenating the outputs. */
export async function evaluate(f: ModelFn, x: Float64Array, rows: number, features: number, groups: number): Promise<Float64Array> {
  const out = new Float64Array(rows * groups);
  for (let start = 0; start < rows; start += EVAL_CHUNK_ROWS) {
    const end = Math.min(rows, start + EVAL_CHUNK_ROWS);
    out.set(await f(x.subarray(start * features, end * features), end - start), start * groups);
  }
  return out;
}
