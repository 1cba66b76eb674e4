// Trains a logistic regression on the split step's train.csv and writes it as a modelport `js`
// model (model/model.js + model/params.json). MODELPORT_PARAM_QUALITY=bad flips the weights:
// a deliberately worse challenger, for showing the gate stop it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FEATURES = ['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years'];
const LABEL = 'defaulted';

const [header, ...lines] = readFileSync(join(process.env.MODELPORT_INPUT_SPLIT, 'train.csv'), 'utf8').trim().split('\n');
const names = header.split(',');
const cols = FEATURES.map((f) => names.indexOf(f));
const y = [];
const X = [];
for (const line of lines) {
  const cells = line.split(',');
  const row = cols.map((i) => Number(cells[i]));
  if (row.some((v) => !Number.isFinite(v))) continue;
  X.push(row);
  y.push(Number(cells[names.indexOf(LABEL)]));
}
const mean = FEATURES.map((_, j) => X.reduce((s, r) => s + r[j], 0) / X.length);
const std = FEATURES.map((_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / X.length) || 1);
const Z = X.map((r) => r.map((v, j) => (v - mean[j]) / std[j]));
let w = FEATURES.map(() => 0);
let b = 0;
for (let epoch = 0; epoch < 300; epoch++) {
  const gw = w.map(() => 0);
  let gb = 0;
  for (let i = 0; i < Z.length; i++) {
    const p = 1 / (1 + Math.exp(-(Z[i].reduce((s, v, j) => s + v * w[j], b))));
    for (let j = 0; j < w.length; j++) gw[j] += (p - y[i]) * Z[i][j];
    gb += p - y[i];
  }
  w = w.map((v, j) => v - (0.5 * gw[j]) / Z.length);
  b -= (0.5 * gb) / Z.length;
}
if (process.env.MODELPORT_PARAM_QUALITY === 'bad') w = w.map((v) => -v);

const out = join(process.env.MODELPORT_OUTPUT_DIR, 'model');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'params.json'), JSON.stringify({ features: FEATURES, mean, std, w, b }));
writeFileSync(
  join(out, 'model.js'),
  `import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const FEATURES = ${JSON.stringify(FEATURES)};
export const signature = {
  inputs: FEATURES.map((name) => ({ name, dtype: 'float64', shape: [] })),
  outputs: [{ name: 'probability', dtype: 'float64', shape: [] }],
};
export function load({ path }) {
  const m = JSON.parse(readFileSync(join(path, 'params.json'), 'utf8'));
  return {
    predict(batch) {
      const cols = m.features.map((f) => batch.column(f).data);
      const out = new Float64Array(batch.rows);
      for (let i = 0; i < batch.rows; i++) {
        let z = m.b;
        for (let j = 0; j < cols.length; j++) z += ((cols[j][i] - m.mean[j]) / m.std[j]) * m.w[j];
        out[i] = 1 / (1 + Math.exp(-z));
      }
      return { probability: { dtype: 'float64', shape: [], data: out } };
    },
  };
}
`,
);
writeFileSync(join(process.env.MODELPORT_OUTPUT_DIR, 'metrics.json'), JSON.stringify({ train_rows: Z.length }));
console.log(`trained on ${Z.length} rows (${process.env.MODELPORT_PARAM_QUALITY ?? 'good'})`);
