/**
 * Turns loans.csv-style columns (as `readTable` reads them) into the float32 feature columns the
 * quickstart's candidate XGBoost models take. The encoding is not restated here: it is read from
 * the `encoding` and `feature_names` that scripts/quickstart/train_candidates.py wrote into
 * assets/demo/loans/candidates/index.json next to the models, so the two cannot drift apart.
 *
 * Rules (the same the training script applied): a numeric feature is its column cast to float32,
 * an empty cell NaN (XGBoost's missing value); a one-hot feature is 1 where its column equals
 * its level and 0 elsewhere; a level the encoding does not list gives 0 in every one-hot feature
 * of its column; an empty categorical cell gives NaN in all of them.
 */
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../core/errors.js';
import type { TableColumn } from '../data/read-table.js';
import { Batch, column } from '../models/batch.js';

export interface NumericFeature {
  feature: string;
  column: string;
}

export interface OneHotColumn {
  column: string;
  levels: { level: string; feature: string }[];
}

export interface LoansEncoding {
  /** Feature names in the model's order. */
  featureNames: string[];
  numeric: NumericFeature[];
  oneHot: OneHotColumn[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: unknown, where: string, field: string): string {
  if (!isRecord(value) || typeof value[field] !== 'string' || value[field] === '') {
    throw invalidArgument(`${where}: "${field}" must be a non-empty string`);
  }
  return value[field] as string;
}

function arrayField(value: Record<string, unknown>, where: string, field: string): unknown[] {
  const list = value[field];
  if (!Array.isArray(list)) throw invalidArgument(`${where}: "${field}" must be an array`);
  return list;
}

/**
 * Reads the encoding out of a parsed candidates index.json; `source` names it in errors. The
 * features the encoding produces must be exactly `feature_names`, each once.
 */
export function parseLoansEncoding(index: unknown, source = 'index.json'): LoansEncoding {
  if (!isRecord(index)) throw invalidArgument(`${source}: expected a JSON object`);
  const names = arrayField(index, source, 'feature_names');
  if (!names.every((n): n is string => typeof n === 'string' && n !== '')) {
    throw invalidArgument(`${source}: "feature_names" must hold non-empty strings`);
  }
  if (!isRecord(index.encoding)) throw invalidArgument(`${source}: "encoding" must be an object`);
  const where = `${source} encoding`;
  const numeric = arrayField(index.encoding, where, 'numeric').map((n, i) => ({
    feature: stringField(n, `${where}.numeric[${i}]`, 'feature'),
    column: stringField(n, `${where}.numeric[${i}]`, 'column'),
  }));
  const oneHot = arrayField(index.encoding, where, 'one_hot').map((c, i) => {
    const at = `${where}.one_hot[${i}]`;
    if (!isRecord(c)) throw invalidArgument(`${at}: expected an object`);
    return {
      column: stringField(c, at, 'column'),
      levels: arrayField(c, at, 'levels').map((l, j) => ({
        level: stringField(l, `${at}.levels[${j}]`, 'level'),
        feature: stringField(l, `${at}.levels[${j}]`, 'feature'),
      })),
    };
  });
  const produced = [...numeric.map((n) => n.feature), ...oneHot.flatMap((c) => c.levels.map((l) => l.feature))];
  const expected = new Set(names);
  if (names.length !== expected.size) throw invalidArgument(`${source}: "feature_names" lists a name twice`);
  const seen = new Set<string>();
  for (const feature of produced) {
    if (!expected.has(feature)) throw invalidArgument(`${where}: feature "${feature}" is not in feature_names`);
    if (seen.has(feature)) throw invalidArgument(`${where}: feature "${feature}" is produced twice`);
    seen.add(feature);
  }
  const unmade = names.filter((n) => !seen.has(n));
  if (unmade.length > 0) throw invalidArgument(`${where}: nothing produces feature_names ${unmade.map((n) => `"${n}"`).join(', ')}`);
  return { featureNames: names, numeric, oneHot };
}

/** The encoding of a candidates index.json file. */
export async function readLoansEncoding(file: string): Promise<LoansEncoding> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalidArgument(`${file}: cannot read as JSON (${(err as Error).message})`);
  }
  return parseLoansEncoding(index, file);
}

function lookup(columns: readonly TableColumn[], name: string, rows: number): TableColumn {
  const col = columns.find((c) => c.name === name);
  if (!col) throw invalidArgument(`column "${name}" is missing (have ${columns.map((c) => `"${c.name}"`).join(', ') || 'no columns'})`);
  if (col.values.length !== rows) throw invalidArgument(`column "${name}": has ${col.values.length} rows, expected ${rows}`);
  return col;
}

function numericFeature(col: TableColumn): Float32Array {
  if (col.type === 'number') return Float32Array.from(col.values);
  // A column that is empty throughout reads as text; numbers written as text are still numbers.
  const out = new Float32Array(col.values.length);
  col.values.forEach((text, row) => {
    const value = text === null ? Number.NaN : Number(text);
    if (text !== null && (text.trim() === '' || Number.isNaN(value))) {
      throw invalidArgument(`column "${col.name}": expected a number, got "${text}" in row ${row}`);
    }
    out[row] = value;
  });
  return out;
}

function oneHotFeatures(col: TableColumn, spec: OneHotColumn, out: Record<string, Float32Array>): void {
  if (col.type !== 'string') {
    throw invalidArgument(`column "${col.name}": expected text levels (${spec.levels.map((l) => l.level).join(', ')}), got numbers`);
  }
  const features = spec.levels.map((l) => new Float32Array(col.values.length));
  const index = new Map(spec.levels.map((l, i) => [l.level, i]));
  col.values.forEach((value, row) => {
    if (value === null) {
      for (const f of features) f[row] = Number.NaN;
      return;
    }
    const hit = index.get(value);
    if (hit !== undefined) features[hit][row] = 1;
  });
  spec.levels.forEach((l, i) => (out[l.feature] = features[i]));
}

/**
 * The model's feature columns, in feature order, for loans rows read by `readTable`. Columns the
 * encoding does not use (loan_id, defaulted, ...) are ignored.
 */
export function encodeLoans(columns: readonly TableColumn[], encoding: LoansEncoding): Record<string, Float32Array> {
  const rows = columns.length > 0 ? columns[0].values.length : 0;
  const made: Record<string, Float32Array> = {};
  for (const n of encoding.numeric) made[n.feature] = numericFeature(lookup(columns, n.column, rows));
  for (const spec of encoding.oneHot) oneHotFeatures(lookup(columns, spec.column, rows), spec, made);
  const ordered: Record<string, Float32Array> = {};
  for (const name of encoding.featureNames) ordered[name] = made[name];
  return ordered;
}

/** The same features as a Batch of float32 columns, ready for a Predictor. */
export function loansBatch(columns: readonly TableColumn[], encoding: LoansEncoding): Batch {
  const features = encodeLoans(columns, encoding);
  const rows = columns.length > 0 ? columns[0].values.length : 0;
  return Batch.from(
    Object.entries(features).map(([name, data]) => [name, column('float32', data)] as const),
    rows,
  );
}
