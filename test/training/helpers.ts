/** Fixtures of the training tests: the breast-cancer and loans splits the reference numbers were computed on. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readTable } from '../../src/data/read-table.js';
import { prepareTraining, prepareWithEncoding, takeRows, type Task } from '../../src/training/prepare.js';
import type { TrainingData } from '../../src/training/types.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/training/', import.meta.url));
export const LOANS = fileURLToPath(new URL('../fixtures/loans/loans.csv', import.meta.url));

export interface Reference {
  gbdt: Record<string, { params: Record<string, unknown>; auc?: number; logloss?: number; mlogloss?: number; accuracy?: number; rmse?: number; dropped?: string[] }>;
  linear: Record<string, { C: number; l1_ratio?: number; auc?: number; logloss?: number; mlogloss?: number; accuracy?: number; intercept?: number; zero_coefficients?: number }>;
}

export const reference = (): Reference => JSON.parse(readFileSync(`${FIXTURES}reference.json`, 'utf8')) as Reference;

export async function breastCancer(task: Task = 'binary', target = 'target', drop: string[] = []): Promise<{ train: TrainingData; test: TrainingData }> {
  const trainTable = await readTable(`${FIXTURES}breast_cancer_train.csv`);
  const testTable = await readTable(`${FIXTURES}breast_cancer_test.csv`);
  const { data, encoding } = prepareTraining(trainTable, { target, task, drop });
  return { train: data, test: prepareWithEncoding(testTable, encoding) };
}

/** The quickstart's split of loans.csv: the first 16,000 rows train, the last 4,000 validate. */
export async function loans(): Promise<{ train: TrainingData; test: TrainingData }> {
  const table = await readTable(LOANS);
  const { data } = prepareTraining(table, { target: 'defaulted', task: 'binary', drop: ['loan_id', 'customer_id', 'event_timestamp'] });
  return {
    train: takeRows(data, Array.from({ length: 16000 }, (_, i) => i)),
    test: takeRows(data, Array.from({ length: data.rows - 16000 }, (_, i) => 16000 + i)),
  };
}

export const positives = (d: TrainingData) => Array.from(d.labels, (y) => y === 1);

/**
 * The multiclass and regression problems of scripts/training/make_fixtures.py on breast-cancer
 * features: 3 classes from the terciles of mean_area (numpy.quantile's linear interpolation), and
 * mean_area itself, with the area-like columns `dropped`.
 */
export async function breastCancerDerived(dropped: string[]): Promise<Record<'mTrain' | 'mTest' | 'rTrain' | 'rTest', TrainingData>> {
  const { train, test: held } = await breastCancer('binary', 'target', []);
  const keep = train.featureNames.map((f, i) => [f, i] as const).filter(([f]) => !dropped.includes(f) && f !== 'target');
  const area = train.featureNames.indexOf('mean_area');
  const edges = [0, 0];
  const sortedArea = Array.from({ length: train.rows }, (_, r) => train.x[r * train.numFeature + area]).sort((a, b) => a - b);
  for (const [j, q] of [[0, 1 / 3], [1, 2 / 3]] as const) {
    const pos = q * (sortedArea.length - 1);
    const lo = Math.floor(pos);
    edges[j] = sortedArea[lo] + (pos - lo) * (sortedArea[Math.min(lo + 1, sortedArea.length - 1)] - sortedArea[lo]);
  }
  const reshape = (d: TrainingData, target: (area: number) => number): TrainingData => {
    const x = new Float32Array(d.rows * keep.length);
    const labels = new Float64Array(d.rows);
    for (let r = 0; r < d.rows; r++) {
      keep.forEach(([, i], j) => (x[r * keep.length + j] = d.x[r * d.numFeature + i]));
      labels[r] = target(d.x[r * d.numFeature + area]);
    }
    return { rows: d.rows, numFeature: keep.length, featureNames: keep.map(([f]) => f), x, labels };
  };
  const size = (a: number) => (a >= edges[1] ? 2 : a >= edges[0] ? 1 : 0);
  return { mTrain: reshape(train, size), mTest: reshape(held, size), rTrain: reshape(train, (a) => a), rTest: reshape(held, (a) => a) };
}
