/** The space `modelport tune` searches when no --space file is given. */
import type { ModelKind } from '../fit.js';
import type { SearchSpace } from './space.js';

export function defaultSpace(kind: ModelKind): SearchSpace {
  if (kind === 'linear') {
    return {
      C: { type: 'float', low: 1e-3, high: 100, log: true },
      penalty: { type: 'categorical', choices: ['l2', 'elasticnet'] },
      l1_ratio: { type: 'float', low: 0, high: 1, when: { penalty: 'elasticnet' } },
    };
  }
  return {
    eta: { type: 'float', low: 0.01, high: 0.3, log: true },
    max_depth: { type: 'int', low: 2, high: 8 },
    min_child_weight: { type: 'float', low: 0.5, high: 20, log: true },
    subsample: { type: 'float', low: 0.5, high: 1 },
    colsample_bytree: { type: 'float', low: 0.5, high: 1 },
    lambda: { type: 'float', low: 0.1, high: 10, log: true },
  };
}
