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
