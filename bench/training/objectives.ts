/** The objectives bench/training searches (shared by run.ts and the line protocol Optuna talks to). */
import { readTable } from '../../src/data/read-table.js';
import { rocAuc } from '../../src/stats/metrics.js';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { predictGbdt } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import { prepareTraining, takeRows } from '../../src/training/prepare.js';
import type { SearchSpace } from '../../src/training/search/space.js';

export const rosenbrock = (p: Record<string, unknown>) => 100 * (Number(p.y) - Number(p.x) ** 2) ** 2 + (1 - Number(p.x)) ** 2;
export const ROSENBROCK_SPACE: SearchSpace = { x: { type: 'float', low: -5, high: 5 }, y: { type: 'float', low: -5, high: 5 } };

export const GBDT_SPACE: SearchSpace = {
  eta: { type: 'float', low: 0.01, high: 0.5, log: true },
  max_depth: { type: 'int', low: 2, high: 10 },
  min_child_weight: { type: 'float', low: 0.1, high: 50, log: true },
  lambda: { type: 'float', low: 0.01, high: 100, log: true },
};

/** Validation ROC AUC of a GBDT with `rounds` rounds on loans (first 16,000 rows train, last 4,000 validate). */
export async function loansObjective(rounds: number): Promise<(p: Record<string, unknown>) => Promise<number>> {
  const table = await readTable('assets/demo/loans/loans.csv');
  const { data } = prepareTraining(table, { target: 'defaulted', task: 'binary', drop: ['loan_id', 'customer_id', 'event_timestamp'] });
  const train = takeRows(data, Array.from({ length: 16000 }, (_, i) => i));
  const valid = takeRows(data, Array.from({ length: data.rows - 16000 }, (_, i) => 16000 + i));
  const positives = Array.from(valid.labels, (y) => y === 1);
  return async (p) => {
    const model = await trainGbdt(train, gbdtParams({ ...p, n_estimators: rounds }), { evalTrain: false });
    return rocAuc(predictGbdt(model, valid), positives) as number;
  };
}
