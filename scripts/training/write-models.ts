/**
 * Writes the models behind test/fixtures/training/xgboost/: GBDTs that modelport trains on the
 * breast-cancer split (a tenth of the feature values blanked, so default directions are learned)
 * under each objective and growth policy, and the input they are scored on. Then
 * scripts/training/xgboost_margins.py has XGBoost 1.7 load each model and record its margins,
 * which test/training/xgboost-compat.test.ts compares without Python.
 *
 *   node --import tsx scripts/training/write-models.ts && /usr/bin/python3 scripts/training/xgboost_margins.py
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/core/random.js';
import { readTable } from '../../src/data/read-table.js';
import { prepareTraining, prepareWithEncoding, type Task } from '../../src/training/prepare.js';
import { trainGbdt } from '../../src/training/gbdt/booster.js';
import { xgboostJsonText } from '../../src/training/gbdt/export.js';
import { gbdtParams } from '../../src/training/gbdt/params.js';
import type { TrainingData } from '../../src/training/types.js';

const DIR = 'test/fixtures/training';
const OUT = join(DIR, 'xgboost');

export const COMPAT_MODELS: { name: string; task: Task; target: string; params: Record<string, unknown> }[] = [
  { name: 'binary-depthwise', task: 'binary', target: 'target', params: { objective: 'binary:logistic', max_depth: 4, eta: 0.1, n_estimators: 40, subsample: 0.8, colsample_bytree: 0.7, alpha: 0.1, gamma: 0.05 } },
  { name: 'binary-lossguide', task: 'binary', target: 'target', params: { objective: 'binary:logistic', grow_policy: 'lossguide', max_depth: 0, max_leaves: 12, eta: 0.2, n_estimators: 30, max_bin: 32, scale_pos_weight: 2 } },
  { name: 'multiclass', task: 'multiclass', target: 'size_class', params: { objective: 'multi:softprob', max_depth: 3, eta: 0.1, n_estimators: 20 } },
  { name: 'regression', task: 'regression', target: 'mean_area', params: { objective: 'reg:squarederror', max_depth: 5, eta: 0.1, n_estimators: 30, lambda: 5, min_child_weight: 3 } },
  { name: 'poisson', task: 'count', target: 'defects', params: { objective: 'count:poisson', max_depth: 3, eta: 0.1, n_estimators: 30 } },
];

function blank(data: TrainingData, seed: number): void {
  const rand = mulberry32(seed);
  for (let i = 0; i < data.x.length; i++) if (rand() < 0.1) data.x[i] = NaN;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const train = await readTable(join(DIR, 'breast_cancer_train.csv'));
  const test = await readTable(join(DIR, 'breast_cancer_test.csv'));
  // Derived targets: three size classes from mean_area, and a count that grows with it.
  for (const table of [train, test]) {
    const area = table.columns.find((c) => c.name === 'mean_area')!.values as Float64Array;
    table.columns.push({ name: 'size_class', type: 'number', values: area.map((a) => (a < 500 ? 0 : a < 800 ? 1 : 2)) });
    table.columns.push({ name: 'defects', type: 'number', values: area.map((a, i) => Math.floor(a / 300) + (i % 3)) });
  }
  const targets = ['target', 'size_class', 'mean_area', 'defects'];
  for (const spec of COMPAT_MODELS) {
    // Every model reads the same features: none of the targets, nor mean_area that two of them derive from.
    const drop = targets;
    const { data, encoding } = prepareTraining(train, { target: spec.target, task: spec.task, drop });
    blank(data, 1);
    const model = await trainGbdt(data, gbdtParams(spec.params));
    writeFileSync(join(OUT, `${spec.name}.json`), xgboostJsonText(model));
    if (spec.name === 'binary-depthwise') {
      const input = prepareWithEncoding(test, encoding);
      blank(input, 2);
      const lines = [encoding.featureNames.join(',')];
      for (let r = 0; r < input.rows; r++) lines.push(Array.from(input.x.subarray(r * input.numFeature, (r + 1) * input.numFeature), (v) => (Number.isNaN(v) ? '' : String(v))).join(','));
      writeFileSync(join(OUT, 'input.csv'), `${lines.join('\n')}\n`);
    }
  }
}

await main();
