/** The in-memory forms training works on: a row-major float32 feature matrix (NaN = missing) with labels. */

export interface FeatureMatrix {
  rows: number;
  numFeature: number;
  featureNames: string[];
  /** Row-major: row r, feature f at r·numFeature + f; NaN where a value is missing. */
  x: Float32Array;
}

export interface TrainingData extends FeatureMatrix {
  /** 0/1 for binary, the class index for multi-class, the value for regression. */
  labels: Float64Array;
  weights?: Float64Array;
  /**
   * Features that hold category codes (whole numbers 0 ≤ c < 2^24) and split as sets of
   * categories (XGBoost's `enable_categorical`); the rest are numeric.
   */
  categorical?: boolean[];
}

/** What a trainer reports after each round (boosting round or solver iteration). */
export interface RoundReport {
  round: number;
  train: Record<string, number>;
  validation?: Record<string, number>;
}
