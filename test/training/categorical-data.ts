/** The synthetic table of the categorical-split tests and their XGBoost fixture. */
import { mulberry32 } from '../../src/core/random.js';
import type { TrainingData } from '../../src/training/types.js';

/** The fixture's models: their parameters (the file name is the key). */
export const CATEGORICAL_MODELS: Record<string, Record<string, string | number>> = {
  'binary-depthwise': { objective: 'binary:logistic', max_depth: 4, n_estimators: 20, eta: 0.3 },
  'regression-lossguide': { objective: 'reg:squarederror', grow_policy: 'lossguide', max_leaves: 12, max_depth: 0, n_estimators: 15, max_cat_threshold: 3 },
};

/**
 * Columns: `city` (categories 0..11; the label depends on the set {1, 4, 7, 9} and on 11), `plan`
 * (0..2), `amount` (numeric); 5% of each missing. With `unseen`, a tenth of the rows hold city 12
 * or 13, which training never sees.
 */
export function categoricalTable(rows: number, seed: number, regression: boolean, unseen = false): TrainingData {
  const r = mulberry32(seed);
  const nf = 3;
  const x = new Float32Array(rows * nf);
  const labels = new Float64Array(rows);
  const inSet = new Set([1, 4, 7, 9]);
  for (let i = 0; i < rows; i++) {
    const city = unseen && r() < 0.1 ? 12 + Math.floor(r() * 2) : Math.floor(r() * 12);
    const plan = Math.floor(r() * 3);
    const amount = Math.fround(r() * 10 - 5);
    const score = (inSet.has(city) ? 1.5 : -0.5) + (city === 11 ? 2 : 0) + (plan === 1 ? 0.8 : 0) + 0.3 * amount + (r() - 0.5) * 2;
    labels[i] = regression ? score : score > 0.4 ? 1 : 0;
    x[i * nf] = r() < 0.05 ? NaN : city;
    x[i * nf + 1] = r() < 0.05 ? NaN : plan;
    x[i * nf + 2] = r() < 0.05 ? NaN : amount;
  }
  return { rows, numFeature: nf, featureNames: ['city', 'plan', 'amount'], x, labels, categorical: [true, true, false] };
}
