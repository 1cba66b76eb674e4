/**
 * The search objectives as a line protocol, so Optuna (bench/training/optuna_tpe.py) and
 * modelport's TPE optimise exactly the same function: each input line is a JSON object of
 * parameters, each output line the value.
 *   gbdt: validation ROC AUC of modelport's GBDT on loans (maximise);
 *   rosenbrock: 2-D Rosenbrock on [-5, 5]² (minimise).
 */
import { createInterface } from 'node:readline';
import { loansObjective, rosenbrock } from './objectives.js';

const kind = process.argv[2];
const f = kind === 'gbdt' ? await loansObjective(Number(process.argv[3] ?? 30)) : rosenbrock;
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  process.stdout.write(`${await f(JSON.parse(line) as Record<string, number>)}\n`);
}
