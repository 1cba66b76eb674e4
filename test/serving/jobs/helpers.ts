/** Batch-job inputs made from the breast-cancer fixture: an id and a text column beside the 30 features. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XGB } from '../helpers.js';

export interface Inputs {
  csv: string;
  jsonl: string;
  parquet: string;
}

/** `copies` copies of the 114 held-out rows as CSV, JSON Lines and Parquet, with `id` and `customer` first. */
export async function makeInputs(dir: string, copies = 1): Promise<Inputs> {
  const [header, ...rows] = readFileSync(join(XGB, 'input.csv'), 'utf8').trim().split('\n');
  const lines = [`id,customer,${header}`];
  for (let c = 0; c < copies; c++) rows.forEach((r, i) => lines.push(`${c * rows.length + i},"c, ""${i}""",${r}`));
  const csv = join(dir, 'input.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const jsonl = join(dir, 'input.jsonl');
  const parquet = join(dir, 'input.parquet');
  try {
    await con.run(`CREATE TABLE t AS SELECT * FROM read_csv('${csv}', header = true)`);
    await con.run(`COPY t TO '${jsonl}' (FORMAT JSON)`);
    await con.run(`COPY t TO '${parquet}' (FORMAT PARQUET)`);
  } finally {
    con.closeSync();
    db.closeSync();
  }
  return { csv, jsonl, parquet };
}

/** XGBoost's own probabilities for the 114 rows (expected.json). */
export function expectedProbabilities(): number[] {
  return JSON.parse(readFileSync(join(XGB, 'expected.json'), 'utf8')).inputs['input.csv'].prob;
}
